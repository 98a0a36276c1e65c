"""Parent side of a study's batches: one sandbox child per batch, children in parallel.

Where the child runs is core.executors' choice (this machine's pool, or a Dask worker that
returns the child's files as bytes); the checks below are the same either way.

Each batch is one sandboxed child (sandbox/child.py -> core.engine.batch): the data and the
strategy are loaded once, then every parameter set of the batch runs through the same
engine.run() a single run uses. Each trial's Parquet files are checked exactly like a single
run's (core.runs.result_check.check_result) and its metrics computed by the same code
(core.analytics.trade_stats.metric_rows), so a trial's stats equal those of a single run. Nothing
from the child is trusted or unpickled. The batch's wall-clock and CPU limits are the per-run limits
times the number of trials in it. The two halves are separate calls (run_in_sandbox, then
check_batch on the returned Ran) so a sweep checks one batch while its next one already runs
(core.studies.rounds); run_batch does both."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.runs import broker_store, pine_run
from core.analytics import metrics
from core.errors import SandboxError
from core.model import BacktestConfig
from core.runs.result_check import check_result
from core import executors
from core.settings import Settings
from core.analytics import trade_stats
from core.runs.service import run_limits


@dataclass(slots=True)
class TrialResult:
    """One trial's outcome: metrics (kind 'all') and daily returns, or an error."""

    params: dict[str, Any]
    ok: bool
    metrics: dict[str, float] = field(default_factory=dict)
    daily_returns: pd.Series | None = None
    error: str = ""
    status: str = "completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What every batch of a study shares."""

    source: str  # the Python that runs (Pine already translated)
    data: pd.DataFrame
    config: BacktestConfig
    pine: bool = False
    on_close: bool = False
    slippage_ticks: int = 0  # Pine: strategy(slippage=N), allowed beyond a fill's bar


@dataclass(slots=True, kw_only=True)
class Ran:
    """A batch its sandbox child finished: the trials it reported, its files still in the
    worker's job folder until release(), and the seconds its trials took in the child."""

    batch: list[dict[str, Any]]
    worker: Any
    broker: Any
    reported: list[Any]
    seconds: float

    def release(self) -> None:
        """Remove the worker's job folder (and stop its process if still there)."""
        self.worker.cleanup()


def trial_metrics(config: BacktestConfig, data: pd.DataFrame, equity: pd.Series,
                  trades: pd.DataFrame) -> tuple[dict[str, float], pd.Series]:
    """The metrics a single run stores (kind 'all'), and the daily returns they use."""
    inputs = metrics.Inputs(equity=equity, trades=trades, benchmark=data["Close"],
                            risk_free_rate=float(config.extra.get("risk_free_rate", 0.0)))
    values = {name: float(value) for name, value, kind
              in trade_stats.metric_rows(inputs, sides=("all",)) if kind == "all"}
    return values, inputs.daily_returns


def run_in_sandbox(settings: Settings, job: Job, batch: list[dict[str, Any]], *,
                   cancel: threading.Event | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Ran:
    """Run one batch in one sandbox child (the child's half); the caller checks it with
    check_batch() and must release() it.

    Raises SandboxError when the child as a whole fails (cancelled, limit, sandbox missing).
    """
    executors.require(settings)
    base = run_limits(settings, job.config)
    k = max(len(batch), 1)
    limits = dataclasses.replace(base, timeout_s=base.timeout_s * k, cpu_s=base.cpu_s * k,
                                 output_bytes=base.output_bytes)
    worker = executors.slot(settings, cancel)  # local: a pooled sandbox; dask: a staging folder
    try:
        job.data.to_parquet(worker.job_dir / "ohlcv.parquet")
        broker = broker_store.prepare_job(settings.db_path, job.config, job.data, worker.job_dir)
        if job.pine:
            broker = dataclasses.replace(broker, settings=pine_run.engine_settings(
                settings.db_path, job.config, broker.settings, on_close=job.on_close,
                slippage_ticks=job.slippage_ticks))
        payload = {"source": job.source, "settings": broker.settings, "batch": batch}
        started = time.perf_counter()
        outcome = worker.run(payload, limits=limits, progress=progress, cancel=cancel)
        seconds = time.perf_counter() - started
        claimed = outcome.result.get("job_s")  # the child's own time, without its start-up
        if isinstance(claimed, (int, float)) and 0 <= claimed < seconds:
            seconds = float(claimed)  # only ever used to size later batches
        if outcome.status != "completed":
            raise SandboxError(outcome.message or outcome.status, status=outcome.status,
                               log=outcome.log)
        reported = outcome.result.get("trials")
        if not isinstance(reported, list) or len(reported) != len(batch):
            raise SandboxError("Result rejected: the batch result does not list every trial",
                               status="result_rejected")
    except BaseException:
        worker.cleanup()
        raise
    return Ran(batch=batch, worker=worker, broker=broker, reported=reported, seconds=seconds)


def check_batch(job: Job, ran: Ran) -> list[TrialResult]:
    """The parent's half: check every trial's files exactly as a single run's and compute its
    metrics with the same code; a result per parameter set, in order.

    Raises SandboxError (result_rejected) when the batch result is out of order.
    """
    out = []
    for i, (params, info) in enumerate(zip(ran.batch, ran.reported, strict=True)):
        if not isinstance(info, dict) or info.get("i") != i:
            raise SandboxError("Result rejected: the batch result is out of order",
                               status="result_rejected")
        if not info.get("ok"):
            out.append(TrialResult(params=params, ok=False, status="failed",
                                   error=str(info.get("message", ""))[:5000]))
            continue
        try:
            equity, trades = check_result(ran.worker.job_dir / "out" / f"t{i}", job.data,
                                          {"trades": info.get("trades")},
                                          cash_usdt=job.config.cash_usdt,
                                          commission=job.config.commission,
                                          broker=ran.broker.settings, funding=ran.broker.funding)
        except SandboxError as exc:
            out.append(TrialResult(params=params, ok=False, status="result_rejected",
                                   error=str(exc)))
            continue
        values, daily = trial_metrics(job.config, job.data, equity, trades)
        out.append(TrialResult(params=params, ok=True, metrics=values, daily_returns=daily))
    return out


def run_batch(settings: Settings, job: Job, batch: list[dict[str, Any]], *,
              cancel: threading.Event | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[TrialResult]:
    """Run one batch in one sandbox child and check it; a result per parameter set, in order.

    Raises SandboxError when the child as a whole fails (cancelled, limit, sandbox missing).
    """
    ran = run_in_sandbox(settings, job, batch, cancel=cancel, progress=progress)
    try:
        return check_batch(job, ran)
    finally:
        ran.release()
