"""Shared helpers for benchmarks: temporary stores, synthetic minute data, timing."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from core import bootstrap, store
from core.settings import Settings, load_settings


# Where this machine's sandbox lives (setup_system.sh honours the same names): followed here.
MACHINE_VARIABLES = ("PINEOPT_SANDBOX_USER", "PINEOPT_SANDBOX_VENV", "PINEOPT_SANDBOX_HOME",
                     "PINEOPT_JOBS_ROOT")


@contextmanager
def temp_settings() -> Iterator[Settings]:
    """Settings for a throwaway PINEOPT_HOME with an initialised store."""
    home = Path(tempfile.mkdtemp(prefix="pineopt-bench-"))
    try:
        machine = {k: v for k, v in os.environ.items() if k in MACHINE_VARIABLES and v}
        settings = load_settings({**machine, "PINEOPT_HOME": str(home)})
        bootstrap.init_store(settings)
        yield settings
    finally:
        shutil.rmtree(home, ignore_errors=True)


def minute_bars(n: int = 525_600, *, seed: int = 7, start: str = "2024-01-01") -> pd.DataFrame:
    """Deterministic synthetic 1-minute OHLCV (DatetimeIndex, engine column names)."""
    rng = np.random.default_rng(seed)
    ret = rng.standard_t(4, n) / np.sqrt(2) * 0.0009
    close = 40_000 * np.exp(np.cumsum(ret))
    open_ = np.concatenate(([40_000.0], close[:-1]))
    wiggle = np.abs(rng.normal(0, 0.0004, (2, n)))
    frame = pd.DataFrame({
        "Open": open_, "High": np.maximum(open_, close) * (1 + wiggle[0]),
        "Low": np.minimum(open_, close) * (1 - wiggle[1]), "Close": close,
        "Volume": rng.lognormal(2, 0.5, n)},
        index=pd.date_range(start, periods=n, freq="1min"))
    return frame.round(2)


def store_bars(settings: Settings, frame: pd.DataFrame, *, symbol: str, timeframe: str) -> None:
    """Insert engine-format bars into the store under exchange 'bench', market 'spot'."""
    rows = frame.rename(columns=str.lower).rename_axis("ts").reset_index()
    rows.insert(0, "timeframe", timeframe)
    rows.insert(0, "symbol", symbol)
    rows.insert(0, "market", "spot")
    rows.insert(0, "exchange", "bench")
    with store.transaction(settings.db_path) as con:
        con.register("rows", rows)
        con.execute("INSERT INTO ohlcv SELECT exchange, market, symbol, timeframe, ts, open, high, "
                    "low, close, volume FROM rows")


def best_of(func: Callable[[], object], *, repeat: int = 3) -> float:
    """Fastest wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def row(name: str, seconds: float, *, baseline: float | None = None,
        target: str = "") -> dict[str, object]:
    """One table row; ratio = seconds / baseline when a baseline was measured."""
    return {"name": name, "seconds": seconds, "baseline_seconds": baseline,
            "ratio": seconds / baseline if baseline else None, "target": target}
