"""The golden run: SMA cross (examples/sma_cross.py, default parameters) on the synthetic
BTCUSDT sample, 4h bars from 2022-01-01 to 2023-06-30, 100,000 USDT, 0.1 % commission.

Its engine output (equity, closes, trades) is frozen in golden_equity.csv / golden_trades.csv so
the metric golden pins metric definitions only; ``engine_inputs()`` rebuilds those files and is
used only by scripts/regenerate_golden.py (with --rerun-engine). Every metric of core.analytics.metrics
and core.analytics.trade_stats is pinned in metrics_golden.json.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from core.analytics import metrics, trade_stats

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EQUITY_CSV = HERE / "golden_equity.csv"
TRADES_CSV = HERE / "golden_trades.csv"
GOLDEN_JSON = HERE / "metrics_golden.json"
CASH_USDT, COMMISSION = 100_000.0, 0.001
START, END = "2022-01-01", "2023-06-30 23:59"


def engine_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the golden backtest in-process (trusted example code) -> (bars frame, trades)."""
    from core.engine import backtest as engine
    from core.market import sample as sample_data
    from core.market.catalogue import resample

    spec = next(s for s in sample_data.SAMPLE_SPECS if s.symbol == "BTCUSDT")
    raw = sample_data.generate_symbol(spec).set_index("ts").rename(columns=str.capitalize)
    raw.index = pd.DatetimeIndex(raw.index, name=None)
    bars = resample(raw.loc[START:END], "4h")
    loader = importlib.util.spec_from_file_location("golden_sma", REPO / "examples" /
                                                    "sma_cross.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    out = engine.run(module.SmaCross, bars,
                     engine.EngineSettings(cash_usdt=CASH_USDT, commission=COMMISSION))
    frame = pd.DataFrame({"equity": out.equity.to_numpy(), "close": bars["Close"].to_numpy()},
                         index=pd.DatetimeIndex(bars.index, name="time"))
    return frame, out.trades.loc[:, list(engine.TRADE_COLUMNS)]


def frozen_inputs() -> metrics.Inputs:
    """The frozen golden run as metric inputs."""
    frame = pd.read_csv(EQUITY_CSV, index_col="time", parse_dates=["time"])
    trades = pd.read_csv(TRADES_CSV, parse_dates=["EntryTime", "ExitTime"],
                         keep_default_na=False)
    return metrics.Inputs(equity=frame["equity"], trades=trades, benchmark=frame["close"])


def _plain(value: float) -> float | str:
    """JSON-safe: non-finite values as the strings "nan", "inf" and "-inf"."""
    if math.isnan(value):
        return "nan"
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def compute() -> dict[str, dict[str, Any]]:
    """Every metric of the frozen golden run, by kind ('all', 'long', 'short')."""
    out: dict[str, dict[str, Any]] = {}
    for name, value, kind in trade_stats.metric_rows(frozen_inputs()):
        out.setdefault(kind, {})[name] = _plain(float(value))
    return {kind: dict(sorted(values.items())) for kind, values in sorted(out.items())}


def stored() -> dict[str, dict[str, Any]]:
    """The pinned values."""
    return json.loads(GOLDEN_JSON.read_text())["metrics"]
