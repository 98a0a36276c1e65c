"""Pine's order rules on top of core.pine.emulation.broker.Book: placement (R2, R4-R10) and the
per-bar fill walk (open, gaps, intrabar path, trailing stops; pine.md §3).

``process_bar`` decides every fill of one bar from its OHLC and the orders pending after the
previous bar's script, books them, and returns them in execution order.
"""

from __future__ import annotations

import math as _math
from typing import Any

from core.pine.emulation.broker import (NA, QTY_EPS, Book, BrokerSettings, ExitOrder, Fill, Order,
                                        _isna)

MS_PER_DAY = 86_400_000


def to_tick(price: float, side: int, tick: float) -> float:
    """``price`` on the tick grid, rounded against the order (pine.md R3): a buy's level up, a
    sell's level down. A price within 1e-6 tick of the grid counts as on it (so that
    ``high + mintick`` = 1.0968900000000001 stays 1.09689)."""
    if _isna(price) or tick <= 0:
        return price
    ticks = price / tick
    nearest = round(ticks)
    if abs(ticks - nearest) < 1e-6:
        ticks = nearest
    else:
        ticks = _math.ceil(ticks) if side > 0 else _math.floor(ticks)
    digits = max(0, -_math.floor(_math.log10(tick)) + 2)
    return round(ticks * tick, digits)


