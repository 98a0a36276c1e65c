"""One stored run, gathered for reports: metrics by side, equity, OHLCV and enriched trades.

Owns the host-side per-trade excursions (run-up = MFE, drawdown = MAE) computed from the stored
prices, the backfill of side metrics for runs stored before they existed, and the run's daily
returns used by Compare. Reads the store through core.runs and never writes while reading;
store_missing_metrics (called when the store's owner starts) writes backtest_metrics rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.market import catalogue as market_data
from core.analytics import metrics, trade_stats
from core.runs import service as runs
from core import store
from core.strategies import crud as strategies
from core.errors import NotFoundError
from core.model import RunRecord
from core.settings import Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class RunBundle:
    """Everything a report of one completed run shows.

    trades: stored columns plus side, bars, mfe_usdt, mae_usdt, mfe_pct, mae_pct, cum_pnl.
    metrics: kind ('all', 'long', 'short') -> name -> value.
    """

    run: RunRecord
    equity: pd.Series
    ohlcv: pd.DataFrame
    trades: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    strategy_deleted: bool
    data_changed: bool

    @property
    def benchmark(self) -> pd.Series:
        """Close prices of the run's bars (buy and hold)."""
        return self.ohlcv["Close"]


def risk_free_rate(run: RunRecord) -> float:
    """The run's annual risk-free rate (config extra 'risk_free_rate', default 0)."""
    return float(run.config.extra.get("risk_free_rate", 0.0))


def run_ohlcv(settings: Settings, run: RunRecord, index: pd.DatetimeIndex) -> pd.DataFrame:
    """The run's bars, aligned to its stored equity index (later data is ignored)."""
    cfg = run.config
    bars = market_data.load_ohlcv(settings.db_path, exchange=cfg.exchange, market=cfg.market,
                                  symbol=cfg.symbol, timeframe=cfg.timeframe, start=cfg.start,
                                  end=cfg.end)
    return bars.reindex(index).ffill()


def excursions(trades: pd.DataFrame, ohlcv: pd.DataFrame) -> pd.DataFrame:
    """Per trade MFE (run-up) and MAE (drawdown) in USDT and as a fraction of entry notional.

    Extremes are the highs and lows of the bars from the entry bar up to (not including) the
    exit bar, plus the entry and exit prices (fills happen at a bar's open). Commission is not
    included. MAE is <= 0, MFE >= 0.
    """
    highs, lows = ohlcv["High"].to_numpy(float), ohlcv["Low"].to_numpy(float)
    rows = []
    for t in trades.itertuples(index=False):
        entry, exit_, size = float(t.entry_price), float(t.exit_price), float(t.size)
        span = slice(int(t.entry_bar), max(int(t.exit_bar), int(t.entry_bar)))
        hi = max(np.nanmax(highs[span], initial=entry), entry, exit_)
        lo = min(np.nanmin(lows[span], initial=entry), entry, exit_)
        best, worst = (hi - entry, lo - entry) if size > 0 else (entry - lo, entry - hi)
        notional = abs(size) * entry or 1.0
        rows.append((best * abs(size), worst * abs(size) + 0.0,
                     best * abs(size) / notional, worst * abs(size) / notional + 0.0))
    return pd.DataFrame(rows, columns=["mfe_usdt", "mae_usdt", "mfe_pct", "mae_pct"],
                        index=trades.index, dtype=float)


def enrich_trades(trades: pd.DataFrame, ohlcv: pd.DataFrame) -> pd.DataFrame:
    """Stored trades plus side, bars held, cumulative P&L and excursions (a new frame)."""
    out = trades.copy()
    out["side"] = np.where(out["size"] > 0, "long", "short")
    out["bars"] = (out["exit_bar"] - out["entry_bar"]).astype(int)
    out["cum_pnl"] = out["pnl"].cumsum()
    if not len(out):
        return out.assign(mfe_usdt=[], mae_usdt=[], mfe_pct=[], mae_pct=[])
    return pd.concat([out, excursions(out, ohlcv)], axis=1)


def _stored_metrics(db: Path, run_id: int) -> dict[str, dict[str, float]]:
    with store.connect(db) as con:
        rows = con.execute("SELECT kind, name, value FROM backtest_metrics WHERE backtest_id = ?",
                           [run_id]).fetchall()
    out: dict[str, dict[str, float]] = {side: {} for side in trade_stats.SIDES}
    for kind, name, value in rows:
        out.setdefault(kind, {})[name] = value
    return out


