"""Coin quantities for core.engine.broker.CryptoBroker (a mixin): order sizes, lot step, minimums.

Owns the meaning of an order's size: ``coins(x)`` is x coins floored to the lot step; a size
below 1 is a fraction of available margin (backtesting.py), bought in whole lots; 1 or more is
whole coins. An order below one lot or below the minimum notional is refused, never resized.
Runs inside the sandbox child.
"""

from __future__ import annotations

import math
from math import copysign

from backtesting.backtesting import Order, Trade


class LotMixin:
    """Sizing rules; expects CryptoBroker's attributes (_lot, _settings, _halted, orders)."""

    def _order_size(self, order: Order, unit_cost: float) -> float:
        """Signed coins for a stand-alone order; 0 when nothing can be bought."""
        size = order.size
        lot = self._lot
        if getattr(order, "_coins", False):
            units = math.floor(abs(size) / (lot or 1.0) + 1e-9)  # whole coins without a lot
            return copysign(round(units * lot, 12) if lot else float(units), size)
        if -1 < size < 1:
            budget = self.margin_available * self._leverage * abs(size)
            units = (budget / lot) // unit_cost if lot else budget // unit_cost
            return copysign(round(units * lot, 12) if lot else units, size)
        return size

    def _admissible(self, order: Order, size: float, fill: float) -> str:
        """Why a stand-alone order of ``size`` coins at ``fill`` is refused ('' if it is not)."""
        s = self._settings
        if self._halted:
            return "risk_halt"
        if size == 0:
            coins = getattr(order, "_coins", False)
            return "below_lot_step" if coins else "insufficient_margin"
        if self._lot and abs(size) < self._lot * (1 - 1e-9):
            return "below_lot_step"
        if s.min_notional_usdt and abs(size) * fill < s.min_notional_usdt:
            return "below_min_notional"
        if not s.allow_short and size < 0 and self._position_size + size < -1e-12:
            return "short_not_allowed"
        return ""

    def _close_portion(self, trade: Trade, portion: float) -> None:
        """Trade.close for fractional sizes: ``portion`` of the trade, rounded to the lot step."""
        if not 0 < portion <= 1:
            raise ValueError(f"portion must be a fraction in (0, 1], got {portion!r}")
        units = math.floor(abs(trade.size) * portion / self._lot + 1e-9)
        size = abs(trade.size) if portion == 1 else round(max(units, 1) * self._lot, 12)
        self.orders.insert(0, Order(self, copysign(min(size, abs(trade.size)), -trade.size),
                                    parent_trade=trade, tag=trade.tag))
