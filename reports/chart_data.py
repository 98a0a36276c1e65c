"""The data behind a run's charts as plain records (for the HTTP API and other clients).

The same series the Results page draws: equity against buy and hold from the same capital,
underwater drawdown, monthly and yearly returns, rolling Sharpe and volatility, and each trade's
P&L, return and duration (the distribution). Long series are thinned to charts.MAX_POINTS rows,
as on the page. Times are ISO 8601 UTC; money is USDT; returns are fractions.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.analytics.run_bundle import RunBundle
from reports import frames
from reports.charts import MAX_POINTS


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    step = -(-len(frame) // MAX_POINTS)  # ceil: at most MAX_POINTS rows
    return frame.iloc[::step] if step > 1 else frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (v.isoformat() if isinstance(v, pd.Timestamp) else
                        None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.items()})
    return out


def chart_data(bundle: RunBundle) -> dict[str, list[dict[str, Any]]]:
    """equity [{time, equity_usdt, buy_hold_usdt}], drawdown [{time, drawdown}], monthly_returns
    [{year, month, ret}], yearly_returns [{year, ret}], rolling [{time, sharpe, volatility}]
    (30-day windows, 365-day year), trades [{n, side, pnl, return_pct, bars}]."""
    equity = bundle.equity
    start = float(equity.iloc[0])
    bench = bundle.benchmark.reindex(equity.index)
    curve = pd.DataFrame({"time": equity.index, "equity_usdt": equity.to_numpy(),
                          "buy_hold_usdt": (bench / float(bench.iloc[0]) * start).to_numpy()})
    under = pd.DataFrame({"time": equity.index,
                          "drawdown": frames.drawdown(equity).to_numpy()})
    monthly = frames.monthly_returns(equity).loc[:, ["year", "month", "ret"]]
    yearly = frames.yearly_returns(equity)
    trades = bundle.trades.loc[:, ["n", "side", "pnl", "return_pct", "bars"]]
    return {"equity": _records(_thin(curve)), "drawdown": _records(_thin(under)),
            "monthly_returns": _records(monthly), "yearly_returns": _records(yearly),
            "rolling": _records(frames.rolling_stats(equity)), "trades": _records(trades)}
