"""Coin quantities for core.engine.broker.CryptoBroker: order sizes, lot step, minimums.

Owns the meaning of an order's size: ``coins(x)`` is x coins floored to the lot step; a size
below 1 is a fraction of available margin (backtesting.py), bought in whole lots; 1 or more is
whole coins. An order below one lot or below the minimum notional is refused, never resized.
Also the per-trade accounting a new Trade carries (new_trade). Functions taking the broker (its
_lot, _settings, risk.halted, orders). Runs inside the sandbox child.
"""

from __future__ import annotations

import math
from math import copysign
from typing import TYPE_CHECKING

from backtesting.backtesting import Order, Trade

if TYPE_CHECKING:
    from core.engine.broker import CryptoBroker


def order_size(broker: CryptoBroker, order: Order, unit_cost: float) -> float:
    """Signed coins for a stand-alone order; 0 when nothing can be bought."""
    size = order.size
    lot = broker._lot
    if getattr(order, "_coins", False):
        units = math.floor(abs(size) / (lot or 1.0) + 1e-9)  # whole coins without a lot
        return copysign(round(units * lot, 12) if lot else float(units), size)
    if -1 < size < 1:
        budget = broker.margin_available * broker._leverage * abs(size)
        units = (budget / lot) // unit_cost if lot else budget // unit_cost
        return copysign(round(units * lot, 12) if lot else units, size)
    return size


def admissible(broker: CryptoBroker, order: Order, size: float, fill: float) -> str:
    """Why a stand-alone order of ``size`` coins at ``fill`` is refused ('' if it is not)."""
    s = broker._settings
    if broker.risk.halted:
        return "risk_halt"
    if size == 0:
        coins = getattr(order, "_coins", False)
        return "below_lot_step" if coins else "insufficient_margin"
    if broker._lot and abs(size) < broker._lot * (1 - 1e-9):
        return "below_lot_step"
    if s.min_notional_usdt and abs(size) * fill < s.min_notional_usdt:
        return "below_min_notional"
    if not s.allow_short and size < 0 and broker._position_size + size < -1e-12:
        return "short_not_allowed"
    return ""


def new_trade(broker: CryptoBroker, size: float, price: float, bar: int, tag: object, *,
              fee_rate: float, slip: float) -> Trade:
    """A backtesting.py Trade with PineOpt's per-trade accounting attached (it has no slots)."""
    trade = Trade(broker, size, price, bar, tag)
    trade._fee_rate_in = fee_rate  # rate paid on entry, re-applied to the closed size
    trade._slip_in = slip  # adverse price move per coin at entry (quote currency)
    trade._slip_out = 0.0
    trade._fee_out = 0.0
    trade._funding = 0.0  # received (+) or paid (-) while open, quote currency
    trade._reason = ""
    trade._sl_kind = "stop_loss"
    trade._dated_in = trade._dated_out = False  # fill dated to the previous bar's close
    trade._rule_sl = trade._rule_tp = False  # SL / TP set by a risk rule, not the strategy
    return trade


def close_portion(broker: CryptoBroker, trade: Trade, portion: float) -> None:
    """Trade.close for fractional sizes: ``portion`` of the trade, rounded to the lot step."""
    if not 0 < portion <= 1:
        raise ValueError(f"portion must be a fraction in (0, 1], got {portion!r}")
    units = math.floor(abs(trade.size) * portion / broker._lot + 1e-9)
    size = abs(trade.size) if portion == 1 else round(max(units, 1) * broker._lot, 12)
    broker.orders.insert(0, Order(broker, copysign(min(size, abs(trade.size)), -trade.size),
                                parent_trade=trade, tag=trade.tag))