def _missing_metrics(settings: Settings, run: RunRecord, stored: dict[str, dict[str, float]],
                     equity: pd.Series, trades: pd.DataFrame,
                     benchmark: pd.Series) -> list[tuple[str, float, str]]:
    """(name, value, kind) of every metric the run should have but has no stored row for."""
    inp = metrics.Inputs(equity=equity, trades=trade_stats.engine_trades(trades),
                         benchmark=benchmark, risk_free_rate=risk_free_rate(run))
    return [(n, v, k) for n, v, k in trade_stats.metric_rows(inp) if n not in stored.get(k, {})]


def metrics_by_kind(settings: Settings, run: RunRecord, equity: pd.Series, trades: pd.DataFrame,
                    benchmark: pd.Series) -> dict[str, dict[str, float]]:
    """Stored metrics by kind; rows missing from older runs are computed (never written: a read
    does not write; store_missing_metrics does, when the store's owner starts)."""
    stored = _stored_metrics(settings.db_path, run.id)
    complete = all(stored.get(kind) for kind in trade_stats.SIDES) and \
        set(metrics.METRICS) <= set(stored["all"])
    if complete:  # every run stored by this version: skip recomputing ~0.3 s of metrics
        return stored
    for name, value, kind in _missing_metrics(settings, run, stored, equity, trades, benchmark):
        stored.setdefault(kind, {})[name] = value
    return stored


def store_missing_metrics(settings: Settings, run_id: int) -> int:
    """Compute and store the metric rows a completed run lacks (runs stored before a metric or
    a side existed). Returns how many rows were written. Raises NotFoundError."""
    run = runs.get_run(settings.db_path, run_id)
    runs.require_completed(run)
    equity = runs.run_equity(settings.db_path, run_id)
    equity.index = pd.DatetimeIndex(equity.index)
    ohlcv = run_ohlcv(settings, run, equity.index)
    missing = _missing_metrics(settings, run, _stored_metrics(settings.db_path, run_id), equity,
                               runs.run_trades(settings.db_path, run_id), ohlcv["Close"])
    if missing:
        with store.connect(settings.db_path) as con:
            con.executemany("INSERT OR IGNORE INTO backtest_metrics (backtest_id, name, value, "
                            "kind) VALUES (?, ?, ?, ?)", [[run.id, n, v, k] for n, v, k in missing])
    return len(missing)


def runs_missing_side_metrics(db: Path) -> list[int]:
    """Ids of completed runs stored without any Long/Short metric rows (before they existed)."""
    with store.connect(db) as con:
        rows = con.execute("SELECT id FROM backtests b WHERE status = 'completed' AND NOT EXISTS "
                           "(SELECT 1 FROM backtest_metrics m WHERE m.backtest_id = b.id AND "
                           "m.kind <> 'all') ORDER BY id").fetchall()
    return [int(r[0]) for r in rows]


def _strategy_deleted(db: Path, run: RunRecord) -> bool:
    if run.strategy_id is None:
        return True
    try:
        return strategies.get(db, run.strategy_id).deleted
    except NotFoundError:
        return True


def load(settings: Settings, run_id: int) -> RunBundle:
    """Gather a completed run. Raises NotFoundError for unknown or unfinished runs."""
    run = runs.get_run(settings.db_path, run_id)
    runs.require_completed(run)
    equity = runs.run_equity(settings.db_path, run_id)
    equity.index = pd.DatetimeIndex(equity.index)
    ohlcv = run_ohlcv(settings, run, equity.index)
    stored_trades = runs.run_trades(settings.db_path, run_id)
    by_kind = metrics_by_kind(settings, run, equity, stored_trades, ohlcv["Close"])
    return RunBundle(run=run, equity=equity, ohlcv=ohlcv,
                     trades=enrich_trades(stored_trades, ohlcv), metrics=by_kind,
                     strategy_deleted=_strategy_deleted(settings.db_path, run),
                     data_changed=market_data.data_sha(ohlcv) != run.data_sha)


def daily_returns(equity: pd.Series) -> pd.Series:
    """Simple returns of the last equity of each UTC day (core.analytics.metrics' basis)."""
    return metrics.Inputs(equity=equity, trades=pd.DataFrame(),
                          benchmark=equity).daily_returns
