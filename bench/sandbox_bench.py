"""Sandbox and job figures: small-run overhead of a warm pooled worker over plain
backtesting.py in-process, 8 queued runs through the JobManager, and peak RSS per sandbox.

The overhead row times what the sandbox adds to a run: handing the data to a warm pooled worker
(one that finished its imports and warm-up while idle), the run inside firejail, and the
parent's result checks; the baseline is the same strategy on the same bars in-process.
"""

from __future__ import annotations

import os
import time
import warnings

import pandas as pd

from bench.common import best_of, row, temp_settings
from core.runs import jobs, service as runs
from core.market import catalogue as market_data
from sandbox import pool
from sandbox import selftest as sandbox_check
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.runs.result_check import check_result
from core.settings import REPO_ROOT, Settings
from sandbox.runner import Limits

SOURCE = (REPO_ROOT / "examples" / "sma_cross.py").read_text()
SMALL = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-01-31",
                       cash_usdt=100_000.0, commission=0.001)
JOB_SETTINGS = {"cash_usdt": SMALL.cash_usdt, "commission": SMALL.commission}


def _plain(data: pd.DataFrame) -> None:
    from backtesting import Backtest

    from sandbox.child import load_strategy_class

    cls = load_strategy_class(SOURCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, cls, cash=SMALL.cash_usdt, commission=SMALL.commission,
                 finalize_trades=True).run()


def _warm_worker(settings: Settings):  # noqa: ANN202 - a started sandbox.runner.Worker
    worker = pool.take_worker(settings)
    worker.wait_ready()  # a pooled worker finished this while it sat idle
    return worker


def _sandboxed(settings: Settings, data: pd.DataFrame, rss: list[float]) -> float:
    """Seconds from handing the job to a warm worker to a checked result."""
    worker = _warm_worker(settings)
    try:
        start = time.perf_counter()
        data.to_parquet(worker.job_dir / "ohlcv.parquet")
        outcome = worker.run({"source": SOURCE, "params": {}, "settings": JOB_SETTINGS},
                             limits=Limits.from_settings(settings))
        if outcome.status != "completed":
            raise RuntimeError(f"bench run failed: {outcome.status}: {outcome.message}")
        check_result(worker.job_dir / "out", data, outcome.result, cash_usdt=SMALL.cash_usdt,
                     commission=SMALL.commission)
        seconds = time.perf_counter() - start
        rss.append(float(outcome.result.get("rss_kb", 0)) / 1024)
        return seconds
    finally:
        worker.cleanup()


def _queued(settings: Settings, sid: int, count: int) -> float:
    manager = jobs.JobManager(settings)
    start = time.perf_counter()
    ids = [runs.request_run(settings, strategy_id=sid, config=SMALL, force=True).id
           for _ in range(count)]
    for rid in ids:
        manager.submit(rid)
    manager.wait(ids, timeout_s=600)
    seconds = time.perf_counter() - start
    manager.shutdown()
    bad = [r for r in (runs.get_run(settings.db_path, i) for i in ids)
           if r.status is not RunStatus.COMPLETED]
    if bad:
        raise RuntimeError(f"{len(bad)} queued runs failed: {bad[0].error}")
    return seconds


def run() -> list[dict[str, object]]:
    """Measure the sandbox figures (needs a working firejail sandbox)."""
    out = []
    with temp_settings() as settings:
        sandbox_check.require_sandbox(settings)
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=SOURCE)
        data = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                      symbol="BTCUSDT", timeframe="1h", start=SMALL.start,
                                      end=SMALL.end)
        rss: list[float] = []
        pool.pool_for(settings).refill()
        ours = min(_sandboxed(settings, data, rss) for _ in range(3))
        base = best_of(lambda: _plain(data))
        out.append(row(f"J1 small run ({len(data)} 1h bars) in a warm sandbox", ours,
                       baseline=base, target="see J1b"))
        out.append(row("J1b small-run overhead over plain backtesting.py", ours - base,
                       target="<= 0.3 s"))
        full = best_of(lambda: runs.run_sync(settings, strategy_id=sid, config=SMALL,
                                             force=True))
        out.append(row("J2 small run submit -> stored (validation, metrics, store)", full,
                       baseline=base, target="informational"))
        queued = _queued(settings, sid, 8)
        out.append(row(f"J3 8 queued runs, default pool (load {os.getloadavg()[0]:.1f})", queued,
                       baseline=base * 8, target="informational: 6 of 8 start cold; see S3"))
        out.append({"name": f"J4 peak RSS per sandbox: {max(rss):.0f} MB", "seconds": None,
                    "baseline_seconds": None, "ratio": None,
                    "target": f"< {settings.memory_mb} MB limit"})
        pool.shutdown_pools()
    return out


if __name__ == "__main__":
    for r in run():
        print(r)
