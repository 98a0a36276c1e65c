"""The ``strategy`` namespace of translated Pine: order calls and strategy.* variables.

Calls are forwarded to core.pine.emulation.emulator.Emulator with Pine's argument names.
"""

from __future__ import annotations

from typing import Any

from core.pine.emulation.broker import NA, ExitOrder, Order, _isna
from core.pine.emulation.emulator import Emulator


def _num(value: Any) -> float:
    return NA if value is None or _isna(value) else float(value)


def _side(direction: Any) -> int:
    if direction in ("long", 1, True):
        return 1
    if direction in ("short", -1, False):
        return -1
    raise ValueError(f"unknown direction {direction!r}: use strategy.long or strategy.short")


class _Constants:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class Risk:
    """strategy.risk.* rules (R14)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def allow_entry_in(self, value: str) -> None:
        """Only entries in ``value`` ('all', 'long', 'short'); others only close."""
        self.emulator.allow = value

    def max_intraday_filled_orders(self, count: Any) -> None:
        """Halt for the day after ``count`` fills (close the position, cancel orders)."""
        self.emulator.max_fills_day = int(count)

    def max_intraday_loss(self, value: Any, type: str = "percent_of_equity") -> None:  # noqa: A002
        """Halt for the day once the intraday loss exceeds ``value`` (cash or % of equity)."""
        self.emulator.max_loss_day = (float(value), type)

    def max_drawdown(self, value: Any, type: str = "percent_of_equity") -> None:  # noqa: A002
        """Stop for good once equity falls ``value`` (cash, or % of peak equity) below its peak:
        cancel orders, close the position at the next open, place no more orders."""
        self.emulator.max_drawdown = (float(value), type)

    def max_position_size(self, contracts: Any) -> None:
        """Reduce entries so the position never exceeds ``contracts``; skip them if nothing fits."""
        self.emulator.max_position = float(contracts)

    def max_cons_loss_days(self, count: Any) -> None:
        """Accepted; not enforced (listed in DIFFERENCES.md)."""


class PineStrategyNamespace:
    """What a script sees as ``strategy``."""

    long = "long"
    short = "short"
    fixed = "fixed"
    cash = "cash"
    percent_of_equity = "percent_of_equity"
    direction = _Constants(all="all", long="long", short="short")
    oca = _Constants(none="none", cancel="cancel", reduce="reduce")

    def __init__(self, emulator: Emulator, initial_capital: float) -> None:
        self.emulator = emulator
        self.risk = Risk(emulator)
        self.initial_capital = initial_capital
        self._line = 0

    def at(self, line: int) -> PineStrategyNamespace:
        """The namespace for the order call on Pine line ``line`` (translated code calls
        ``strategy.at(12).entry(...)``), so a refusal can name the line that placed it."""
        self._line = int(line)
        return self

    def _placed(self, call: str) -> str:
        line, self._line = self._line, 0
        return f"strategy.{call} at Pine line {line}" if line else f"strategy.{call}"

    def entry(self, id: str, direction: Any, qty: Any = None, limit: Any = None,  # noqa: A002
              stop: Any = None, oca_name: str = "", oca_type: str = "none") -> None:
        """Enter (or reverse into) a position in ``direction``."""
        self.emulator.place(Order(id, "entry", _side(direction), _num(qty), _num(limit),
                                  _num(stop), oca_name or "", oca_type or "none",
                                  placed_by=self._placed("entry")))

    def order(self, id: str, direction: Any, qty: Any = None, limit: Any = None,  # noqa: A002
              stop: Any = None, oca_name: str = "", oca_type: str = "none") -> None:
        """A raw buy or sell of ``qty`` (no reversal, no pyramiding rule)."""
        self.emulator.place(Order(id, "order", _side(direction), _num(qty), _num(limit),
                                  _num(stop), oca_name or "", oca_type or "none",
                                  placed_by=self._placed("order")))

    def close(self, id: str, qty: Any = None, qty_percent: Any = None,  # noqa: A002
              immediately: bool = False) -> None:
        """Market exit of the open quantity of entry ``id``."""
        placed_by = self._placed("close")
        book = self.emulator.book
        trades = [t for t in book.open if t.entry_id == id]
        if not trades:
            return
        amount = sum(t.qty for t in trades)
        if not _isna(_num(qty)):
            amount = min(amount, float(qty))
        elif not _isna(_num(qty_percent)):
            amount = amount * float(qty_percent) / 100.0
        self.emulator.place(Order(id, "close", -trades[0].side, amount, placed_by=placed_by))

    def close_all(self, immediately: bool = False) -> None:
        """Market exit of the whole position."""
        placed_by = self._placed("close_all")
        position = self.emulator.book.position
        if position:
            self.emulator.place(Order("close all", "order", -1 if position > 0 else 1,
                                      abs(position), placed_by=placed_by))

    def exit(self, id: str, from_entry: str = "", qty: Any = None,  # noqa: A002, PLR0913
             qty_percent: Any = None, profit: Any = None, limit: Any = None, loss: Any = None,
             stop: Any = None, trail_price: Any = None, trail_points: Any = None,
             trail_offset: Any = None) -> None:
        """A take-profit / stop-loss / trailing-stop bracket for entry ``from_entry`` (or all)."""
        placed_by = self._placed("exit")
        levels = (_num(profit), _num(limit), _num(loss), _num(stop), _num(trail_price),
                  _num(trail_points))
        if all(_isna(v) for v in levels):
            return
        self.emulator.place_exit(ExitOrder(id, from_entry or "", _num(qty), _num(qty_percent),
                                           _num(limit), _num(stop), _num(profit), _num(loss),
                                           _num(trail_price), _num(trail_points),
                                           _num(trail_offset), placed_by=placed_by))

    def cancel(self, id: str) -> None:  # noqa: A002
        """Remove the unfilled order or exit ``id``."""
        self.emulator.cancel(id)

    def cancel_all(self) -> None:
        """Remove every unfilled order."""
        self.emulator.cancel_all()

    def trade_field(self, book: str, field: str, index: Any) -> Any:
        """strategy.closedtrades.<field>(index) / strategy.opentrades.<field>(index)."""
        trades = self.emulator.book.closed if book == "closedtrades" else self.emulator.book.open
        k = int(index)
        if not 0 <= k < len(trades):
            return NA
        trade = trades[k]
        values = {"entry_price": trade.entry_price, "exit_price": trade.exit_price,
                  "entry_bar_index": trade.entry_bar, "exit_bar_index": trade.exit_bar,
                  "size": trade.side * trade.qty, "entry_id": trade.entry_id,
                  "exit_id": trade.exit_id, "commission": trade.entry_commission}
        if field == "profit":
            price = self.emulator.book.close_price
            return trade.profit if book == "closedtrades" else \
                trade.side * trade.qty * (price - trade.entry_price)
        return values[field]

    @property
    def position_size(self) -> float:
        """Signed open quantity."""
        return self.emulator.book.position

    @property
    def position_avg_price(self) -> float:
        """Average entry price of the open position (na when flat)."""
        return self.emulator.book.avg_price

    @property
    def position_entry_name(self) -> str:
        """Entry id of the oldest open trade ('' when flat)."""
        return self.emulator.book.open[0].entry_id if self.emulator.book.open else ""

    @property
    def netprofit(self) -> float:
        """Realised profit after commissions."""
        return self.emulator.book.netprofit

    @property
    def openprofit(self) -> float:
        """Unrealised profit at the current close."""
        book = self.emulator.book
        return book.openprofit(book.close_price)

    @property
    def equity(self) -> float:
        """initial capital + net profit + open profit."""
        book = self.emulator.book
        return book.equity(book.close_price)

    @property
    def grossprofit(self) -> float:
        """Sum of winning closed trades' profit."""
        return self.emulator.book.grossprofit

    @property
    def grossloss(self) -> float:
        """Sum of losing closed trades' loss (positive)."""
        return self.emulator.book.grossloss

    @property
    def closedtrades(self) -> int:
        """Number of closed trades."""
        return len(self.emulator.book.closed)

    @property
    def opentrades(self) -> int:
        """Number of open trades."""
        return len(self.emulator.book.open)

    @property
    def wintrades(self) -> int:
        """Closed trades with profit > 0."""
        return sum(1 for t in self.emulator.book.closed if t.profit > 0)

    @property
    def losstrades(self) -> int:
        """Closed trades with profit < 0."""
        return sum(1 for t in self.emulator.book.closed if t.profit < 0)

    @property
    def eventrades(self) -> int:
        """Closed trades with profit == 0."""
        return sum(1 for t in self.emulator.book.closed if t.profit == 0)
