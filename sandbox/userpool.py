"""Per-run sandbox users: the fallback for per-run limits on a host without control groups.

RLIMIT_NPROC counts every process of a uid, and file ownership is per uid: with one shared
sandbox user, one run forking to the process limit stops every other run from starting, and
runs share an owner. Where the host gives no per-run pids group (sandbox.cgroups), each run
instead leases one user of a pool made by scripts/setup_system.sh: ``<sandbox user>-1`` ...
``-N`` (N = PINEOPT_SANDBOX_POOL), each with its own home, like the main sandbox user.

A lease is an exclusive flock on ``<jobs root>/.leases/<user>.lock``: the kernel drops it when
the leasing process dies, so a crash leaves no stale lease behind. A user that still has
processes (a sandbox orphaned by a crashed app, until its own wall-clock backstop ends it) is
skipped, so two runs never share a user at once. Host side only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import SandboxError
from core.settings import Settings

LEASES_DIR = ".leases"
MIN_UID = 1000  # firejail refuses system users, and RLIMIT_NPROC does not bind root
LEASE_WAIT_S = 60.0  # how long a directly started Worker waits for a pool user to free up
POLL_S = 0.1


class NoFreeUser(SandboxError):
    """Every pool user is leased or still has processes; the job pool waits and retries."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolUser:
    """One pool user as the system knows it: name, uid, gid and home folder."""

    name: str
    uid: int
    gid: int
    home: str


class Lease:
    """One run's exclusive hold on a pool user; release() (or the process dying) frees it."""

    def __init__(self, user: PoolUser, fd: int) -> None:
        self.user = user
        self._fd = fd

    def release(self) -> None:
        """Free the user for the next run (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = -1


def names(settings: Settings) -> list[str]:
    """The pool users' names for these settings: ``<sandbox user>-1`` ... ``-N``."""
    return [f"{settings.sandbox_user}-{i}" for i in range(1, settings.user_pool + 1)]


def members(settings: Settings) -> list[PoolUser]:
    """The pool users that exist as unprivileged users (missing ones are left out)."""
    found = []
    for name in names(settings):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid >= MIN_UID:
            found.append(PoolUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid,
                                  home=entry.pw_dir))
    return found


def applies(settings: Settings, *, per_run_pids: bool) -> bool:
    """True when runs lease pool users: a firejail sandbox started by root, without a per-run
    pids control group, with at least one pool user set up."""
    return (settings.sandbox_mode == "firejail" and not per_run_pids and os.geteuid() == 0
            and bool(members(settings)))


def lease(settings: Settings, *, wait_s: float = 0.0) -> Lease:
    """Lease a free pool user (first free in name order), waiting up to ``wait_s`` seconds.

    Raises NoFreeUser when every member stays leased or keeps running processes.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return _lease_now(settings)
        except NoFreeUser:
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_S)


def _lease_now(settings: Settings) -> Lease:
    folder = settings.jobs_root / LEASES_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    busy = _uids_with_processes()
    for user in members(settings):
        if user.uid in busy:
            continue
        fd = os.open(folder / f"{user.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if user.uid in _uids_with_processes():  # started between the scan and the lock
            os.close(fd)
            continue
        return Lease(user, fd)
    raise NoFreeUser(f"All {len(members(settings))} per-run sandbox users "
                     f"({settings.sandbox_user}-1 ...) are busy; the run waits for one. Raise "
                     "PINEOPT_SANDBOX_POOL and run `sudo make setup` for more runs at once.",
                     status="sandbox_unavailable")


def _uids_with_processes() -> set[int]:
    """Real uids of every process on the host (from /proc/<pid>/status)."""
    uids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    uids.add(int(line.split()[1]))
                    break
    return uids
