"""How a run fails, in words: the final status, message and log for each expected way a run
ends without a result (core.runs.service records them; anything else is a bug of ours)."""

from __future__ import annotations

import errno
import re

from core import store
from core.errors import PineOptError, SandboxError, TranslationError
from core.model import RunStatus
from core.settings import Settings

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def classify(settings: Settings, exc: Exception, *,
             memory_mb: float) -> tuple[RunStatus, str, str] | None:
    """(status, message, log) for an expected way a run fails; None for a bug of ours."""
    if isinstance(exc, TranslationError):
        return RunStatus.REJECTED, str(exc), ""
    if isinstance(exc, SandboxError):
        status = RunStatus(exc.status) if exc.status in RunStatus._value2member_map_ \
            else RunStatus.FAILED
        return status, explain_limit(memory_mb, status, str(exc)), exc.log
    if isinstance(exc, store.StoreLockedError):
        holder = re.search(r"Conflicting lock is held in (.*?\(PID \d+\))", str(exc))
        return RunStatus.FAILED, (
            f"The store stayed busy in another process{f' ({holder[1]})' if holder else ''} for "
            f"over {store.LOCK_WAIT_S:g} s while this run needed it. Nothing was stored for the "
            f"run: close the program that holds {settings.db_path} (another PineOpt, a DuckDB "
            "shell) and re-queue the run."), ""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return RunStatus.FAILED, (
            f"The disk is full ({exc.strerror}: {exc.filename or settings.jobs_root}). Free "
            f"space on it (job folders live in {settings.jobs_root}, the store in "
            f"{settings.home}) or point PINEOPT_JOBS_ROOT at a larger disk, then re-queue the "
            "run."), ""
    if isinstance(exc, PineOptError):
        return RunStatus.FAILED, str(exc), ""
    return None


def explain_limit(memory_mb: float, status: RunStatus, message: str) -> str:
    """A memory-limit stop names the limit and what to do about it."""
    if status is not RunStatus.MEMORY_LIMIT:
        return message
    return (f"Stopped by the sandbox memory limit of {memory_mb:g} MB (PINEOPT_MEMORY_MB)."
            " The strategy, or the trades and equity it returns, needed more: use a shorter date "
            "range or a higher timeframe, trade less often, or raise PINEOPT_MEMORY_MB for the "
            "server. " + message)
