"""How a Pine strategy's run differs from a Python one: defaults, tick size and broker mirroring.

The Pine runtime emulates TradingView's broker and mirrors each fill as a backtesting.py order
(core/pine/DIFFERENCES.md). The engine must therefore not add, resize or refuse orders of its
own: shorting allowed, no margin refusals (mirror mode), fractional coins on the symbol's lot
grid, the trade open at the end valued at the last close, no engine slippage (Pine's tick
slippage is applied by the runtime), no engine risk rules and no engine liquidation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.runs import child_files
from core.market import catalogue as market_data
from core.errors import ConfigError, DataError, SandboxError, TranslationError
from core.model import BacktestConfig

MINTICK_PARAM = "syminfo_mintick"
DEFAULT_LOT_STEP = 1e-8  # when the catalogue knows no lot step: satoshi-sized quantities
_ENGINE_RULES_OFF = ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct", "max_position_pct",
                     "max_drawdown_halt", "max_daily_loss", "slippage_bps", "slippage_range_frac",
                     "maintenance_margin_rate", "liquidation_fee_rate", "min_notional_usdt")


def _properties(source: str) -> Mapping[str, Any]:
    """The strategy() properties of Pine source (empty if it does not translate)."""
    from core.pine.translation import api as pine

    try:
        return pine.translate(source).strategy_settings
    except TranslationError:
        return {}


def processes_orders_on_close(source: str) -> bool:
    """The Pine strategy's process_orders_on_close property (False if it does not translate)."""
    return bool(_properties(source).get("process_orders_on_close"))


def strategy_defaults(source: str) -> dict[str, float]:
    """The strategy() properties a run starts from: {"cash_usdt", "commission"} (may be empty)."""
    props = _properties(source)
    out = {}
    if props.get("initial_capital"):
        out["cash_usdt"] = float(props["initial_capital"])
    if "commission" in props:
        out["commission"] = float(props["commission"])
    return out


# run settings a Pine strategy takes from its own source instead: (label, CLI flag, Pine)
_PINE_OWNED = {
    "slippage_bps": ("slippage in basis points", "--slippage-bps",
                     "strategy(slippage=N) (N in ticks)"),
    "slippage_range_frac": ("slippage scaled by the bar's range", "--slippage-range",
                            "strategy(slippage=N) (N in ticks)"),
    "stop_loss_pct": ("a default stop-loss", "--stop-loss", "strategy.exit(stop=...)"),
    "take_profit_pct": ("a default take-profit", "--take-profit", "strategy.exit(limit=...)"),
    "trailing_stop_pct": ("a trailing stop", "--trailing-stop",
                          "strategy.exit(trail_points=..., trail_offset=...)"),
    "max_position_pct": ("a maximum position", "--max-position",
                         "strategy.risk.max_position_size(...)"),
    "max_drawdown_halt": ("a drawdown halt", "--max-drawdown-halt",
                          "strategy.risk.max_drawdown(value, strategy.percent_of_equity)"),
    "max_daily_loss": ("a daily loss limit", "--max-daily-loss",
                       "strategy.risk.max_intraday_loss(value, strategy.percent_of_equity)"),
}


def check_config(config: BacktestConfig) -> None:
    """Refuse run settings a Pine run would not apply (TradingView's broker takes slippage and
    risk rules from the script): ConfigError naming each one and where it goes in Pine."""
    chosen = {"slippage_bps": config.costs.slippage_bps,
              "slippage_range_frac": config.costs.slippage_range_frac,
              **{name: getattr(config.risk, name) for name in _PINE_OWNED
                 if hasattr(config.risk, name)}}
    problems = []
    for name, value in chosen.items():
        if value:
            label, flag, pine = _PINE_OWNED[name]
            problems.append(f"{label} ({flag} {value:g}) would be ignored: remove {flag} "
                            f"(Backtest page: set it to 0) and put {pine} in the script instead")
    if problems:
        raise ConfigError("A Pine strategy takes slippage and risk rules from its own source, "
                          "as on TradingView: " + "; ".join(problems) + ".")


def _symbol_rules(db: Path, config: BacktestConfig) -> tuple[float, float]:
    try:
        info = market_data.get_symbol(db, config.exchange, config.market, config.symbol)
    except DataError:
        return 0.0, 0.0
    return float(info.tick_size or 0.0), float(info.lot_step or 0.0)


