"""Where sandbox jobs run: the executor seam of the run and sweep pipelines.

Two executors, chosen by Settings (PINEOPT_EXECUTOR, PINEOPT_DASK_SCHEDULER):
- local (default): this machine's pool of pre-started sandboxes (core.executors.local);
- dask: a Dask distributed cluster (core.executors.cluster); every worker runs each job in the
  same firejail sandbox, and the results come back as bytes that this process checks and stores.

Callers (core.runs, core.studies.executor) do: require() -> slot() -> write inputs into
slot.job_dir -> slot.run(job, limits=...) -> check slot.job_dir/out -> slot.cleanup(). Only the
calling process writes to DuckDB, whichever executor ran the job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from core.settings import Settings

LOCAL = "local"
DASK = "dask"


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where jobs run, for the pages: kind, workers and threads, dashboard link, or a problem."""

    kind: str
    workers: int = 0
    threads: int = 0
    dashboard: str = ""
    address: str = ""
    problem: str = ""

    @property
    def text(self) -> str:
        """One line for a caption, e.g. 'Jobs run on a Dask cluster: 2 workers (2 threads)'."""
        if self.kind == LOCAL:
            return "Jobs run locally, in this machine's firejail sandbox pool."
        where = self.address or "an in-process LocalCluster"
        if self.problem:
            return f"Jobs run on the Dask cluster at {where}, which is unavailable: {self.problem}"
        return (f"Jobs run on a Dask cluster ({where}): {self.workers} worker"
                f"{'' if self.workers == 1 else 's'}, {self.threads} at once, each in the "
                "firejail sandbox.")


def kind(settings: Settings) -> str:
    """'local' or 'dask'."""
    return DASK if settings.executor == DASK else LOCAL


def require(settings: Settings) -> None:
    """Fail closed before a job: the local self-test, or a reachable cluster with a worker
    (each Dask worker proves its own sandbox). Raises SandboxUnavailableError."""
    if kind(settings) == DASK:
        from core.executors import cluster

        cluster.require_workers(settings)
        return
    from core.executors import local

    local.require(settings)


def slot(settings: Settings, cancel: threading.Event | None = None) -> Any:
    """A slot for one job: job_dir to write inputs into, run(job, limits=..., progress=...,
    cancel=...) -> sandbox.runner.Outcome, cleanup(). The caller must cleanup()."""
    if kind(settings) == DASK:
        from core.executors import cluster

        return cluster.slot(settings)
    from core.executors import local

    return local.slot(settings, cancel)


def slots(settings: Settings) -> int:
    """How many jobs run at once: cores locally, worker threads on a cluster (at least 1)."""
    if kind(settings) == DASK:
        from core.executors import cluster

        return max(1, cluster.worker_count(settings)[1])
    from core.executors import local

    return local.slots()


def placement(settings: Settings) -> Placement:
    """Where jobs run now. Never raises: an unreachable cluster is described, not raised."""
    if kind(settings) == LOCAL:
        from core.executors import local

        return Placement(kind=LOCAL, threads=local.slots())
    from core.errors import PineOptError
    from core.executors import cluster

    try:
        workers, threads, link = cluster.worker_count(settings)
    except (PineOptError, OSError, TimeoutError) as exc:
        return Placement(kind=DASK, address=settings.dask_scheduler, problem=str(exc))
    return Placement(kind=DASK, workers=workers, threads=threads, dashboard=link,
                     address=settings.dask_scheduler)
