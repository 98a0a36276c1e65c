"""Market-data figures (P9): importing a 1,000,000-row Binance kline CSV, and loading 525,600
bars from DuckDB into the engine's DataFrame.

Baselines: pandas.read_csv of the same file (no checks, nothing stored), and the bare DuckDB
query to a DataFrame (no index or column shaping).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.common import best_of, minute_bars, row, store_bars, temp_settings
from core.market import importers, catalogue as market_data
from core import store

IMPORT_ROWS = 1_000_000
LOAD_BARS = 525_600


def kline_csv(path: Path, n: int = IMPORT_ROWS) -> Path:
    """Write a headerless Binance spot kline file (12 columns, ms times) of n minute bars."""
    bars = minute_bars(n, seed=11, start="2020-01-01")
    open_ms = (bars.index.asi8 // 1_000_000).astype("int64")
    volume = bars["Volume"].round(5).to_numpy()
    table = pa.table({
        "open_time": open_ms, "open": bars["Open"].to_numpy(), "high": bars["High"].to_numpy(),
        "low": bars["Low"].to_numpy(), "close": bars["Close"].to_numpy(), "volume": volume,
        "close_time": open_ms + 59_999, "quote_volume": np.round(volume * bars["Close"], 4),
        "count": np.full(n, 100), "taker_buy_volume": np.round(volume / 2, 5),
        "taker_buy_quote_volume": np.round(volume * bars["Close"] / 2, 4),
        "ignore": np.zeros(n, dtype="int64")})
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=False))
    return path


def _import_seconds(path: Path, folder: Path, repeat: int = 2) -> float:
    """Best wall time of importing ``path`` into a fresh, empty (migrated) store."""
    times = []
    for i in range(repeat):
        db = folder / f"import{i}.duckdb"
        store.migrate(db)
        start = time.perf_counter()
        report = importers.import_file(db, path)
        times.append(time.perf_counter() - start)
        if report.datasets[0].new_rows != IMPORT_ROWS:
            raise RuntimeError(f"bench import stored {report.datasets[0].new_rows} rows")
    return min(times)


def _import_row(folder: Path) -> dict[str, object]:
    path = kline_csv(folder / "BTCUSDT-1m-bench.csv")
    ours = _import_seconds(path, folder)
    base = best_of(lambda: pd.read_csv(path, header=None), repeat=2)
    return row("P9 import 1,000,000-row Binance kline CSV (checked, stored)", ours,
               baseline=base, target="<= 3 s")


def _load_row() -> dict[str, object]:
    with temp_settings() as settings:
        store_bars(settings, minute_bars(LOAD_BARS), symbol="LOADUSDT", timeframe="1m")
        key = {"exchange": "bench", "market": "spot", "symbol": "LOADUSDT", "timeframe": "1m"}

        def ours() -> None:
            frame = market_data.load_ohlcv(settings.db_path, **key)
            if len(frame) != LOAD_BARS:
                raise RuntimeError(f"bench load returned {len(frame)} bars")

        def bare() -> None:
            with store.connect(settings.db_path) as con:
                con.execute("SELECT ts, open, high, low, close, volume FROM ohlcv WHERE "
                            "symbol = 'LOADUSDT' ORDER BY ts").df()

        return row("P9 load 525,600 bars DuckDB -> engine DataFrame", best_of(ours),
                   baseline=best_of(bare), target="<= 0.3 s")


def run() -> list[dict[str, object]]:
    """Measure both P9 figures."""
    with tempfile.TemporaryDirectory(prefix="pineopt-databench-") as folder:
        return [_import_row(Path(folder)), _load_row()]
