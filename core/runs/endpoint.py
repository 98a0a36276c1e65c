"""The owner's endpoint file: while a server (the API, or `pineopt serve`) owns the store it
publishes PINEOPT_HOME/endpoint.json (mode 0600) with its host, port, a random token made for
this start, its PID and its instance token (core.runs.instance), and removes it when it stops.

The CLI reads it to send its commands to the owner instead of opening the DuckDB file. A file
left behind by a dead owner (kill -9) is stale: the owner's instance lock is no longer held (the
kernel dropped it), which a recycled PID cannot fake; the CLI then ignores and removes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.runs import instance
from core.errors import PineOptError

FILE_NAME = "endpoint.json"
LOCK_NAME = "owner.lock"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - names a bind-all address, binds nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where the owner of a store answers: ``url`` + ``token`` (a per-start secret)."""

    host: str
    port: int
    token: str
    pid: int
    instance: str
    started_at: str

    @property
    def url(self) -> str:
        """The API's base URL (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def path(home: Path) -> Path:
    """Where the endpoint file of ``home`` lives."""
    return home / FILE_NAME


def claim(home: Path) -> int:
    """Become the one owner of ``home``: an exclusive flock on PINEOPT_HOME/owner.lock, held
    until the returned descriptor is closed or the process dies. Raises PineOptError naming the
    running owner when another server holds it."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        other = read(home)
        where = f" (process {other.pid}, {other.url})" if other is not None else ""
        raise PineOptError(f"Another PineOpt server{where} already owns the store in {home}; "
                           "use that one (the CLI and the app reach it), or stop it before "
                           "starting another, or set PINEOPT_HOME to another folder.") from None
    return fd


def publish(home: Path, *, host: str, port: int) -> Endpoint:
    """Write the endpoint file for this process (atomically, 0600) and return what it holds.
    A server bound to every address is reached on loopback."""
    reach = "127.0.0.1" if host in WILDCARD_HOSTS else host
    ep = Endpoint(host=reach, port=int(port), token=secrets.token_urlsafe(32), pid=os.getpid(),
                  instance=instance.token(home),
                  started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = home / f".{FILE_NAME}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(ep), fh)
    tmp.replace(path(home))
    return ep


def read(home: Path) -> Endpoint | None:
    """The endpoint file's content, or None when there is none or it is unreadable/garbled."""
    try:
        raw = json.loads(path(home).read_text(encoding="utf-8"))
        return Endpoint(host=str(raw["host"]), port=int(raw["port"]), token=str(raw["token"]),
                        pid=int(raw["pid"]), instance=str(raw["instance"]),
                        started_at=str(raw.get("started_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def owner_alive(home: Path, ep: Endpoint) -> bool:
    """True while the process that published ``ep`` lives (its instance lock is held)."""
    return instance.alive(home, ep.instance)


def withdraw(home: Path, ep: Endpoint) -> None:
    """Remove the endpoint file if it is still ours (a newer owner's file is left alone)."""
    current = read(home)
    if current is not None and current.token == ep.token:
        path(home).unlink(missing_ok=True)


def discard_stale(home: Path, ep: Endpoint) -> bool:
    """Remove ``ep``'s file when its owner is dead; True if it was removed."""
    if owner_alive(home, ep):
        return False
    current = read(home)
    if current is not None and current.token == ep.token:
        path(home).unlink(missing_ok=True)
        return True
    return False
