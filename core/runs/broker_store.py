"""The crypto broker's side of a run: job settings and funding in, verified extras out, stored.

Owns: building the sandbox job's broker settings from a BacktestConfig and the symbol's trading
rules; writing funding.parquet for perpetuals (stored rates, or the configured constant rate
when none are stored); reading and checking the child's risk events and rejection counts;
storing the trade P&L split, the margin series, risk events and cost totals (migration 6); and
the readers the Results page uses. core.runs calls these; nothing here runs user code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.runs import broker_check, child_files, costs
from core.market import catalogue as market_data
from core import store
from core.errors import DataError, SandboxError
from core.model import BacktestConfig

DEFAULT_LOT_STEP = 1e-8  # one satoshi, when the catalogue does not know the symbol
EVENT_RULES = frozenset({"liquidation", "max_drawdown_halt", "max_daily_loss",
                         "max_position_size", "trailing_stop", "default_stop_loss",
                         "default_take_profit", "account_blown"})
REJECT_REASONS = frozenset({"below_lot_step", "below_min_notional", "insufficient_margin",
                            "short_not_allowed", "max_position_size", "risk_halt"})
MAX_EVENTS = 100_000
COST_KIND = "broker"  # backtest_metrics.kind of the cost totals and rejection counts


@dataclass(frozen=True, slots=True, kw_only=True)
class JobBroker:
    """What a job needs: engine settings, the funding rates sent (or None), a note for the log."""

    settings: dict[str, Any]
    funding: pd.Series | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerExtras:
    """Verified broker outputs of a run, stored next to its trades."""

    events: pd.DataFrame
    rejected: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    open_trades: int = 0  # left open at the end (finalize_trades off), checked by result_check


def _symbol_rules(db: Path, config: BacktestConfig) -> tuple[float, float]:
    try:
        info = market_data.get_symbol(db, config.exchange, config.market, config.symbol)
    except DataError:
        return DEFAULT_LOT_STEP, 0.0
    return (info.lot_step or DEFAULT_LOT_STEP), (info.min_notional or 0.0)


def prepare_job(db: Path, config: BacktestConfig, data: pd.DataFrame, job_dir: Path) -> JobBroker:
    """Engine settings for ``config``; for perps also write ``job_dir``/funding.parquet."""
    lot, min_notional = _symbol_rules(db, config)
    settings = costs.engine_settings(config, lot_step_coins=lot, min_notional_usdt=min_notional)
    if config.market != "perp":
        return JobBroker(settings=settings)
    funding = market_data.load_funding(db, config.exchange, config.symbol, data.index[0],
                                       data.index[-1])
    note = f"funding: {len(funding)} stored rates"
    if not len(funding):
        funding = costs.constant_funding(index=data.index, rate_8h=config.margin.funding_rate_8h)
        note = (f"funding: no stored rates, constant {config.margin.funding_rate_8h:.4%} per 8 h "
                "at 00/08/16 UTC")
    funding.rename("rate").to_frame().to_parquet(job_dir / "funding.parquet")
    return JobBroker(settings=settings, funding=funding, note=note + "\n")


def _reject(message: str) -> SandboxError:
    return SandboxError(f"Result rejected: {message}", status="result_rejected")


def read_extras(out_dir: Path, data: pd.DataFrame, result: dict, *,
                settings: dict[str, Any]) -> BrokerExtras:
    """The child's risk events and rejection counts, checked; raises SandboxError if malformed."""
    path = out_dir / "events.parquet"
    events = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns]"),  # no file: no events
                           "rule": pd.Series(dtype=object), "detail": pd.Series(dtype=object)})
    if path.exists() or path.is_symlink():  # capped, checked read (core.runs.child_files)
        events = _checked_events(child_files.read_parquet(
            path, ["time", "rule", "detail"], child_files.Caps(max_rows=MAX_EVENTS)), data)
    raw = result.get("rejected") or {}
    if not isinstance(raw, dict) or not all(
            k in REJECT_REASONS and isinstance(v, int) and v >= 0 for k, v in raw.items()):
        raise _reject("the rejected-order counts are malformed")
    held = result.get("open_trades", 0)
    return BrokerExtras(events=events.reset_index(drop=True), rejected=dict(raw),
                        settings=settings, open_trades=held if isinstance(held, int) else 0)


