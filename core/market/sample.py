"""Deterministic synthetic crypto OHLCV ("synthetic sample data") for offline first start.

Hourly bars, 24/7 UTC, 2022-01-01 00:00 to 2024-12-31 23:00 (26,304 bars per symbol), with
volatility clustering (GARCH(1,1)), fat tails (Student-t innovations), Markov regimes (bull,
bear, range), OHLC-consistent intrabar ranges and volume that rises with absolute returns.

Each spot symbol has a perpetual twin (market "perp"): the spot bars times (1 + basis), where
the basis follows a synthetic 8-hourly funding-rate history (00:00, 08:00, 16:00 UTC) built like
Binance's: funding = premium + clamp(0.01% - premium, -0.05%, +0.05%), so it sits at 0.01% most
of the time, rises in euphoric regimes and turns negative in fearful ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SAMPLE_EXCHANGE = "sample"
SAMPLE_LABEL = "synthetic sample data"
SAMPLE_START = "2022-01-01 00:00"
SAMPLE_END = "2024-12-31 23:00"


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleSpec:
    """How one synthetic symbol is drawn."""

    symbol: str
    seed: int
    start_price: float
    base_vol_hourly: float
    volume_base: float
    tick_size: float
    lot_step: float

    @property
    def price_decimals(self) -> int:
        """Decimals of the tick size (0.1 -> 1)."""
        return max(0, len(f"{self.tick_size:.10f}".rstrip("0").split(".")[1]))


SAMPLE_SPECS = (
    SampleSpec(symbol="BTCUSDT", seed=20220109, start_price=46_000.0, base_vol_hourly=0.0065,
               volume_base=900.0, tick_size=0.1, lot_step=0.00001),
    SampleSpec(symbol="ETHUSDT", seed=20220113, start_price=3_700.0, base_vol_hourly=0.0085,
               volume_base=9_000.0, tick_size=0.01, lot_step=0.0001),
)

# Regimes: drift per hour; rows of the transition matrix sum to 1 (mean stay ~ 3-6 weeks).
_REGIME_DRIFT = np.array([0.00012, -0.00011, 0.0])
_REGIME_VOL = np.array([1.0, 1.25, 0.75])
_TRANSITION = np.array([
    [0.9990, 0.0004, 0.0006],
    [0.0005, 0.9988, 0.0007],
    [0.0006, 0.0006, 0.9988],
])


def _markov_states(rng: np.random.Generator, n: int, transition: np.ndarray,
                   start: int) -> np.ndarray:
    """n states of a Markov chain with this row-stochastic transition matrix."""
    draws = rng.random(n)
    cum = np.cumsum(transition, axis=1)
    last = len(transition) - 1
    out = np.empty(n, dtype=np.int64)
    state = start
    for i in range(n):
        state = min(int(np.searchsorted(cum[state], draws[i])), last)
        out[i] = state
    return out


def _regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    return _markov_states(rng, n, _TRANSITION, start=2)


def _garch_returns(rng: np.random.Generator, n: int, base_vol: float) -> np.ndarray:
    """GARCH(1,1) with unit-variance Student-t(4) shocks; long-run vol = base_vol."""
    omega, alpha, beta = 0.05, 0.08, 0.87
    shocks = rng.standard_t(4, size=n) / np.sqrt(2.0)  # var of t(4) is 2
    var = np.empty(n)
    ret = np.empty(n)
    v = 1.0
    for i in range(n):
        var[i] = v
        ret[i] = np.sqrt(v) * shocks[i]
        v = omega + alpha * ret[i] ** 2 + beta * v
    return ret * base_vol


def generate_symbol(spec: SampleSpec) -> pd.DataFrame:
    """One symbol's hourly bars: columns ts (UTC, naive), open, high, low, close, volume."""
    index = pd.date_range(SAMPLE_START, SAMPLE_END, freq="1h")
    n = len(index)
    rng = np.random.default_rng(spec.seed)
    regime = _regimes(rng, n)
    log_ret = _garch_returns(rng, n, spec.base_vol_hourly) * _REGIME_VOL[regime]
    log_ret += _REGIME_DRIFT[regime]
    close = spec.start_price * np.exp(np.cumsum(log_ret))
    open_ = np.concatenate(([spec.start_price], close[:-1]))
    bar_vol = np.abs(log_ret) + spec.base_vol_hourly * 0.35
    up = np.abs(rng.normal(0.0, 1.0, n)) * bar_vol * 0.6
    down = np.abs(rng.normal(0.0, 1.0, n)) * bar_vol * 0.6
    high = np.maximum(open_, close) * np.exp(up)
    low = np.minimum(open_, close) * np.exp(-down)
    hour = index.hour.to_numpy()
    session = 1.0 + 0.35 * np.sin((hour - 8) / 24 * 2 * np.pi)  # busier in EU/US hours
    volume = spec.volume_base * session * np.exp(rng.normal(0, 0.35, n)) * (
        1.0 + 60.0 * np.abs(log_ret))
    frame = pd.DataFrame({
        "ts": index,
        "open": np.round(open_, spec.price_decimals),
        "high": np.round(high, spec.price_decimals),
        "low": np.round(low, spec.price_decimals),
        "close": np.round(close, spec.price_decimals),
        "volume": np.round(volume, 3),
    })
    # Rounding may break OHLC order by one tick; restore it.
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return frame


