"""Spine figures: a small run submitted -> stored, 525,600 minute bars end to end, and 8 small
runs queued at once on warm sandbox workers.

Each is compared with plain backtesting.py run in-process on the same data and settings, measured
in the same run (S3: right before each of its repeats, so both see the same machine load).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
import warnings

import pandas as pd

from bench.common import best_of, minute_bars, row, store_bars, temp_settings
from core.market import catalogue as market_data
from core.runs import jobs, service as runs
from sandbox import pool
from sandbox import selftest as sandbox_check
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import REPO_ROOT, Settings

SOURCE = (REPO_ROOT / "examples" / "sma_cross.py").read_text()
QUEUED = 8  # S3: runs queued at once, each on a warm pooled worker
QUEUED_REPEATS = 3
SMALL_QUEUED = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                              end="2024-01-31", cash_usdt=100_000.0, commission=0.001)


def _plain(data: pd.DataFrame, *, cash: float, commission: float) -> None:
    from backtesting import Backtest
    from sandbox.child import load_strategy_class

    cls = load_strategy_class(SOURCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, cls, cash=cash, commission=commission, finalize_trades=True).run()


def _ours(settings: Settings, sid: int, config: BacktestConfig) -> None:
    run = runs.run_sync(settings, strategy_id=sid, config=config, force=True)
    if run.status is not RunStatus.COMPLETED:
        raise RuntimeError(f"bench run failed: {run.status.value}: {run.error}")


def _warm_pool(settings: Settings) -> None:
    """Wait until the pool holds settings.pool_size idle workers that finished their warm-up."""
    workers = pool.pool_for(settings)
    workers.refill()
    deadline = time.monotonic() + 300
    while len(workers.idle_pids()) < settings.pool_size:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker pool did not fill within 300 s")
        time.sleep(0.05)
    workers.wait_idle_ready()


def _queued_once(settings: Settings, sid: int, data: pd.DataFrame) -> tuple[float, float]:
    """(seconds for QUEUED queued runs, seconds for QUEUED plain runs just before)."""
    _warm_pool(settings)
    start = time.perf_counter()
    for _ in range(QUEUED):
        _plain(data, cash=SMALL_QUEUED.cash_usdt, commission=SMALL_QUEUED.commission)
    base = time.perf_counter() - start
    manager = jobs.JobManager(settings)
    try:
        start = time.perf_counter()
        ids = []
        for _ in range(QUEUED):  # queued one after another, as the Backtest page does
            ids.append(runs.request_run(settings, strategy_id=sid, config=SMALL_QUEUED,
                                        force=True).id)
            manager.submit(ids[-1])
        manager.wait(ids, timeout_s=600)
        seconds = time.perf_counter() - start
    finally:
        manager.shutdown()
    bad = [r for r in (runs.get_run(settings.db_path, i) for i in ids)
           if r.status is not RunStatus.COMPLETED]
    if bad:
        raise RuntimeError(f"{len(bad)} queued runs failed: {bad[0].error}")
    return seconds, base


def _queued_row(settings: Settings, sid: int) -> dict[str, object]:
    """S3: QUEUED small runs queued at once (request -> stored, max_concurrent at a time) on a
    pool of QUEUED warm workers, against the same runs in plain backtesting.py; the median of
    QUEUED_REPEATS repeats, with the spread of the ratio and the load average."""
    warm = dataclasses.replace(settings, pool_size=QUEUED)
    sandbox_check.require_sandbox(warm)
    data = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                  symbol="BTCUSDT", timeframe="1h", start=SMALL_QUEUED.start,
                                  end=SMALL_QUEUED.end)
    try:
        pairs = sorted((_queued_once(warm, sid, data) for _ in range(QUEUED_REPEATS)),
                       key=lambda p: p[0] / p[1])
    finally:
        pool.pool_for(warm).close()
    ratios = [ours / base for ours, base in pairs]
    ours, base = pairs[len(pairs) // 2]
    load = os.getloadavg()[0]
    return row(f"S3 {QUEUED} queued small runs, warm ({min(ratios):.1f}-{max(ratios):.1f}x, "
               f"load {load:.1f})", ours, baseline=base,
               target=f"<= 2x (median of {len(ratios)}: {statistics.median(ratios):.2f})")


def run() -> list[dict[str, object]]:
    """Measure both spine figures."""
    out = []
    with temp_settings() as settings:
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=SOURCE)
        small = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                               end="2024-12-31", cash_usdt=1_000_000.0, commission=0.001)
        data = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                      symbol="BTCUSDT", timeframe="1h", start=small.start,
                                      end=small.end)
        ours = best_of(lambda: _ours(settings, sid, small))
        base = best_of(lambda: _plain(data, cash=1_000_000.0, commission=0.001))
        out.append(row("S1 1y of 1h bars: submit -> stored (firejail)", ours, baseline=base,
                       target="<= 1.0 s"))
        minutes = minute_bars()
        store_bars(settings, minutes, symbol="BENCHUSDT", timeframe="1m")
        big = BacktestConfig(exchange="bench", symbol="BENCHUSDT", timeframe="1m",
                             cash_usdt=1_000_000.0, commission=0.001)
        ours_big = best_of(lambda: _ours(settings, sid, big), repeat=1)
        base_big = best_of(lambda: _plain(minutes, cash=1_000_000.0, commission=0.001), repeat=1)
        out.append(row("S2 525,600 1m bars end to end (firejail)", ours_big, baseline=base_big,
                       target="<= 1.15x"))
        out.append(_queued_row(settings, sid))
    return out


if __name__ == "__main__":
    for r in run():
        print(r)