def _checked_events(events: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """The child's risk events: known rules, at most MAX_EVENTS, each at a bar time; details
    cut to 300 characters. Raises SandboxError."""
    if len(events) > MAX_EVENTS or not events["rule"].isin(EVENT_RULES).all():
        raise _reject("risk events have an unknown rule or are too many")
    times = pd.to_datetime(events["time"])
    if not times.isin(data.index).all():
        raise _reject("a risk event's time is not a bar time")
    return events.assign(time=times, detail=events["detail"].astype(str).str.slice(0, 300))


def cost_totals(trades: pd.DataFrame, rejected: dict[str, int], *,
                open_trades: int = 0) -> dict[str, float]:
    """Run totals: fees_paid, funding_pnl, slippage_cost, price_pnl (USDT), liquidations,
    orders_rejected (counts, also per reason as orders_rejected_<reason>) and, when trades were
    left open at the end, open_trades_at_end."""
    def total(column: str) -> float:
        return float(trades[column].sum()) if column in trades and len(trades) else 0.0

    reasons = trades["ExitReason"] if "ExitReason" in trades else pd.Series(dtype=str)
    out = {"fees_paid": total("Commission"), "funding_pnl": total("Funding"),
           "slippage_cost": total("Slippage"), "price_pnl": total("PricePnL"),
           "liquidations": float((reasons == "liquidation").sum()),
           "orders_rejected": float(sum(rejected.values()))}
    out.update({f"orders_rejected_{k}": float(v) for k, v in sorted(rejected.items())})
    if open_trades:
        out["open_trades_at_end"] = float(open_trades)
    return out


def split_columns(trades: pd.DataFrame) -> dict[str, Any]:
    """The trades table's P&L split columns (price_pnl, fees, funding, slippage_cost,
    exit_reason) of trades that carry the broker's split (an ExitReason column)."""
    return {"price_pnl": trades["PricePnL"].to_numpy(dtype="float64"),
            "fees": trades["Commission"].to_numpy(dtype="float64"),
            "funding": trades["Funding"].to_numpy(dtype="float64"),
            "slippage_cost": trades["Slippage"].to_numpy(dtype="float64"),
            "exit_reason": trades["ExitReason"].astype(str).to_numpy()}


def cost_rows(trades: pd.DataFrame, extras: BrokerExtras) -> list[tuple[str, float, str]]:
    """backtest_metrics rows (name, value, kind COST_KIND) of the run's cost totals."""
    return [(k, v, COST_KIND) for k, v in
            cost_totals(trades, extras.rejected, open_trades=extras.open_trades).items()]


def extra_rows(run_id: int, data: pd.DataFrame, trades: pd.DataFrame,
               extras: BrokerExtras) -> dict[str, pd.DataFrame]:
    """The run's margin series (perps) and risk events as rows of the margin_series and
    risk_events tables (the P&L split goes in with the trades, split_columns(); the cost totals
    with the metrics, cost_rows())."""
    out = {}
    if extras.settings.get("perp"):
        series = broker_check.margin_series(trades, data, broker=extras.settings)
        out["margin_series"] = series.reset_index(names="ts").assign(backtest_id=run_id)
    if len(extras.events):
        out["risk_events"] = extras.events.rename(columns={"time": "ts"}).assign(
            backtest_id=run_id, n=range(1, len(extras.events) + 1))
    return out


def margin_series(db: Path, run_id: int) -> pd.DataFrame:
    """Stored per-bar position_coins, margin_used_usdt, liq_distance (perps; empty otherwise)."""
    with store.connect(db) as con:
        frame = con.execute("SELECT ts, position_coins, margin_used_usdt, liq_distance FROM "
                            "margin_series WHERE backtest_id = ? ORDER BY ts", [run_id]).df()
    return frame.set_index("ts")


def risk_events(db: Path, run_id: int) -> pd.DataFrame:
    """Stored risk events of a run: n, ts, rule, detail (in order)."""
    with store.connect(db) as con:
        return con.execute("SELECT n, ts, rule, detail FROM risk_events WHERE backtest_id = ? "
                           "ORDER BY n", [run_id]).df()


def cost_split(db: Path, run_id: int) -> dict[str, float]:
    """Stored cost totals and rejection counts (see cost_totals)."""
    with store.connect(db) as con:
        rows = con.execute("SELECT name, value FROM backtest_metrics WHERE backtest_id = ? AND "
                           "kind = ?", [run_id, COST_KIND]).fetchall()
    return {name: value for name, value in rows}
