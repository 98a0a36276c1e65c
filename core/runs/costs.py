"""Exchange cost presets, configuration checks, and BacktestConfig -> engine settings.

Owns: maker/taker fee presets per exchange and market, tier-1 maintenance margin rates,
liquidation fees, the default constant funding rate, the allowed range of every broker setting
(checked once at the boundary, messages naming the field, the value and the range), and the
mapping of a BacktestConfig (+ the symbol's trading rules) to the sandbox job's settings.
Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.errors import ConfigError
from core.model import FILL_TIMINGS, BacktestConfig

DEFAULT_FUNDING_RATE_8H = 0.0001  # 0.01 % per 8 h, the usual Binance USDS-M baseline
FUNDING_HOURS_UTC = (0, 8, 16)
MAX_LEVERAGE = 125.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FeePreset:
    """Fee schedule of one exchange and market (fractions of notional), as of 2025, VIP 0."""

    maker_fee_rate: float
    taker_fee_rate: float
    liquidation_fee_rate: float = 0.0
    label: str = ""


PRESETS: dict[tuple[str, str], FeePreset] = {
    ("binance", "spot"): FeePreset(maker_fee_rate=0.001, taker_fee_rate=0.001,
                                   label="Binance spot, VIP 0: 0.10 % maker / 0.10 % taker"),
    ("binance", "perp"): FeePreset(maker_fee_rate=0.0002, taker_fee_rate=0.0005,
                                   liquidation_fee_rate=0.005,
                                   label="Binance USDS-M, VIP 0: 0.02 % maker / 0.05 % taker"),
}
PRESET_ALIASES = {"sample": "binance", "binanceusdm": "binance"}
# Binance USDS-M tier-1 maintenance margin rates; other symbols use DEFAULT_MAINTENANCE_RATE.
MAINTENANCE_TIER1 = {"BTCUSDT": 0.004, "ETHUSDT": 0.005}
DEFAULT_MAINTENANCE_RATE = 0.01

# field -> (low, high, low_inclusive): the allowed range of every numeric setting
RANGES: dict[str, tuple[float, float, bool]] = {
    "cash_usdt": (0.0, 1e12, False),
    "maker_fee_rate": (0.0, 0.1, True),
    "taker_fee_rate": (0.0, 0.1, True),
    "slippage_bps": (0.0, 1_000.0, True),
    "slippage_range_frac": (0.0, 1.0, True),
    "leverage": (1.0, MAX_LEVERAGE, True),
    "maintenance_margin_rate": (0.0, 0.5, True),
    "liquidation_fee_rate": (0.0, 0.1, True),
    "funding_rate_8h": (-0.03, 0.03, True),
    "stop_loss_pct": (0.0, 1.0, True),
    "take_profit_pct": (0.0, 100.0, True),
    "trailing_stop_pct": (0.0, 1.0, True),
    "max_position_pct": (0.0, MAX_LEVERAGE, True),
    "max_drawdown_halt": (0.0, 1.0, True),
    "max_daily_loss": (0.0, 1.0, True),
}


def preset(exchange: str, market: str) -> FeePreset:
    """The fee preset of ``exchange``/``market`` ("sample" uses Binance's); Binance's if unknown."""
    name = PRESET_ALIASES.get(exchange.lower(), exchange.lower())
    return PRESETS.get((name, market)) or PRESETS[("binance", market if market == "perp"
                                                   else "spot")]


def maintenance_rate(symbol: str) -> float:
    """Tier-1 maintenance margin rate of ``symbol`` (fraction of notional)."""
    return MAINTENANCE_TIER1.get(symbol.upper(), DEFAULT_MAINTENANCE_RATE)


def with_presets(config: BacktestConfig) -> BacktestConfig:
    """``config`` with unset fees, maintenance and liquidation rates taken from the presets."""
    p = preset(config.exchange, config.market)
    costs = dataclasses.replace(
        config.costs,
        maker_fee_rate=p.maker_fee_rate if config.costs.maker_fee_rate is None
        else config.costs.maker_fee_rate,
        taker_fee_rate=p.taker_fee_rate if config.costs.taker_fee_rate is None
        else config.costs.taker_fee_rate)
    margin = config.margin
    if config.market == "perp":
        margin = dataclasses.replace(
            margin, maintenance_margin_rate=maintenance_rate(config.symbol)
            if margin.maintenance_margin_rate is None else margin.maintenance_margin_rate,
            liquidation_fee_rate=p.liquidation_fee_rate if margin.liquidation_fee_rate is None
            else margin.liquidation_fee_rate)
    return dataclasses.replace(config, costs=costs, margin=margin)


def _values(config: BacktestConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"cash_usdt": config.cash_usdt}
    for block in (config.costs, config.margin, config.risk):
        out.update(dataclasses.asdict(block))
    return out


def check_config(config: BacktestConfig, *, names: dict[str, str] | None = None) -> None:
    """Raise ConfigError for the first setting outside its range.

    ``names`` maps field names to what the user typed them as (CLI flags, form labels).
    """
    label = (names or {}).get
    for key, value in _values(config).items():
        if key not in RANGES or value is None:
            continue
        low, high, inclusive = RANGES[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and (
            (low <= value if inclusive else low < value) and value <= high)
        if not ok:
            bound = "from" if inclusive else "above"
            raise ConfigError(f"{label(key, key)} {value!r} is out of range: allowed {bound} "
                              f"{low:g} to {high:g}.")
    if config.costs.fill_timing not in FILL_TIMINGS:
        raise ConfigError(f"{label('fill_timing', 'fill_timing')} {config.costs.fill_timing!r} "
                          f"is not one of {', '.join(FILL_TIMINGS)}.")
    if config.market not in ("spot", "perp"):
        raise ConfigError(f"{label('market', 'market')} {config.market!r} is not spot or perp.")
    if config.market == "perp" and not config.finalize_trades:
        raise ConfigError(f"{label('finalize_trades', 'finalize_trades')} false (leave trades open "
                          "at the end, backtesting.py semantics) needs market spot; perpetuals "
                          "always close open trades on the last bar.")
    if config.market == "spot" and config.margin.leverage != 1:
        raise ConfigError(f"{label('leverage', 'leverage')} {config.margin.leverage:g} needs "
                          "market perp: spot trades at 1x.")


def constant_funding(*, index: pd.DatetimeIndex, rate_8h: float) -> pd.Series:
    """A constant rate at every 00/08/16 UTC funding time inside ``index``'s span."""
    if len(index) == 0:
        return pd.Series(dtype="float64", name="rate")
    times = pd.date_range(index[0].floor("8h"), index[-1], freq="8h")
    times = times[(times.hour.isin(FUNDING_HOURS_UTC)) & (times >= index[0])]
    return pd.Series(rate_8h, index=times, dtype="float64", name="rate")


def engine_settings(config: BacktestConfig, *, lot_step_coins: float,
                    min_notional_usdt: float) -> dict[str, Any]:
    """The sandbox job's "settings" (core.engine.broker.EngineSettings fields) for ``config``.

    lot_step_coins / min_notional_usdt: the symbol's trading rules (used when fractional).
    """
    maker, taker = config.fee_rates
    c, m, r = config.costs, config.margin, config.risk
    perp = config.market == "perp"
    mmr = maintenance_rate(config.symbol) if m.maintenance_margin_rate is None \
        else m.maintenance_margin_rate
    liq_fee = preset(config.exchange, "perp").liquidation_fee_rate \
        if m.liquidation_fee_rate is None else m.liquidation_fee_rate
    return {
        "cash_usdt": float(config.cash_usdt), "commission": float(config.commission),
        "maker_fee_rate": maker, "taker_fee_rate": taker,
        "slippage_bps": float(c.slippage_bps), "slippage_range_frac": float(c.slippage_range_frac),
        "trade_on_close": c.fill_timing == "this_close",
        "margin": 1.0 / float(m.leverage) if perp else 1.0,
        "lot_step_coins": float(lot_step_coins) if config.fractional else 0.0,
        "min_notional_usdt": float(min_notional_usdt) if config.fractional else 0.0,
        "allow_short": perp or bool(m.spot_margin), "perp": perp,
        "finalize_trades": bool(config.finalize_trades),
        "maintenance_margin_rate": float(mmr) if perp else 0.0,
        "liquidation_fee_rate": float(liq_fee) if perp else 0.0,
        **{k: float(v) for k, v in dataclasses.asdict(r).items()},
    }
