"""DuckDB store: the connection factory and the migration runner (schema: core.migrations).

Only the parent process writes here; the sandboxed child never sees the file. Connections are
short-lived (open, work, close) so the Streamlit server and the CLI can take turns on one file;
a lock held by another process is waited for, then reported clearly. Timestamps are naive UTC.
"""

from __future__ import annotations

import atexit
import contextlib
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from core.errors import PineOptError
# Re-exported: callers and tests read store.MIGRATIONS and store.LATEST_SCHEMA.
from core.migrations import LATEST_SCHEMA as LATEST_SCHEMA
from core.migrations import MIGRATIONS as MIGRATIONS

LOCK_WAIT_S = 30.0
ANCHOR_IDLE_S = 0.5


class StoreLockedError(PineOptError):
    """Another process holds the DuckDB file for longer than we waited."""


def make_private(path: Path) -> None:
    """Owner-only permissions: 0700 for a folder, 0600 for the store and its WAL (if they exist).

    Another local user or a second PineOpt instance on the host must not read the store.
    """
    for item in (path, path.with_name(path.name + ".wal")):
        try:
            mode = item.stat().st_mode
        except FileNotFoundError:
            continue
        wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
        if stat.S_IMODE(mode) != wanted:
            item.chmod(wanted)


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + LOCK_WAIT_S
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path))
            make_private(path)
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise StoreLockedError(
                    f"The store {path} is busy in another process ({exc}). Wait for it to finish "
                    "or set PINEOPT_HOME to another folder."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class _Anchor:
    """Keeps one connection per file open while work is going on in this process.

    DuckDB shares one database instance between the connections of a process, so while the
    anchor is open a further connect() costs well under a millisecond instead of tens of
    milliseconds (measured). The anchor closes after ANCHOR_IDLE_S without use, which releases
    the file lock so the CLI and the app can take turns on the same store. One daemon thread
    closes idle anchors (a timer thread per release cost a thread start on every connect()).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open: dict[str, tuple[duckdb.DuckDBPyConnection, int]] = {}  # path -> (con, users)
        self._idle: dict[str, float] = {}  # path -> monotonic time its last user left
        self._closer: threading.Thread | None = None

    def acquire(self, path: Path) -> duckdb.DuckDBPyConnection:
        key = str(path)
        with self._lock:
            self._idle.pop(key, None)
            if key not in self._open:
                self._open[key] = (_open(path), 0)
            anchor, users = self._open[key]
            self._open[key] = (anchor, users + 1)
            return anchor.cursor()

    def release(self, path: Path) -> None:
        key = str(path)
        with self._lock:
            anchor, users = self._open[key]
            self._open[key] = (anchor, users - 1)
            if users - 1 == 0:
                if sys.is_finalizing():  # the interpreter is exiting: no thread can start now
                    del self._open[key]  # (Thread.start would wait forever) and none is needed
                    anchor.close()
                    return
                self._idle[key] = time.monotonic()
                if self._closer is None or not self._closer.is_alive():
                    self._closer = threading.Thread(target=self._close_idle, daemon=True,
                                                    name="pineopt-store-anchor")
                    self._closer.start()
                self._wake.notify()

    def _close_idle(self) -> None:
        """Close each anchor ANCHOR_IDLE_S after its last user left; ends when none is open
        (ending when none was idle restarted the thread after almost every connect())."""
        with self._lock:
            while self._open:
                now = time.monotonic()
                for key, since in list(self._idle.items()):
                    if now - since >= ANCHOR_IDLE_S:
                        del self._idle[key]
                        entry = self._open.pop(key, None)
                        if entry is not None:
                            entry[0].close()
                if self._idle:
                    self._wake.wait(ANCHOR_IDLE_S - (now - min(self._idle.values())))
                elif self._open:
                    self._wake.wait()  # every open anchor in use: the release that idles one
            self._closer = None

    def close_all(self) -> None:
        """Close every idle anchor (at interpreter exit)."""
        with self._lock:
            for key, (anchor, users) in list(self._open.items()):
                if users == 0:
                    anchor.close()
                    del self._open[key]
                    self._idle.pop(key, None)


_ANCHOR = _Anchor()  # process-wide by nature: DuckDB's instance cache is process-wide too
atexit.register(_ANCHOR.close_all)


@contextlib.contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection (cursor) to the DuckDB file for one unit of work; always closed after.

    Raises StoreLockedError when another process keeps the file locked past LOCK_WAIT_S.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    con = _ANCHOR.acquire(path)
    try:
        yield con
    finally:
        con.close()
        _ANCHOR.release(path)


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(str(path), threading.RLock())


def writer(path: Path) -> threading.RLock:
    """The lock transactions on ``path`` take turns on in this process (re-entrant): hold it to
    write several things in one turn (core.runs.result_store's group commit)."""
    return _writer_lock(path)


@contextlib.contextmanager
def transaction(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection inside BEGIN/COMMIT; any exception rolls everything back.

    Transactions on one file take turns within this process: DuckDB's optimistic concurrency
    makes the second of two transactions that touch one row fail ("Conflict on update") at
    once instead of waiting, e.g. three CLI backtests forwarded to the owner saving the same
    strategy file at the same moment.
    """
    with _writer_lock(path), connect(path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def schema_version(path: Path) -> int:
    """The schema version of an existing store without changing it (0 when there is no store
    or no migration was ever recorded)."""
    if not path.exists():
        return 0
    with connect(path) as con:
        known = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                            "'schema_migrations'").fetchone()
        if not known or not known[0]:
            return 0
        row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(path: Path) -> int:
    """Apply every migration not yet recorded; return the schema version. Idempotent."""
    with connect(path) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))"
        )
        done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
        for number, statements in MIGRATIONS:
            if number in done:
                continue
            con.execute("BEGIN TRANSACTION")
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [number])
            con.execute("COMMIT")
        row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
