"""Who owns a run: a random instance token per process, proven alive by a held file lock.

A process that queues or runs backtests records its token on the run (backtests.owner_token)
and holds an exclusive flock on PINEOPT_HOME/instances/<token>.lock for as long as it lives.
The kernel drops the lock when the process dies, however it dies (kill -9 included), so
recovery asks the lock, never a PID: in a container the server is PID 1 on every start, and a
recycled PID would make a dead owner look alive.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from pathlib import Path

SWEEP_AGE_S = 60  # a lock file this young may belong to a process that is just taking it
_held: dict[str, tuple[str, int]] = {}  # home -> (token, fd): the locks this process holds
_held_lock = threading.Lock()


def _folder(home: Path) -> Path:
    return home / "instances"


def token(home: Path) -> str:
    """This process's token for ``home`` (created and locked on first use, held until exit)."""
    key = str(home)
    with _held_lock:
        if key not in _held:
            folder = _folder(home)
            folder.mkdir(parents=True, exist_ok=True)
            value = uuid.uuid4().hex
            fd = os.open(folder / f"{value}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh random name: never held
            _held[key] = (value, fd)
        return _held[key][0]


def alive(home: Path, owner: str | None) -> bool:
    """True while the process that took token ``owner`` is alive (its lock is held)."""
    if not owner or not all(c in "0123456789abcdef" for c in owner):
        return False
    path = _folder(home) / f"{owner}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the lock if we just took it
    return False


def sweep(home: Path) -> int:
    """Remove the lock files of dead instances; return how many. Safe while others run."""
    folder = _folder(home)
    removed = 0
    for path in folder.glob("*.lock") if folder.is_dir() else []:
        try:
            young = time.time() - path.stat().st_mtime < SWEEP_AGE_S
        except FileNotFoundError:
            continue
        if not young and not alive(home, path.stem):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