def prepare_config(db: Path, config: BacktestConfig) -> BacktestConfig:
    """Give the run the symbol's tick size as syminfo.mintick unless the user set one."""
    if MINTICK_PARAM in config.params:
        return config
    tick, _lot = _symbol_rules(db, config)
    if tick <= 0:
        return config
    return replace(config, params={**config.params, MINTICK_PARAM: tick})


def engine_settings(db: Path, config: BacktestConfig, base: dict[str, Any], *,
                    on_close: bool = False, slippage_ticks: int = 0) -> dict[str, Any]:
    """The sandbox engine settings for a Pine run: ``base`` with the mirroring requirements.

    on_close: the strategy's process_orders_on_close (market orders fill at the signal close).
    slippage_ticks: the strategy's strategy(slippage=N) (strategy_slippage); times the run's
    syminfo.mintick it is what a fill may carry beyond its bar (the host allows no more).
    """
    _tick, lot = _symbol_rules(db, config)
    out = {**base, "allow_short": True, "mirror": True, "finalize_at_close": True,
           "mirror_slippage": mirror_slippage(slippage_ticks, config),
           "lot_step_coins": lot or DEFAULT_LOT_STEP,
           "liquidate": False, "trade_on_close": bool(on_close), "exclusive_orders": False,
           "hedging": False}
    for name in _ENGINE_RULES_OFF:
        if name in out:
            out[name] = 0.0
    return out


def strategy_slippage(source: str) -> int:
    """The Pine strategy's strategy(slippage=N) in ticks (0 if unset or it does not translate)."""
    return max(0, int(_properties(source).get("slippage", 0) or 0))


def mirror_slippage(ticks: int, config: BacktestConfig) -> float:
    """``ticks`` of slippage in price units: times the run's syminfo.mintick parameter (the
    Pine runtime's default tick when the run has none)."""
    from core.pine.runtime import DEFAULT_MINTICK

    if ticks <= 0:
        return 0.0
    return ticks * float(config.params.get(MINTICK_PARAM) or DEFAULT_MINTICK)


MAX_PLOTS = 32
MAX_PLOT_TITLE = 80


def read_plots(out_dir: Path, data: pd.DataFrame) -> pd.DataFrame:
    """The child's plot() series (columns = titles, one row per bar; NaN where na), checked:
    at most MAX_PLOTS numeric columns with short titles and one value per bar. Empty when the
    strategy plotted nothing. Raises SandboxError (result_rejected) for anything else."""
    path = out_dir / "plots.parquet"
    if not (path.exists() or path.is_symlink()):
        return pd.DataFrame(index=data.index)
    caps = child_files.Caps(max_rows=len(data), rows=len(data), max_columns=2 * MAX_PLOTS,
                            text_chars=MAX_PLOT_TITLE)
    frame = child_files.read_parquet(path, None, caps)  # footer checked before any data
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("__")]]
    if len(frame.columns) > MAX_PLOTS or len(frame) != len(data):
        raise _reject(f"plots must be at most {MAX_PLOTS} series of {len(data)} bars")
    if any(not isinstance(c, str) or len(c) > MAX_PLOT_TITLE for c in frame.columns):
        raise _reject("a plot title is not a short string")
    try:
        values = frame.to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        raise _reject("plot values are not numbers") from exc
    if np.isinf(values).any():
        raise _reject("plot values must be finite or na")
    return pd.DataFrame(values, index=data.index, columns=list(frame.columns))


def _reject(message: str) -> SandboxError:
    return SandboxError(f"Result rejected: {message}", status="result_rejected")


def plot_rows(run_id: int, plots: pd.DataFrame) -> pd.DataFrame:
    """Long rows (backtest_id, name, ts, value) of the defined plot values, for the store."""
    if plots.empty or not len(plots.columns):
        return pd.DataFrame(columns=["backtest_id", "name", "ts", "value"])
    long = plots.rename_axis("ts").reset_index().melt("ts", var_name="name", value_name="value")
    long = long.dropna(subset=["value"])
    long.insert(0, "backtest_id", run_id)
    return long.loc[:, ["backtest_id", "name", "ts", "value"]]
