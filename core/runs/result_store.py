"""Storing a checked run: its metrics, equity, trades (with their P&L split), plots, margin
series, risk events and cost totals, in one transaction of bulk inserts.

Every table gets one INSERT ... SELECT from a frame registered on the connection: no row-by-row
executemany (100 metric rows took ~80 ms that way, under 1 ms from an Arrow table). Metric
values go in through Arrow, which keeps NaN and infinities as the doubles they are (a pandas
frame would turn NaN into NULL). core.runs.service calls store_run(); nothing here runs user code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core import store
from core.analytics import metrics, trade_stats
from core.model import BacktestConfig
from core.runs import broker_store, pine_run

_TRADE_COLUMNS = ("backtest_id, n, size, entry_time, exit_time, entry_price, exit_price, pnl, "
                  "return_pct, commission, entry_bar, exit_bar, tag, exit_reason, price_pnl, "
                  "fees, funding, slippage_cost")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def metric_table(run_id: int, rows: list[tuple[str, float, str]]) -> pa.Table:
    """backtest_metrics rows (backtest_id, name, value, kind) as an Arrow table."""
    return pa.table({"backtest_id": pa.array([run_id] * len(rows), pa.int64()),
                     "name": pa.array([r[0] for r in rows], pa.string()),
                     "value": pa.array([float(r[1]) for r in rows], pa.float64()),
                     "kind": pa.array([r[2] for r in rows], pa.string())})


def trade_rows(run_id: int, trades: pd.DataFrame, n_bars: int) -> pd.DataFrame:
    """The trades table's rows, the broker's P&L split included when the trades carry it (the
    split columns stay 0 and the exit reason is end_of_data / signal otherwise)."""
    rows = pd.DataFrame({
        "backtest_id": run_id, "n": range(1, len(trades) + 1),
        "size": trades["Size"].astype(float), "entry_time": pd.to_datetime(trades["EntryTime"]),
        "exit_time": pd.to_datetime(trades["ExitTime"]), "entry_price": trades["EntryPrice"],
        "exit_price": trades["ExitPrice"], "pnl": trades["PnL"], "return_pct": trades["ReturnPct"],
        "commission": trades["Commission"], "entry_bar": trades["EntryBar"].astype(int),
        "exit_bar": trades["ExitBar"].astype(int), "tag": trades["Tag"].fillna("").astype(str),
        "exit_reason": trades["ExitBar"].eq(n_bars - 1).map(
            {True: "end_of_data", False: "signal"}),
        "price_pnl": 0.0, "fees": 0.0, "funding": 0.0, "slippage_cost": 0.0,
    })
    if len(trades) and "ExitReason" in trades:
        split = broker_store.split_columns(trades)
        for name, values in split.items():
            rows[name] = values
    return rows


def store_run(db: Path, run_id: int, config: BacktestConfig, data: pd.DataFrame, equity: pd.Series,
              trades: pd.DataFrame, log: str, *,
              extras: broker_store.BrokerExtras | None = None,
              plots: pd.DataFrame | None = None) -> None:
    """Compute the run's metrics and store everything about it in one transaction; the run
    becomes completed with it."""
    rows = trade_stats.metric_rows(metrics.Inputs(
        equity=equity, trades=trades, benchmark=data["Close"],
        risk_free_rate=float(config.extra.get("risk_free_rate", 0.0))))
    if extras is not None:
        rows += broker_store.cost_rows(trades, extras)
    metric_rows = metric_table(run_id, rows)
    eq_rows = pd.DataFrame({"backtest_id": run_id, "ts": equity.index, "equity": equity.to_numpy()})
    tr_rows = trade_rows(run_id, trades, len(data))
    plot_rows = pine_run.plot_rows(run_id, plots if plots is not None else pd.DataFrame())
    with store.transaction(db) as con:
        con.register("eq_rows", eq_rows)
        con.execute("INSERT INTO equity SELECT backtest_id, ts, equity FROM eq_rows")
        if len(plot_rows):
            con.register("plot_rows", plot_rows)
            con.execute("INSERT INTO plots SELECT backtest_id, name, ts, value FROM plot_rows")
        con.register("tr_rows", tr_rows)
        con.execute(f"INSERT INTO trades ({_TRADE_COLUMNS}) SELECT {_TRADE_COLUMNS} FROM tr_rows")
        if extras is not None:
            broker_store.store_extras(con, run_id, data, trades, extras)
        con.register("metric_rows", metric_rows)
        con.execute("INSERT INTO backtest_metrics (backtest_id, name, value, kind) SELECT "
                    "backtest_id, name, value, kind FROM metric_rows")
        con.execute(
            "UPDATE backtests SET status = 'completed', progress = 1, log = ?, finished_at = ?, "
            "duration_s = epoch(? - coalesce(started_at, created_at)) WHERE id = ?",
            [log[:1_000_000], _now(), _now(), run_id])
