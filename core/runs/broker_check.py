"""Host-side verification of the crypto broker's trade split, and the margin series.

Owns what the parent recomputes from the bars, the funding rates it wrote into the job and the
run's broker settings, so that nothing the sandboxed child claims about fees, funding, slippage
or exit reasons is stored unchecked:

- every fee is one of the allowed rates (maker, taker, liquidation) times the fill's notional
  (a liquidation's fee may be less: it takes only what is left of the isolated margin);
- every trade's funding equals -size x sum(open x rate) over its funding bars (entry, exit];
- slippage is non-negative, bounded by the configured model, and PricePnL - Slippage equals
  size x (exit - entry); exit reasons come from the documented set.

It also derives, from verified trades, the per-bar margin used and distance to liquidation.
Pure (numpy/pandas); runs in the parent. Raises core.errors.SandboxError(result_rejected).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import SandboxError
from core.engine.risk import funding_by_bar, liquidation_price

SPLIT_SCHEMA = ("EntryFee", "Funding", "Slippage", "PricePnL")
EXIT_REASONS = frozenset({"signal", "stop_loss", "take_profit", "trailing_stop", "liquidation",
                          "risk_halt", "end_of_data"})
FEE_TOLERANCE = 1e-9  # relative to the fill's notional


def _reject(message: str) -> SandboxError:
    return SandboxError(f"Result rejected: {message}", status="result_rejected")


def funding_curve(data: pd.DataFrame, funding: pd.Series | None, *, perp: bool) -> np.ndarray:
    """C[b] = sum over bars k <= b of open_k x rate_k: funding per coin held, cumulated."""
    if not perp or funding is None or not len(funding):
        return np.zeros(len(data))
    rates = funding_by_bar(bar_times=data.index.to_numpy().astype("datetime64[ns]"),
                           funding_times=funding.index.to_numpy().astype("datetime64[ns]"),
                           rates=funding.to_numpy(dtype="float64"))
    return np.cumsum(data["Open"].to_numpy(dtype="float64") * rates)


def _fee_ok(fee: np.ndarray, notional: np.ndarray, rates: tuple[float, ...]) -> np.ndarray:
    tol = FEE_TOLERANCE * np.maximum(notional, 1.0)
    return np.logical_or.reduce([np.abs(fee - r * notional) <= tol for r in rates])


def check_split(trades: pd.DataFrame, data: pd.DataFrame, *, broker: dict[str, Any],
                curve: np.ndarray) -> None:
    """Verify the trade split columns (see module docstring); raise SandboxError on a mismatch."""
    for column in SPLIT_SCHEMA:
        values = trades[column].to_numpy(dtype="float64")
        if not np.isfinite(values).all():
            raise _reject(f"trades.{column} has non-finite values")
    bad_reason = ~trades["ExitReason"].isin(EXIT_REASONS)
    if bad_reason.any():
        raise _reject(f"unknown exit reason {trades['ExitReason'][bad_reason].iloc[0]!r}")
    size = np.abs(trades["Size"].to_numpy(dtype="float64"))
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    exit_ = trades["ExitPrice"].to_numpy(dtype="float64")
    _check_fees(trades, size * entry, size * exit_, broker)
    _check_funding(trades, curve)
    _check_slippage(trades, data, broker)


def _check_fees(trades: pd.DataFrame, entry_notional: np.ndarray, exit_notional: np.ndarray,
                broker: dict[str, Any]) -> None:
    maker, taker = float(broker["maker_fee_rate"]), float(broker["taker_fee_rate"])
    entry_fee = trades["EntryFee"].to_numpy(dtype="float64")
    exit_fee = trades["Commission"].to_numpy(dtype="float64") - entry_fee
    ok_in = _fee_ok(entry_fee, entry_notional, (maker, taker))
    liq_rate = float(broker.get("liquidation_fee_rate", 0.0))
    ok_out = _fee_ok(exit_fee, exit_notional, (maker, taker, liq_rate))
    # a liquidation's fee takes what is left of the isolated margin, up to the full rate
    tol = FEE_TOLERANCE * np.maximum(exit_notional, 1.0)
    ok_out |= trades["ExitReason"].eq("liquidation").to_numpy() & (exit_fee >= -tol) & (
        exit_fee <= liq_rate * exit_notional + tol)
    bad = ~(ok_in & ok_out)
    if bad.any():
        i = int(np.argmax(bad))
        raise _reject(f"trade {i + 1} fees ({entry_fee[i]:.8f} in, {exit_fee[i]:.8f} out) are "
                      "not the configured maker/taker/liquidation rates of its fills")


def _check_funding(trades: pd.DataFrame, curve: np.ndarray) -> None:
    size = trades["Size"].to_numpy(dtype="float64")
    entry_bar = trades["EntryBar"].to_numpy(dtype="int64")
    exit_bar = trades["ExitBar"].to_numpy(dtype="int64")
    expected = -size * (curve[exit_bar] - curve[entry_bar]) if len(curve) else np.zeros(len(size))
    claimed = trades["Funding"].to_numpy(dtype="float64")
    tol = 1e-9 * np.maximum(np.abs(size) * trades["EntryPrice"].to_numpy(dtype="float64"), 1.0)
    bad = np.abs(claimed - expected) > tol
    if bad.any():
        i = int(np.argmax(bad))
        raise _reject(f"trade {i + 1} funding {claimed[i]:.8f} does not match the funding rates "
                      f"({expected[i]:.8f})")


def _check_slippage(trades: pd.DataFrame, data: pd.DataFrame, broker: dict[str, Any]) -> None:
    size = trades["Size"].to_numpy(dtype="float64")
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    exit_ = trades["ExitPrice"].to_numpy(dtype="float64")
    slip = trades["Slippage"].to_numpy(dtype="float64")
    price_pnl = trades["PricePnL"].to_numpy(dtype="float64")
    span = (data["High"] - data["Low"]).to_numpy(dtype="float64")
    bars_in = trades["EntryBar"].to_numpy(dtype="int64")
    bars_out = trades["ExitBar"].to_numpy(dtype="int64")
    bps = float(broker.get("slippage_bps", 0.0)) / 10_000 * 1.01  # a fill may use the raw price
    frac = float(broker.get("slippage_range_frac", 0.0))
    mirror = 2 * float(broker.get("mirror_slippage", 0.0) or 0.0)  # at entry and at exit
    limit = np.abs(size) * (bps * (entry + exit_) + frac * (span[bars_in] + span[bars_out])
                            + mirror)
    tol = 1e-9 * np.maximum(np.abs(size) * entry, 1.0)
    bad = (slip < -tol) | (slip > limit + tol) | (np.abs(price_pnl - slip - size * (exit_ - entry))
                                                 > tol)
    if bad.any():
        i = int(np.argmax(bad))
        raise _reject(f"trade {i + 1} slippage {slip[i]:.8f} is negative, above the configured "
                      "model, or inconsistent with its fills")


def margin_series(trades: pd.DataFrame, data: pd.DataFrame, *, broker: dict[str, Any]
                  ) -> pd.DataFrame:
    """Per bar: position (coins), margin used (USDT) and distance to liquidation (fraction).

    Margin used = |position| x close / leverage. Distance = (close - liq) / close for longs,
    (liq - close) / close for shorts, NaN when flat or without liquidation (spot).
    A trade counts as held on bars EntryBar <= i < ExitBar.
    """
    n = len(data)
    size = trades["Size"].to_numpy(dtype="float64")
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    start = trades["EntryBar"].to_numpy(dtype="int64")
    stop = trades["ExitBar"].to_numpy(dtype="int64")
    held, cost = np.zeros(n + 1), np.zeros(n + 1)
    np.add.at(held, start, size)
    np.add.at(held, stop, -size)
    np.add.at(cost, start, size * entry)
    np.add.at(cost, stop, -size * entry)
    position = np.round(np.cumsum(held)[:n], 12)
    close = data["Close"].to_numpy(dtype="float64")
    leverage = 1.0 / float(broker.get("margin", 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(position != 0, np.cumsum(cost)[:n] / position, np.nan)
        distance = np.full(n, np.nan)
        if broker.get("perp"):
            mmr = float(broker.get("maintenance_margin_rate", 0.0))
            long_liq = liquidation_price(avg_entry=avg, long=True, leverage=leverage,
                                         maintenance_rate=mmr)
            short_liq = liquidation_price(avg_entry=avg, long=False, leverage=leverage,
                                          maintenance_rate=mmr)
            distance = np.where(position > 0, (close - long_liq) / close,
                                np.where(position < 0, (short_liq - close) / close, np.nan))
    return pd.DataFrame({"position_coins": position,
                         "margin_used_usdt": np.abs(position) * close / leverage,
                         "liq_distance": distance}, index=data.index)