FUNDING_INTERVAL = "8h"
FUNDING_BASE_RATE = 0.0001  # Binance's interest component: 0.01% per 8 hours
FUNDING_CLAMP = 0.0005
FUNDING_CAP = 0.003
# Funding regimes (per 8h): calm, euphoric, fearful. Premium mean and sd as fractions.
_FUNDING_PREMIUM_MEAN = np.array([0.00005, 0.0009, -0.0007])
_FUNDING_PREMIUM_SD = np.array([0.00025, 0.0004, 0.00035])
_FUNDING_TRANSITION = np.array([
    [0.970, 0.020, 0.010],
    [0.060, 0.940, 0.000],
    [0.080, 0.000, 0.920],
])


def _funding_regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    return _markov_states(rng, n, _FUNDING_TRANSITION, start=0)


def _funding_premium(spec: SampleSpec) -> pd.Series:
    """The 8-hourly premium index (perp over spot, a fraction) indexed by funding time."""
    index = pd.date_range(SAMPLE_START, SAMPLE_END, freq=FUNDING_INTERVAL)
    rng = np.random.default_rng(spec.seed + 8)
    regime = _funding_regimes(rng, len(index))
    noise = rng.normal(0.0, 1.0, len(index))
    smooth = np.empty(len(index))
    level = 0.0
    for i, z in enumerate(noise):  # AR(1) so the premium drifts instead of jumping
        level = 0.6 * level + 0.8 * z
        smooth[i] = level
    premium = _FUNDING_PREMIUM_MEAN[regime] + _FUNDING_PREMIUM_SD[regime] * smooth
    return pd.Series(premium, index=index)


def generate_funding(spec: SampleSpec) -> pd.DataFrame:
    """Synthetic 8-hourly funding of ``spec``'s perp: columns ts (naive UTC), rate (fraction).

    rate 0.0001 means longs pay shorts 0.01% of position notional at that time.
    """
    premium = _funding_premium(spec)
    clamp = np.clip(FUNDING_BASE_RATE - premium.to_numpy(), -FUNDING_CLAMP, FUNDING_CLAMP)
    rate = np.clip(premium.to_numpy() + clamp, -FUNDING_CAP, FUNDING_CAP)
    return pd.DataFrame({"ts": premium.index, "rate": np.round(rate, 8)})


def generate_perp(spec: SampleSpec, spot: pd.DataFrame | None = None) -> pd.DataFrame:
    """The perpetual twin's hourly bars: spot x (1 + basis), basis following the premium.

    ``spot`` is generate_symbol(spec) when the caller already has it. Same columns as spot;
    volume is about 2.5x spot (perps trade more).
    """
    spot = generate_symbol(spec) if spot is None else spot
    hourly = pd.DatetimeIndex(spot["ts"])
    premium = _funding_premium(spec).reindex(hourly, method="ffill").to_numpy()
    rng = np.random.default_rng(spec.seed + 9)
    basis = premium + rng.normal(0.0, 0.00015, len(hourly))
    factor = 1.0 + basis
    frame = spot.copy()
    for col in ("open", "high", "low", "close"):
        frame[col] = np.round(spot[col].to_numpy() * factor, spec.price_decimals)
    frame.loc[1:, "open"] = frame["close"].to_numpy()[:-1]  # a perp bar opens at its last close
    frame["volume"] = np.round(spot["volume"].to_numpy() * 2.5 * np.exp(
        rng.normal(0.0, 0.15, len(hourly))), 3)
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return frame
