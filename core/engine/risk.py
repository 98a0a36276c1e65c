"""Perpetual-futures mechanics and risk rules for core.engine.broker.CryptoBroker (its ``risk``).

Owns: funding payments, isolated-margin liquidation, trailing stops, max position size, the
max-drawdown halt and the max-daily-loss halt, plus the risk-event log. Formulas:

- Liquidation price of an isolated position with average entry E, leverage L and maintenance
  margin rate m (equity reaches maintenance margin): long E (1 - 1/L) / (1 - m),
  short E (1 + 1/L) / (1 + m). Funding paid while the position is open comes out of its
  isolated margin and moves that price closer (margin M = |q| E / L + funding received:
  long (E - M/|q|) / (1 - m), short (E + M/|q|) / (1 + m)). It triggers when the bar's adverse
  extreme reaches it and fills at it (at the open when the bar gapped through it), paying the
  liquidation fee instead of taker, out of what is left of the margin: a liquidation never
  loses more than the position's isolated margin (only a bar opening beyond the bankruptcy
  price, where the margin is gone, loses the gap on top). When equity after a liquidation is
  below BLOWN_FRACTION of the initial capital the account is blown: trading stops for good and
  an ``account_blown`` event says so; equity at or below 0 stops the run the same way.
- Funding at a funding time with rate r and mark price P (that bar's open): each open trade of
  signed size q receives -q P r (longs pay positive rates, shorts receive them). It is applied
  before the bar's orders fill, so a position must be held into the funding time to pay it.

Pure (numpy only; backtesting lazily); runs inside the sandbox child and, for the formulas,
in the parent.
"""

from __future__ import annotations

from math import copysign, floor
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from backtesting.backtesting import Trade

    from core.engine.broker import CryptoBroker

_Price = TypeVar("_Price", float, np.ndarray)  # one price, or one per bar (core.runs.broker_check)
BLOWN_FRACTION = 0.01  # equity below 1 % of the initial capital after a liquidation: blown


def liquidation_price(*, avg_entry: _Price, long: bool, leverage: float,
                      maintenance_rate: float) -> _Price:
    """Isolated-margin liquidation price (quote currency); 0 for an unleveraged long."""
    if long:
        return avg_entry * (1 - 1 / leverage) / (1 - maintenance_rate)
    return avg_entry * (1 + 1 / leverage) / (1 + maintenance_rate)


def funding_by_bar(*, bar_times: np.ndarray, funding_times: np.ndarray,
                   rates: np.ndarray) -> np.ndarray:
    """Funding rate due at each bar: every funding time lands on the first bar at or after it.

    Times are datetime64 arrays (sorted). Funding times after the last bar are dropped; several
    funding times in one bar add up.
    """
    out = np.zeros(len(bar_times), dtype="float64")
    if len(funding_times) == 0 or len(bar_times) == 0:
        return out
    first = bar_times[0]
    keep = funding_times > first  # at the first bar nothing is held yet
    where = np.searchsorted(bar_times, funding_times[keep], side="left")
    inside = where < len(bar_times)
    np.add.at(out, where[inside], rates[keep][inside])
    return out


