"""Sweeping what runs leave behind: stale job folders, progress files and instance locks.

Called when the store's owner starts (core.bootstrap) and periodically by the JobManager. A job
folder belongs to a live worker while that worker holds a shared flock on it (sandbox.runner);
any other folder older than STALE_AGE_S under the jobs root was left by a killed process.
Progress files of runs that are not running are stale too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from core.runs import instance
from core import store
from core.settings import Settings

_log = logging.getLogger("pineopt.housekeeping")
JOB_FOLDER = re.compile(r"[0-9a-f]{32}")  # sandbox.runner.Worker: uuid4().hex
STALE_AGE_S = 60.0  # younger leftovers may belong to a worker or run that is just starting


@dataclass(frozen=True, slots=True, kw_only=True)
class Swept:
    """What one sweep removed."""

    job_folders: int = 0
    job_bytes: int = 0
    progress_files: int = 0
    instance_locks: int = 0


def _old(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime >= STALE_AGE_S
    except FileNotFoundError:
        return False


def _held(folder: Path) -> bool:
    """True while a live worker holds its lock on ``folder``."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def sweep_job_folders(jobs_root: Path) -> tuple[int, int]:
    """Remove job folders (named by 32 hex digits) no live worker holds; return (folders,
    bytes). The shared runtime-* code folders beside them are never touched."""
    now, count, size = time.time(), 0, 0
    try:
        folders = [p for p in jobs_root.iterdir() if JOB_FOLDER.fullmatch(p.name)
                   and p.is_dir() and not p.is_symlink()]
    except OSError:
        return 0, 0
    for folder in folders:
        if _old(folder, now) and not _held(folder):
            size += _size(folder)
            shutil.rmtree(folder, ignore_errors=True)
            count += 1
    return count, size


def sweep_progress(settings: Settings) -> int:
    """Remove progress files of runs that are not running; return how many."""
    folder = settings.home / "progress"
    if not folder.is_dir() or not settings.db_path.exists():
        return 0
    with store.connect(settings.db_path) as con:
        running = {int(r[0]) for r in con.execute(
            "SELECT id FROM backtests WHERE status IN ('running', 'queued')").fetchall()}
    now, removed = time.time(), 0
    for path in folder.iterdir():
        stem = path.name.removesuffix(".tmp")
        keep = stem.isdigit() and int(stem) in running
        if not keep and (path.suffix != ".tmp" or _old(path, now)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def sweep(settings: Settings) -> Swept:
    """One sweep of job folders, progress files and dead instances' lock files."""
    folders, size = sweep_job_folders(settings.jobs_root)
    result = Swept(job_folders=folders, job_bytes=size, progress_files=sweep_progress(settings),
                   instance_locks=instance.sweep(settings.home))
    if result.job_folders or result.progress_files:
        _log.info("swept %d stale job folder(s) (%d bytes) and %d progress file(s)",
                  result.job_folders, result.job_bytes, result.progress_files)
    return result