class Emulator:
    """Pending orders, exits and risk rules of one strategy run."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self.book = Book(settings)
        self.pending: dict[str, Order] = {}
        self.exits: dict[str, ExitOrder] = {}
        self.seq = 0
        self.bar = -1
        self.allow = "all"
        self.max_fills_day = 0
        self.max_loss_day: tuple[float, str] | None = None
        self.max_drawdown: tuple[float, str] | None = None
        self.max_position = 0.0
        self.peak_equity = settings.initial_capital
        self.stopped = False  # max_drawdown fired: no more orders for the rest of the run
        self.day = -1
        self.day_fills = 0
        self.day_equity = settings.initial_capital
        self.halted = False
        self.range = (NA, NA)

    @property
    def has_risk_rules(self) -> bool:
        """True when a daily risk rule needs every bar to be processed."""
        return bool(self.max_fills_day) or self.max_loss_day is not None \
            or self.max_drawdown is not None

    # ----- placement -----
    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _open_count(self, side: int) -> int:
        return sum(1 for t in self.book.open if t.side == side)

    def place(self, order: Order) -> None:
        """Add or modify (same id) a pending entry/order/close, applying R4 pyramiding."""
        if self.halted:
            return
        if order.kind == "entry":
            if self.allow != "all" and order.side != (1 if self.allow == "long" else -1):
                if self.book.position * order.side < 0:
                    self.place(Order("close all", "order", order.side, abs(self.book.position),
                                     placed_by=order.placed_by))
                return
            if self._open_count(order.side) >= max(self.settings.pyramiding, 1):
                return
            # R4: an entry against the position also closes it; TradingView fixes that part of
            # the order's size when the order is placed, not when it fills
            position = self.book.position
            order.reverse = abs(position) if position * order.side < 0 else 0.0
        tick = self.settings.mintick
        order.limit = to_tick(order.limit, order.side, tick)
        order.stop = to_tick(order.stop, order.side, tick)
        if order.market and _isna(order.qty):
            order.qty = self.book.default_qty(self.book.close_price)
        old = self.pending.get(order.id)
        order.seq = old.seq if old is not None else self._next_seq()
        self.pending[order.id] = order

    def place_exit(self, exit_order: ExitOrder) -> None:
        """Add or update a strategy.exit bracket (keeps the state of its legs)."""
        if self.halted:
            return
        old = self.exits.get(exit_order.id)
        if old is not None:
            exit_order.legs = old.legs
            exit_order.seq = old.seq
        else:
            exit_order.seq = self._next_seq()
        self.exits[exit_order.id] = exit_order

    def cancel(self, order_id: str) -> None:
        """Remove an unfilled entry, order or exit with this id."""
        self.pending.pop(order_id, None)
        self.exits.pop(order_id, None)

    def cancel_all(self) -> None:
        """Remove every unfilled order and exit."""
        self.pending.clear()
        self.exits.clear()

    # ----- one bar -----
    def process_bar(self, index: int, time_ms: float, o: float, h: float, low: float,
                    c: float) -> list[Fill]:
        """All fills of bar ``index``: market orders at the open, then the price path."""
        self.bar = index
        self.range = (low, h)
        self.book.fills = []
        self._roll_day(time_ms)
        if not self.pending and not self.exits:
            self.book.close_price = c
            if self.has_risk_rules:
                self._check_risk(c)
            return self.book.fills
        self._market_orders(o, h, low)
        path = (o, h, low, c) if h - o < o - low else (o, low, h, c)
        self._touch_trails(o)
        self._scan(o, o, gap=True)
        for a, b in zip(path, path[1:], strict=False):  # consecutive pairs
            self._scan(a, b, gap=False)
            self._touch_trails(b)
        self.book.close_price = c
        self._check_risk(c)
        return self.book.fills

    def fill_market_at_close(self, index: int, c: float, h: float, low: float) -> list[Fill]:
        """process_orders_on_close: fill the pending market orders at bar ``index``'s close."""
        self.bar = index
        self.range = (low, h)
        self.book.fills = []
        self._market_orders(c, h, low)
        return self.book.fills

    def _market_orders(self, o: float, h: float, low: float) -> None:
        for order in sorted((x for x in self.pending.values() if x.market), key=lambda x: x.seq):
            if self.pending.get(order.id) is not order:
                continue  # cancelled by an OCA group while this loop ran
            del self.pending[order.id]
            self._fill_order(order, o, slip=self._slip(order.side))

    def _fill_order(self, order: Order, price: float, *, slip: float = 0.0) -> None:
        """Fill ``order`` at ``price`` plus ``slip`` (R13's slippage, signed price units)."""
        book = self.book
        qty = order.qty if not _isna(order.qty) else book.default_qty(price)
        if order.kind == "close":
            qty = min(qty, sum(t.qty for t in book.open if t.entry_id == order.id or not order.id))
        elif order.kind == "entry":
            position = book.position
            if position * order.side > 0 and \
                    self._open_count(order.side) >= max(self.settings.pyramiding, 1):
                return
            qty = self._capped(qty, position, order.side) + order.reverse
        if qty <= QTY_EPS:
            return
        book.execute(order.side, qty, price + slip, order.id, self.bar, slip=slip,
                     placed_by=order.placed_by)
        self.day_fills += 1
        self._after_fill(order, qty)

    def _capped(self, qty: float, position: float, side: int) -> float:
        """strategy.risk.max_position_size: the entry quantity reduced so the resulting
        position stays within the cap (0 when even the smallest quantity would exceed it)."""
        cap = self.max_position
        if not cap:
            return qty
        held = abs(position) if position * side > 0 else 0.0
        room = max(0.0, cap - held)
        return min(qty, room) if room > QTY_EPS else 0.0

    def _after_fill(self, order: Order, qty: float) -> None:
        if order.oca_name and order.oca_type in ("cancel", "reduce"):
            for other in list(self.pending.values()):
                if other.oca_name != order.oca_name or other.oca_type != order.oca_type:
                    continue
                if order.oca_type == "cancel":
                    del self.pending[other.id]
                elif not _isna(other.qty):
                    other.qty -= qty
                    if other.qty <= QTY_EPS:
                        del self.pending[other.id]
        if not self.book.open:
            self.exits.clear()

    # ----- the price path -----
    def _candidates(self) -> list[tuple[bool, float, int, int, Any]]:
        """(rises, level, priority, seq, action) for every resting level."""
        out: list[tuple[bool, float, int, int, Any]] = []
        for order in self.pending.values():
            if order.market:
                continue
            if not _isna(order.stop) and not order.triggered:
                out.append((order.side > 0, order.stop, 0, order.seq, ("stop", order)))
            elif not _isna(order.limit):
                out.append((order.side < 0, order.limit, 0, order.seq, ("limit", order)))
        for exit_order in self.exits.values():
            for trade in list(self.book.open):
                if exit_order.from_entry and trade.entry_id != exit_order.from_entry:
                    continue
                for rises, level, kind in self._exit_levels(exit_order, trade):
                    out.append((rises, level, 1, exit_order.seq,
                                ("exit", exit_order, trade, kind)))
        return out

    def _exit_levels(self, ex: ExitOrder, trade: Any) -> list[tuple[bool, float, str]]:
        """(reached while rising, level, "limit" | "stop") of each of a trade's exit levels."""
        leg = ex.legs.get(trade.uid)
        if leg is not None and leg.get("done"):
            return []
        tick, side, entry = self.settings.mintick, trade.side, trade.entry_price
        levels = []
        target = ex.limit if not _isna(ex.limit) else (
            entry + side * ex.profit * tick if not _isna(ex.profit) else NA)
        stop = ex.stop if not _isna(ex.stop) else (
            entry - side * ex.loss * tick if not _isna(ex.loss) else NA)
        # a long's target is a sell limit (reached while rising), its stops are sell stops; both
        # are sells for a long (rounded down to the tick) and buys for a short (rounded up)
        if not _isna(target):
            levels.append((side > 0, to_tick(target, -side, tick), "limit"))
        if not _isna(stop):
            levels.append((side < 0, to_tick(stop, -side, tick), "stop"))
        trail = self._trail_level(ex, trade)
        if not _isna(trail):
            levels.append((side < 0, trail, "stop"))
        return levels

    def _trail_level(self, ex: ExitOrder, trade: Any) -> float:
        """The trailing stop's level: ``trail_offset`` ticks behind the best price since it
        armed, on the tick grid against the exit (a long's sell stop down, a short's buy stop
        up, R3), or na while not armed."""
        if _isna(ex.trail_offset) or (_isna(ex.trail_price) and _isna(ex.trail_points)):
            return NA
        leg = ex.legs.setdefault(trade.uid, {"best": trade.entry_price})
        side, tick = trade.side, self.settings.mintick
        activation = ex.trail_price if not _isna(ex.trail_price) else \
            trade.entry_price + side * ex.trail_points * tick
        if side * (leg["best"] - activation) < 0:
            return NA
        return to_tick(leg["best"] - side * int(ex.trail_offset) * tick, -side, tick)

    def _touch_trails(self, price: float) -> None:
        for ex in self.exits.values():
            for uid, leg in ex.legs.items():
                trade = next((t for t in self.book.open if t.uid == uid), None)
                if trade is not None and "best" in leg:
                    leg["best"] = max(leg["best"], price) if trade.side > 0 else \
                        min(leg["best"], price)
        for ex in self.exits.values():
            for trade in self.book.open:
                if not (_isna(ex.trail_offset)) and trade.uid not in ex.legs:
                    ex.legs[trade.uid] = {"best": trade.entry_price}

    def _scan(self, a: float, b: float, *, gap: bool) -> None:
        for _ in range(1000):
            hits = []
            for rises, level, prio, seq, action in self._candidates():
                if gap and ((rises and level <= a) or (not rises and level >= a)):
                    hits.append((0.0, prio, seq, a, action))
                elif not gap and b >= a and rises and level <= b:
                    hits.append((max(level, a) - a, prio, seq, max(level, a), action))
                elif not gap and b < a and not rises and level >= b:
                    hits.append((a - min(level, a), prio, seq, min(level, a), action))
            if not hits:
                return
            _, _, _, price, action = min(hits, key=lambda x: x[:3])
            self._act(action, price)
            a = price

    def _act(self, action: tuple, price: float) -> None:
        if action[0] == "exit":
            _, ex, trade, kind = action
            slip = self._slip(-trade.side) if kind == "stop" else 0.0  # R13: stop exits too
            leg = ex.legs.setdefault(trade.uid, {})
            leg["done"] = True
            qty = trade.qty
            if not _isna(ex.qty):
                qty = min(qty, ex.qty)
            elif not _isna(ex.qty_percent):
                qty = trade.qty * ex.qty_percent / 100.0
            self.book.execute(-trade.side, qty, price + slip, ex.id, self.bar, slip=slip,
                              placed_by=ex.placed_by)
            self.day_fills += 1
            if not self.book.open:
                self.exits.clear()
            return
        _, order = action
        if action[0] == "stop" and not _isna(order.limit):
            order.triggered = True
            return
        self.pending.pop(order.id, None)
        self._fill_order(order, price, slip=self._slip(order.side) if action[0] == "stop" else 0.0)

    def _slip(self, side: int) -> float:
        """The price move of a market or stop fill of a ``side`` order: ``slippage`` ticks
        against it (R13), in full even where the fill lands outside the bar's range (as
        TradingView does; the mirrored engine order carries it, core.pine.runtime)."""
        return side * self.settings.slippage * self.settings.mintick

    # ----- risk rules (R14, simplified: checked at each bar's close) -----
    def _roll_day(self, time_ms: float) -> None:
        if not (self.max_fills_day or self.max_loss_day is not None):
            return
        day = int(time_ms // MS_PER_DAY) if not _isna(time_ms) else -1
        if day != self.day:
            self.day = day
            self.day_fills = 0
            self.day_equity = self.book.equity(self.book.close_price)
            self.halted = self.stopped

    def _check_risk(self, close: float) -> None:
        fired = self.max_fills_day and self.day_fills >= self.max_fills_day
        if self.max_loss_day is not None:
            value, kind = self.max_loss_day
            loss = self.day_equity - self.book.equity(close)
            limit = value if kind == "cash" else self.day_equity * value / 100.0
            fired = fired or loss > limit
        if self.max_drawdown is not None:
            equity = self.book.equity(close)
            self.peak_equity = max(self.peak_equity, equity)
            value, kind = self.max_drawdown
            limit = value if kind == "cash" else self.peak_equity * value / 100.0
            if self.peak_equity - equity > limit:
                fired = self.stopped = True
        if fired and not self.halted:
            self.cancel_all()
            position = self.book.position
            if abs(position) > QTY_EPS:
                self.pending["risk close"] = Order("risk close", "order", -1 if position > 0
                                                   else 1, abs(position), seq=self._next_seq())
            self.halted = True
