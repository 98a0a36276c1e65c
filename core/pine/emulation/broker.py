"""Pine's broker emulator: orders, FIFO position accounting, commission and sizing (pine.md §2-3).

Owns the book (open trades, closed trades, net profit) and the pending orders. Fills are decided
by core.pine.fills one bar at a time; every fill the emulator makes is also returned so the
runtime can reproduce it as a real backtesting.py fill at the same price.
"""

from __future__ import annotations

import math as _math
from dataclasses import dataclass, field
from typing import Any

NA = float("nan")
QTY_EPS = 1e-9


def _isna(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not _math.isfinite(value))


@dataclass(slots=True)
class Order:
    """A pending entry/order/close; ``market`` when it has neither limit nor stop."""

    id: str
    kind: str  # "entry" | "order" | "close"
    side: int  # +1 buy, -1 sell
    qty: float  # nan: size at the fill (price orders with default sizing)
    limit: float = NA
    stop: float = NA
    oca_name: str = ""
    oca_type: str = "none"
    seq: int = 0
    triggered: bool = False
    reverse: float = 0.0  # an entry's reversal part: the opposite position when it was placed
    placed_by: str = ""  # the Pine call that placed it: "strategy.entry at Pine line 12"

    @property
    def market(self) -> bool:
        """True for a market order (no limit and no stop level)."""
        return _isna(self.limit) and _isna(self.stop)


@dataclass(slots=True)
class ExitOrder:
    """A strategy.exit bracket: levels absolute or in ticks from each entry's fill."""

    id: str
    from_entry: str
    qty: float = NA
    qty_percent: float = NA
    limit: float = NA
    stop: float = NA
    profit: float = NA
    loss: float = NA
    trail_price: float = NA
    trail_points: float = NA
    trail_offset: float = NA
    seq: int = 0
    legs: dict[int, dict[str, Any]] = field(default_factory=dict)
    placed_by: str = ""  # the Pine call that placed it: "strategy.exit at Pine line 14"


@dataclass(slots=True)
class Trade:
    """One entry fill (open or closed)."""

    uid: int
    entry_id: str
    side: int
    qty: float
    entry_price: float
    entry_bar: int
    entry_commission: float
    exit_price: float = NA
    exit_bar: int = -1
    exit_id: str = ""
    profit: float = 0.0


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: side (+1 buy/-1 sell), quantity (> 0), price, the order id, and the
    slippage already in ``price`` (signed price units: ``price - slip`` is the unslipped fill)."""

    side: int
    qty: float
    price: float
    tag: str
    slip: float = 0.0
    placed_by: str = ""  # the order's Pine call and line, for messages


@dataclass(slots=True)
class BrokerSettings:
    """strategy() arguments the emulator uses (commission_value in the commission's unit)."""

    initial_capital: float = 1_000_000.0
    default_qty_type: str = "fixed"
    default_qty_value: float = 1.0
    pyramiding: int = 0
    commission_type: str = "percent"
    commission_value: float = 0.0
    slippage: int = 0
    mintick: float = 0.01
    qty_step: float = 1e-8
    process_orders_on_close: bool = False


class Book:
    """Open trades (FIFO), closed trades and money; ``execute`` books one fill."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self.open: list[Trade] = []
        self.closed: list[Trade] = []
        self.netprofit = 0.0
        self.grossprofit = 0.0
        self.grossloss = 0.0
        self.uid = 0
        self.fills: list[Fill] = []
        self.close_price = NA

    @property
    def position(self) -> float:
        """Signed open quantity."""
        return sum(t.side * t.qty for t in self.open)

    @property
    def avg_price(self) -> float:
        """Quantity-weighted entry price of the open position (na when flat)."""
        qty = sum(t.qty for t in self.open)
        return sum(t.qty * t.entry_price for t in self.open) / qty if qty > QTY_EPS else NA

    def openprofit(self, price: float) -> float:
        """Unrealised profit at ``price`` without exit commission."""
        return sum(t.side * t.qty * (price - t.entry_price) for t in self.open)

    def equity(self, price: float) -> float:
        """initial capital + net profit + open profit at ``price``."""
        open_pl = self.openprofit(price) if self.open and not _isna(price) else 0.0
        return self.settings.initial_capital + self.netprofit + open_pl

    def commission(self, qty: float, price: float) -> float:
        """Commission of one fill by the strategy's commission type."""
        kind, value = self.settings.commission_type, self.settings.commission_value
        if kind == "cash_per_contract":
            return qty * value
        if kind == "cash_per_order":
            return value
        return qty * price * value / 100.0

    def execute(self, side: int, qty: float, price: float, tag: str, bar: int, *,
                slip: float = 0.0, placed_by: str = "") -> None:
        """Book a fill (``slip``: the slippage included in ``price``; ``placed_by``: its Pine
        call and line): close opposite trades FIFO, open the remainder as a new trade."""
        if qty <= QTY_EPS:
            return
        self.fills.append(Fill(side, qty, price, tag, slip, placed_by))
        fee_total = self.commission(qty, price)
        remaining = qty
        for trade in list(self.open):
            if trade.side == side or remaining <= QTY_EPS:
                continue
            take = min(trade.qty, remaining)
            self._close_part(trade, take, price, tag, bar, fee_total * take / qty)
            remaining -= take
        if remaining > QTY_EPS:
            self.uid += 1
            fee = fee_total * remaining / qty
            self.netprofit -= fee
            self.open.append(Trade(self.uid, tag, side, remaining, price, bar, fee))

    def _close_part(self, trade: Trade, qty: float, price: float, tag: str, bar: int,
                    exit_fee: float) -> None:
        share = qty / trade.qty
        entry_fee = trade.entry_commission * share
        gross = trade.side * qty * (price - trade.entry_price)
        closed = Trade(trade.uid, trade.entry_id, trade.side, qty, trade.entry_price,
                       trade.entry_bar, entry_fee, price, bar, tag, gross - entry_fee - exit_fee)
        self.closed.append(closed)
        self.netprofit += gross - exit_fee
        if closed.profit > 0:
            self.grossprofit += closed.profit
        else:
            self.grossloss -= closed.profit
        trade.qty -= qty
        trade.entry_commission -= entry_fee
        if trade.qty <= QTY_EPS:
            self.open.remove(trade)

    def default_qty(self, price: float) -> float:
        """Quantity for an order without qty, sized at ``price`` with current equity (R11),
        floored to the quantity step."""
        qty = self._raw_default_qty(price)
        step = self.settings.qty_step
        return _math.floor(qty / step + 1e-9) * step if step > 0 and _math.isfinite(qty) else qty

    def _raw_default_qty(self, price: float) -> float:
        kind, value = self.settings.default_qty_type, self.settings.default_qty_value
        if kind == "cash":
            return value / price
        if kind == "percent_of_equity":
            equity = self.equity(self.close_price)
            pct = self.settings.commission_value if self.settings.commission_type == "percent" \
                else 0.0
            return equity * value / 100.0 / (price * (1 + pct / 100.0))
        return value