class RiskBook:
    """Funding, liquidation and risk rules of one CryptoBroker ``b``, with their state."""

    def __init__(self, broker: CryptoBroker, *, funding_by_bar: np.ndarray | None,
                 day_by_bar: np.ndarray | None) -> None:
        self.b = broker
        s = broker._settings
        rates = funding_by_bar if s.perp and funding_by_bar is not None else np.zeros(0)
        self.funding_at = {int(i): float(rates[i]) for i in np.flatnonzero(rates)}
        self.liq: tuple[float, bool] | None = None
        self.liquidating = bool(s.perp and s.liquidate)
        self.risk_on = bool(s.trailing_stop_pct or s.max_drawdown_halt or s.max_daily_loss)
        self._day_starts = (set(np.flatnonzero(np.diff(day_by_bar, prepend=-1)).tolist())
                            if day_by_bar is not None else set())
        self.halted = False
        self._blown = False
        self._halted_day: int | None = None
        self._peak = float(self.b._cash)
        self._day: int | None = None  # first bar of the current UTC day
        self._day_start = float(self.b._cash)

    def event(self, i: int, rule: str, detail: str) -> None:
        """Log a risk event of bar ``i`` (the broker's ``events``)."""
        self.b.events.append((i, rule, detail))

    # -- funding ----------------------------------------------------------------------------
    def apply_funding(self, i: int) -> None:
        """Pay or receive bar ``i``'s funding on every open trade, at the bar's open."""
        rate = self.funding_at[i]
        mark = self.b._data._current_value("Open")
        total = 0.0
        for trade in self.b.trades:
            pay = -trade.size * mark * rate
            trade._funding += pay
            total += pay
        self.b._cash += total
        self.liq = None  # funding moved the isolated margin, hence the liquidation price

    def funding_catch_up(self, trade: Trade, time_index: int, *, opening: bool) -> None:
        """Keep funding on the (entry, exit] bar rule for fills dated to the previous bar
        (fill timing "this close"): charge a trade opened then, refund one closed then."""
        if time_index >= self.b._i or not self.funding_at:
            return
        rate = self.funding_at.get(self.b._i, 0.0)
        if rate:
            pay = -trade.size * self.b._data._current_value("Open") * rate
            pay = pay if opening else -pay
            trade._funding += pay
            self.b._cash += pay

    # -- liquidation ------------------------------------------------------------------------
    def _isolated_margin(self) -> float:
        """The open position's isolated margin: entry notional / leverage + funding received."""
        s = self.b._settings
        return sum(abs(t.size) * t.entry_price / s.leverage + t._funding for t in self.b.trades)

    def _liquidation_price(self) -> float:
        size = sum(t.size for t in self.b.trades)
        if not size:
            return 0.0
        avg = sum(t.size * t.entry_price for t in self.b.trades) / size
        s = self.b._settings
        funding = sum(t._funding for t in self.b.trades)
        if not funding:
            return liquidation_price(avg_entry=avg, long=size > 0, leverage=s.leverage,
                                     maintenance_rate=s.maintenance_margin_rate)
        per_coin = self._isolated_margin() / abs(size)
        m = s.maintenance_margin_rate
        return (avg - per_coin) / (1 - m) if size > 0 else (avg + per_coin) / (1 + m)

    def _liquidation_fill(self, liq: float, long: bool) -> float:
        """The liquidation price, or this bar's open when the bar opened beyond it."""
        open_ = self.b._data._current_value("Open")
        return min(liq, open_) if long else max(liq, open_)

    def beyond_liquidation(self, trade: Trade, fill: float) -> bool:
        """True when closing at ``fill`` would lose more than the position's isolated margin."""
        liq = self._liquidation_price()
        if trade.size > 0:
            return liq > 0 and fill < liq
        return fill > liq > 0

    def check_liquidation(self, i: int) -> None:
        """Liquidate when bar ``i``'s adverse extreme reaches the liquidation price."""
        if self.liq is None:  # cached until the trades change (see _trades_cache_clear)
            self.liq = (self._liquidation_price(), self.b._position_size > 0)
        liq, long = self.liq
        if liq <= 0:
            return
        if (long and self.b._low[i] <= liq) or (not long and self.b._high[i] >= liq):
            self.liquidate(i, at_price=self._liquidation_fill(liq, long))

    def liquidate(self, i: int, *, at_price: float | None) -> None:
        """Close the position at ``at_price`` (default: the liquidation fill) with the fee."""
        long = self.b._position_size > 0
        price = at_price if at_price is not None else self._liquidation_fill(
            self._liquidation_price(), long)
        rate = self.b._settings.liquidation_fee_rate
        trades = self.b.trades
        left = self._isolated_margin() + sum(t.size * (price - t.entry_price) for t in trades)
        notional = sum(abs(t.size) for t in self.b.trades) * price
        if notional * rate > left:  # the fee takes what is left of the margin, never more
            rate = max(0.0, left) / notional
        for trade in list(self.b.trades):
            self.b._close_trade(trade, price, i, fee_rate=rate, reason="liquidation")
        self.event(i, "liquidation", f"position liquidated at {price:.8g}")
        equity = self.b.equity
        if equity < BLOWN_FRACTION * self.b._settings.cash_usdt and not self._blown:
            self._blown = self.halted = True
            self._halted_day = None
            for order in list(self.b.orders):
                order.cancel()
            self.event(i, "account_blown", f"equity {equity:.2f} after the liquidation is below "
                        f"{BLOWN_FRACTION:.0%} of the initial capital: trading stopped")

    def rule_fired(self, trade: Trade, i: int, *, is_sl: bool, is_tp: bool,
                    price: float) -> None:
        """Record an exit through a stop or target that a risk rule set."""
        if is_sl and trade._sl_kind == "trailing_stop":
            self.event(i, "trailing_stop", f"trailing stop filled at {price:.8g}")
        elif is_sl and trade._rule_sl:
            self.event(i, "default_stop_loss", f"default stop-loss filled at {price:.8g}")
        elif is_tp and trade._rule_tp:
            self.event(i, "default_take_profit", f"default take-profit filled at {price:.8g}")

    # -- risk rules -------------------------------------------------------------------------
    def capped(self, size: float, fill: float) -> float:
        """``size`` limited so the position's notional stays within max_position_pct of equity."""
        pct = self.b._settings.max_position_pct
        if not pct:
            return size
        held = self.b._position_size
        if held and (held > 0) != (size > 0):
            return size  # reducing or reversing: the rest is checked when it opens
        room = max(0.0, pct * self.b.equity / fill - abs(held))
        if abs(size) <= room:
            return size
        lot = self.b._lot
        capped = round(floor(room / lot + 1e-9) * lot, 12) if lot else float(int(room))
        self.event(self.b._i, "max_position_size",
                    f"order of {abs(size):.8g} coins cut to {capped:.8g} "
                    f"(limit {pct:.2%} of equity)")
        return copysign(capped, size) if capped else 0.0

    def apply_rules(self, i: int, equity: float) -> float:
        """Trailing stop, daily loss and drawdown halt at bar ``i``; the equity after them."""
        s = self.b._settings
        if s.trailing_stop_pct and self.b.trades:
            self._trail(i, s.trailing_stop_pct)
        if s.max_daily_loss:
            equity = self._daily_loss(i, equity, s.max_daily_loss)
        if s.max_drawdown_halt and not self.halted:
            self._peak = max(self._peak, equity)
            if equity <= self._peak * (1 - s.max_drawdown_halt):
                self._flatten(i, "risk_halt")
                self.halted, self._halted_day = True, None
                self.event(i, "max_drawdown_halt", f"drawdown from peak {self._peak:.2f} passed "
                            f"{s.max_drawdown_halt:.2%}: flattened, trading stopped")
                equity = self.b.equity
        return equity

    def _trail(self, i: int, pct: float) -> None:
        close = self.b._data._current_value("Close")
        for trade in list(self.b.trades):
            level = close * (1 - pct) if trade.size > 0 else close * (1 + pct)
            current = trade.sl
            if current is None or (level > current if trade.size > 0 else level < current):
                trade.sl = level
                trade._sl_kind = "trailing_stop"

    def _daily_loss(self, i: int, equity: float, limit: float) -> float:
        if self._day is None or i in self._day_starts:
            self._day = i
            before = float(self.b._equity[i - 1]) if i > 0 else float("nan")
            self._day_start = before if before == before else float(self.b._cash)  # NaN: warm-up
            if self.halted and self._halted_day is not None:
                self.halted, self._halted_day = False, None
        if not self.halted and equity <= self._day_start * (1 - limit):
            self._flatten(i, "risk_halt")
            self.halted, self._halted_day = True, self._day
            self.event(i, "max_daily_loss", f"loss since the day's start passed {limit:.2%}: "
                        "flattened, no new trades until the next UTC day")
            equity = self.b.equity
        return equity

    def _flatten(self, i: int, reason: str) -> None:
        """Close every trade at this bar's close (taker fee, slippage) and cancel all orders."""
        close = self.b._data._current_value("Close")
        for trade in list(self.b.trades):
            fill = self.b._slip(close, -trade.size, i) if self.b._slipping else close
            self.b._close_trade(trade, fill, i, fee_rate=self.b._taker, reason=reason,
                              ref_price=close)
        for order in list(self.b.orders):
            order.cancel()

    def wipe_out(self, i: int) -> None:
        """Equity at or below zero: close at the last price and stop (backtesting.py's rule)."""
        from backtesting.backtesting import _OutOfMoneyError

        for trade in self.b.trades:  # backtesting.py iterates the live list; kept for parity
            self.b._close_trade(trade, self.b.last_price, i, reason="liquidation")
        if not self._blown:
            self._blown = True
            self.event(i, "account_blown", "equity fell to 0: trading stopped")
        self.b._cash = 0
        self.b._equity[i:] = 0
        raise _OutOfMoneyError
