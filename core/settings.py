"""Frozen settings read from PINEOPT_* environment variables.

Every limit the sandbox enforces lives here so an operator can change it in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SANDBOX_VENV = Path("/opt/pineopt/sandbox-venv")


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number; unset it or give e.g. {default}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Where things live and how hard the sandbox is.

    home: PINEOPT_HOME, holds pineopt.duckdb and caches (default <repo>/data).
    sandbox_mode: "firejail" (default) or "none" (development only: plain subprocess + rlimits).
    sandbox_user / sandbox_venv / jobs_root: the unprivileged user strategies run as, the
    interpreter's venv (outside any home) and the root of the per-job folders; scripts/
    setup_system.sh creates all three under the same names. sandbox_python overrides the venv.
    user_pool: PINEOPT_SANDBOX_POOL, how many per-run sandbox users (``<sandbox_user>-1`` ...)
    setup makes; runs lease one each where the host has no per-run control groups.
    cgroups: False (PINEOPT_CGROUPS=off) never places runs in control groups, so the user pool
    takes over (a host without cgroups, or the tests of that fallback).
    executor: where jobs run, "local" (this machine's sandbox pool) or "dask" (core.executors);
    dask_scheduler: the scheduler's address ("" = an in-process LocalCluster of dask_workers
    worker processes, one thread each).
    """

    home: Path
    sandbox_mode: str = "firejail"
    sandbox_python: str = ""
    sandbox_user: str = "pineopt-sandbox"
    sandbox_venv: Path = DEFAULT_SANDBOX_VENV
    jobs_root: Path = Path("/var/lib/pineopt/jobs")
    max_concurrent: int = 5
    timeout_s: int = 120
    memory_mb: int = 2000
    cpu_s: int = 120
    nproc: int = 256
    nofile: int = 256
    fsize_mb: int = 128
    output_bytes: int = 1_000_000
    result_bytes: int = 64_000_000
    pool_size: int = 2
    log_level: str = "INFO"
    out_mb: int = 256
    sandbox_nice: int = 4
    user_pool: int = 8
    cgroups: bool = True
    executor: str = "local"
    dask_scheduler: str = ""
    dask_workers: int = 2

    @property
    def db_path(self) -> Path:
        """The DuckDB file."""
        return self.home / "pineopt.duckdb"

    @property
    def cache_dir(self) -> Path:
        """Generated artefacts (tearsheets, PDFs) that can be rebuilt."""
        return self.home / "cache"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: os.environ). Raises ConfigError on bad values."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("PINEOPT_HOME") or REPO_ROOT / "data").expanduser().resolve()
    mode = env.get("PINEOPT_SANDBOX", "firejail").strip().lower() or "firejail"
    if mode not in ("firejail", "none"):
        raise ConfigError(f"PINEOPT_SANDBOX={mode!r} is not known; use 'firejail' or 'none'")
    return Settings(
        home=home,
        sandbox_mode=mode,
        sandbox_python=env.get("PINEOPT_SANDBOX_PYTHON", ""),
        sandbox_user=env.get("PINEOPT_SANDBOX_USER") or "pineopt-sandbox",
        sandbox_venv=Path(env.get("PINEOPT_SANDBOX_VENV") or DEFAULT_SANDBOX_VENV),
        jobs_root=Path(env.get("PINEOPT_JOBS_ROOT") or "/var/lib/pineopt/jobs"),
        max_concurrent=_int(env, "PINEOPT_MAX_CONCURRENT", 5),
        timeout_s=_int(env, "PINEOPT_TIMEOUT_S", 120),
        memory_mb=_int(env, "PINEOPT_MEMORY_MB", 2000),
        cpu_s=_int(env, "PINEOPT_CPU_S", 120),
        nproc=_int(env, "PINEOPT_NPROC", 256),
        nofile=_int(env, "PINEOPT_NOFILE", 256),
        fsize_mb=_int(env, "PINEOPT_FSIZE_MB", 128),
        output_bytes=_int(env, "PINEOPT_OUTPUT_BYTES", 1_000_000),
        result_bytes=_int(env, "PINEOPT_RESULT_BYTES", 64_000_000),
        pool_size=_int(env, "PINEOPT_POOL_SIZE", 2),
        log_level=_log_level(env),
        out_mb=_int(env, "PINEOPT_OUT_MB", 256),
        sandbox_nice=min(19, max(1, _int(env, "PINEOPT_SANDBOX_NICE", 4))),
        user_pool=max(0, _int(env, "PINEOPT_SANDBOX_POOL", 8)),
        cgroups=_cgroups(env),
        executor=_executor(env),
        dask_scheduler=(env.get("PINEOPT_DASK_SCHEDULER") or "").strip(),
        dask_workers=max(1, _int(env, "PINEOPT_DASK_WORKERS", 2)),
    )


def _cgroups(env: dict[str, str]) -> bool:
    raw = (env.get("PINEOPT_CGROUPS") or "auto").strip().lower()
    if raw not in ("auto", "off"):
        raise ConfigError(f"PINEOPT_CGROUPS={raw!r} is not known; use 'auto' (control groups "
                          "where the host has them) or 'off' (the per-run user pool instead)")
    return raw == "auto"


def _executor(env: dict[str, str]) -> str:
    """PINEOPT_EXECUTOR, or "dask" when only PINEOPT_DASK_SCHEDULER is set."""
    raw = (env.get("PINEOPT_EXECUTOR") or "").strip().lower()
    if not raw:
        return "dask" if (env.get("PINEOPT_DASK_SCHEDULER") or "").strip() else "local"
    if raw not in ("local", "dask"):
        raise ConfigError(f"PINEOPT_EXECUTOR={raw!r} is not known; use 'local' (this machine's "
                          "sandbox pool) or 'dask' (a Dask cluster: PINEOPT_DASK_SCHEDULER, or "
                          "an in-process LocalCluster without it)")
    return raw


def _log_level(env: dict[str, str]) -> str:
    raw = (env.get("PINEOPT_LOG_LEVEL") or "INFO").strip().upper()
    if raw not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"PINEOPT_LOG_LEVEL={raw!r} is not a level; use DEBUG, INFO, WARNING, "
                          "ERROR or CRITICAL")
    return raw
