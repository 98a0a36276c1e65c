"""The crypto broker: backtesting.py's order book with coin sizes, maker/taker fees, slippage.

Owns: EngineSettings (every broker knob, JSON-able, plain backtesting.py behaviour by default) and
CryptoBroker, a backtesting.py ``_Broker`` whose order processing is rewritten (same rules as
backtesting.py 0.6.6: stop triggers, limit fills, SL before TP, FIFO netting, margin checks) so that

- sizes may be fractional coins (a lot step), ``coins(x)`` orders trade exactly x coins;
- limit orders (and take-profits) pay the maker fee, market and stop orders (and stop-losses) the
  taker fee; taker fills slip against the trader (buys higher, sells lower), never outside the bar;
- orders below the lot step or the minimum notional, short sales on spot without margin, and
  orders the margin cannot carry are rejected and counted, never resized;
- each trade knows its fees, slippage cost, funding and exit reason.

Liquidation, funding and risk rules live in core.engine.risk (``self.risk``, a RiskBook); order
sizes, admission and the per-trade accounting fields in core.engine.lots (functions taking the
broker). Runs in the sandbox child.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from math import copysign

import numpy as np
from backtesting.backtesting import Order, Trade, _Broker

from core.engine import lots
from core.engine.risk import RiskBook
from core.sizing import Coins

REJECT_REASONS = ("below_lot_step", "below_min_notional", "insufficient_margin",
                  "short_not_allowed", "max_position_size", "risk_halt")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSettings:
    """Every broker setting of one run. Rates are fractions (0.001 = 0.1 %); 0 switches a rule off.

    Defaults reproduce plain backtesting.py exactly. ``commission`` is the legacy single fee rate,
    used for maker and taker fills when ``maker_fee_rate``/``taker_fee_rate`` are None.
    ``margin`` is backtesting.py's margin (1 / leverage). ``lot_step_coins`` 0 means whole coins.
    Risk percentages are fractions: ``max_drawdown_halt`` 0.3 flattens and stops at -30 % from peak.
    """

    cash_usdt: float
    commission: float = 0.0
    finalize_trades: bool = True
    trade_on_close: bool = False
    exclusive_orders: bool = False
    hedging: bool = False
    margin: float = 1.0
    spread: float = 0.0
    maker_fee_rate: float | None = None
    taker_fee_rate: float | None = None
    slippage_bps: float = 0.0
    slippage_range_frac: float = 0.0
    lot_step_coins: float = 0.0
    min_notional_usdt: float = 0.0
    allow_short: bool = True
    perp: bool = False
    maintenance_margin_rate: float = 0.0
    liquidation_fee_rate: float = 0.0
    liquidate: bool = True  # perps: isolated-margin liquidation (off for runtimes that mirror)
    mirror: bool = False  # orders reproduce another broker's fills (Pine): never refuse on margin
    # mirror: the most a mirrored fill slips (price units), also beyond its bar's range; the host
    # allows exactly this much (core.runs.result_check, core.runs.broker_check)
    mirror_slippage: float = 0.0
    finalize_at_close: bool = False  # trades open at the end close at the last close (TradingView)
    trade_from: int = 0  # bars before it only warm indicators up: no order may fill on them
    stop_loss_pct: float = 0.0
    take_profit_pct: float = 0.0
    trailing_stop_pct: float = 0.0
    max_position_pct: float = 0.0
    max_drawdown_halt: float = 0.0
    max_daily_loss: float = 0.0

    @property
    def maker(self) -> float:
        """Maker fee rate (limit orders, take-profits)."""
        return self.commission if self.maker_fee_rate is None else self.maker_fee_rate

    @property
    def taker(self) -> float:
        """Taker fee rate (market and stop orders, stop-losses, forced closes)."""
        return self.commission if self.taker_fee_rate is None else self.taker_fee_rate

    @property
    def leverage(self) -> float:
        """1 / margin."""
        return 1.0 / self.margin


class CryptoBroker(_Broker):
    """backtesting.py's broker for crypto. Built by core.engine through functools.partial."""

    def __init__(self, *, settings: EngineSettings, funding_by_bar: np.ndarray | None,
                 day_by_bar: np.ndarray | None,
                 progress: Callable[[int, int], object] | None = None, **base: object) -> None:
        super().__init__(**base)
        s = self._settings = settings
        df = self._data._Data__df
        self._high = df["High"].to_numpy(dtype="float64").tolist()  # lists: fast per-bar reads
        self._low = df["Low"].to_numpy(dtype="float64").tolist()
        self._finite_close = bool(np.isfinite(df["Close"].to_numpy(dtype="float64")).all())
        self._lot = float(s.lot_step_coins)
        self._maker, self._taker = float(s.maker), float(s.taker)
        self._slipping = s.slippage_bps > 0 or s.slippage_range_frac > 0
        self.rejected: Counter[str] = Counter()
        self.events: list[tuple[int, str, str]] = []
        self._last_i = -1
        self._finalizing = False
        self._progress = progress
        self.risk = RiskBook(self, funding_by_bar=funding_by_bar, day_by_bar=day_by_bar)

    # -- positions with fractional sizes -------------------------------------------------------
    @cached_property
    def _position_size(self) -> float:
        if not self._lot:
            return sum(int(trade.size) for trade in self.trades)
        return sum(trade.size for trade in self.trades)

    def new_order(self, size: float, limit: float | None = None, stop: float | None = None,
                  sl: float | None = None, tp: float | None = None, tag: object = None, *,
                  trade: Trade | None = None) -> Order:
        """backtesting.py's new_order, remembering whether ``size`` is an exact coin quantity."""
        is_coins = isinstance(size, Coins)
        order = super().new_order(size, limit, stop, sl, tp, tag, trade=trade)
        if is_coins:
            order._coins = True
        # warm-up bars (trade_from): an order that could fill before the first traded bar is
        # dropped (placed in init: _last_i -1; a market order fills next open, or this close)
        s = self._settings
        if s.trade_from and self._last_i + (0 if s.trade_on_close else 1) < s.trade_from:
            order.cancel()
        return order

    def _trades_cache_clear(self) -> None:
        super()._trades_cache_clear()
        self.__dict__.pop("_position_cost", None)
        self.risk.liq = None  # the position changed: its liquidation price too

    def _reject(self, order: Order, reason: str) -> None:
        self.rejected[reason] += 1
        self.orders.remove(order)
    # -- the bar --------------------------------------------------------------------------------
    def next(self) -> None:
        """One bar: funding, orders, liquidation, risk rules, equity (backtesting.py's contract)."""
        self.__dict__.pop("_position_unrealized_pl", None)
        i = self._i = len(self._data) - 1
        self._finalizing = i == self._last_i
        self._last_i = i
        risk = self.risk
        if self.trades and i in risk.funding_at and not self._finalizing:
            risk.apply_funding(i)
        if self.orders:
            self._process_orders()
        if risk.liquidating and self.trades:
            risk.check_liquidation(i)
        equity = self._marked_equity()
        if risk.risk_on:
            equity = risk.apply_rules(i, equity)
        self._equity[i] = equity
        if self._progress is not None and i % 2_000 == 0:
            self._progress(i, len(self._high))
        if equity <= 0:
            risk.wipe_out(i)

    def _marked_equity(self) -> float:
        """``self.equity`` (cash + unrealized P&L at this close), filling the same cache without
        functools.cached_property's lock (a cost on every bar); flat, it is the cash."""
        trades = self.trades
        if not trades and self._finite_close:  # price * 0 - 0 adds exactly 0.0
            return self._cash
        cache = self.__dict__
        upl = cache.get("_position_unrealized_pl")
        if upl is None:  # the base class's formula, cached where it caches it
            cost = cache.get("_position_cost")  # its sum: the same until the trades change
            if cost is None:
                cost = cache["_position_cost"] = sum(t.size * t.entry_price for t in trades)
            upl = cache["_position_unrealized_pl"] = (
                self._data._current_value("Close") * self._position_size - cost)
        return self._cash + upl

    # -- order processing (backtesting.py 0.6.6 rules) -----------------------------------------
    def _process_orders(self) -> None:
        data = self._data  # called only with orders waiting (next() and the re-check below)
        bar = (data._current_value("Open"), data._current_value("High"),
               data._current_value("Low"))
        again = False
        for order in list(self.orders):
            if order not in self.orders:  # its SL/TP sibling closed the trade already
                continue
            hit = self._trigger(order, *bar)
            if hit is None:
                continue
            price, stop_price = hit
            is_market = not order.limit and not stop_price
            at_end = self._finalizing and self._settings.finalize_at_close and is_market
            ti = (self._i - 1 if is_market and self._trade_on_close and not order.is_contingent
                  and not at_end else self._i)
            if order.parent_trade:
                self._fill_exit(order, price, stop_price, ti)
            else:
                again = self._fill_entry(order, price, ti, is_market=is_market,
                                         stop_price=stop_price, bar=bar) or again
        if again and self.orders:
            self._process_orders()

    def _trigger(self, order: Order, open_: float, high: float,
                 low: float) -> tuple[float, float | None] | None:
        """(fill price, stop price that triggered) when ``order`` fills in this bar, else None."""
        stop_price = order.stop
        is_long = order.is_long
        if stop_price:
            if not (high >= stop_price if is_long else low <= stop_price):
                return None
            order._replace(stop_price=None)  # a triggered stop becomes a market/limit order
        limit = order.limit
        if limit:
            hit = low <= limit if is_long else high >= limit
            # a limit beyond the triggering stop counts as hit before the stop: not filled
            early = hit and (limit <= (stop_price or -np.inf) if is_long
                             else limit >= (stop_price or np.inf))
            if not hit or early:
                return None
            return (min(stop_price or open_, limit) if is_long
                    else max(stop_price or open_, limit)), stop_price
        price = (self._data.Close[-2] if self._trade_on_close and not order.is_contingent
                 else open_)
        if self._finalizing and self._settings.finalize_at_close and not stop_price:
            price = self._data.Close[-1]  # end of data valued at the last close (TradingView)
        if stop_price:
            price = max(price, stop_price) if is_long else min(price, stop_price)
        return price, stop_price

    def _slip(self, price: float, size: float, ti: int) -> float:
        """Adverse taker fill: buys pay more, sells get less; clipped to bar ``ti``'s range."""
        s = self._settings
        amount = price * s.slippage_bps / 10_000 + s.slippage_range_frac * (
            self._high[ti] - self._low[ti])
        if size > 0:
            return min(price + amount, self._high[ti])
        return max(price - amount, self._low[ti])

    def _fill_exit(self, order: Order, price: float, stop_price: float | None, ti: int) -> None:
        """Fill an SL/TP/close order against its parent trade."""
        trade = order.parent_trade
        size = copysign(min(abs(trade.size), abs(order.size)), order.size)
        if trade in self.trades:
            is_sl, is_tp = order is trade._sl_order, order is trade._tp_order
            reason = (trade._sl_kind if is_sl else "take_profit" if is_tp
                      else "end_of_data" if self._finalizing else "signal")
            rate = self._maker if order.limit else self._taker
            fill = self._slip(price, size, ti) if self._slipping and not order.limit else price
            if self.risk.liquidating and self.risk.beyond_liquidation(trade, fill):
                self.risk.liquidate(ti, at_price=None)
            else:
                self._reduce_trade(trade, fill, size, ti, fee_rate=rate, reason=reason,
                                   ref_price=price)
                self.risk.rule_fired(trade, ti, is_sl=is_sl, is_tp=is_tp, price=fill)
            if is_sl and trade._sl_order is not None:
                trade._sl_order._replace(stop_price=stop_price)  # keep SL for the trades table
        if order not in (trade._sl_order, trade._tp_order) and order in self.orders:
            self.orders.remove(order)

    def _fill_entry(self, order: Order, price: float, ti: int, *, is_market: bool,
                    stop_price: float | None, bar: tuple[float, float, float]) -> bool:
        """Fill a stand-alone order; True when its new SL/TP must be checked in this bar."""
        rate = self._maker if order.limit else self._taker
        fill = self._slip(price, order.size, ti) if self._slipping and not order.limit else price
        if self._settings.mirror:  # the mirrored broker's slippage, in full (core.pine.runtime)
            fill += getattr(order, "_mirror_slip", 0.0)
        adjusted = self._adjusted_price(order.size, fill)
        # per coin, in units of margin x leverage: the position's margin (adjusted / leverage)
        # plus the entry fee, which is paid in full from equity (isolated margin), not leveraged
        unit_cost = adjusted + fill * rate * self._leverage
        size = lots.order_size(self, order, unit_cost)
        why = lots.admissible(self, order, size, fill)
        if why:
            self._reject(order, why)
            return False
        size = self.risk.capped(size, fill)
        if not size:
            self._reject(order, "max_position_size")
            return False
        need = size if self._lot else int(size)
        if not self._hedging:
            need = self._net_against_open(order, need, fill, ti, rate, price)
        if not self._settings.mirror and \
                abs(need) * unit_cost > self.margin_available * self._leverage:
            self._reject(order, "insufficient_margin")
            return False
        again = False
        if need:
            made = self._open_trade(adjusted, need, order.sl, order.tp, ti, order.tag,
                                    fee_rate=rate, slip=abs(fill - price))
            again = self._recheck_same_bar(order, made, is_market, stop_price, bar)
        self.orders.remove(order)
        return again

    def _net_against_open(self, order: Order, need: float, fill: float, ti: int, rate: float,
                          ref: float) -> float:
        """Close opposite trades first-in first-out; return the size left to open."""
        reason = "end_of_data" if self._finalizing else "signal"
        for trade in list(self.trades):
            if trade.is_long == order.is_long:
                continue
            if abs(need) >= abs(trade.size):
                self._close_trade(trade, fill, ti, fee_rate=rate, reason=reason, ref_price=ref)
                need += trade.size
            else:
                self._reduce_trade(trade, fill, need, ti, fee_rate=rate, reason=reason,
                                   ref_price=ref)
                need = 0
            if not need or (self._lot and abs(need) < self._lot * 1e-6):
                return 0.0 if self._lot else need
        return need

    def _recheck_same_bar(self, order: Order, made: bool, is_market: bool,
                          stop_price: float | None, bar: tuple[float, float, float]) -> bool:
        """backtesting.py's rule for SL/TP of a trade opened in this bar (issue #119)."""
        if not (order.sl or order.tp or made):
            return False
        if is_market:
            return True
        _, high, low = bar
        tp, sl = order.tp, order.sl
        return bool(stop_price and not order.limit and tp and (
            (order.is_long and tp <= high and (sl or -np.inf) < low)
            or (order.is_short and tp >= low and (sl or np.inf) > high)))

    # -- trades ---------------------------------------------------------------------------------
    def _open_trade(self, price: float, size: float, sl: float | None, tp: float | None,
                    time_index: int, tag: object, *, fee_rate: float = 0.0,
                    slip: float = 0.0) -> bool:
        """Open a trade at ``price`` (fee charged now); True when risk rules added an SL/TP."""
        trade = lots.new_trade(self, size, price, time_index, tag, fee_rate=fee_rate, slip=slip)
        if self._lot:
            trade.close = lambda portion=1.0, t=trade: lots.close_portion(self, t, portion)
        self.trades.append(trade)
        self._trades_cache_clear()
        self._cash -= abs(size) * price * fee_rate
        trade._dated_in = time_index < self._i
        self.risk.funding_catch_up(trade, time_index, opening=True)
        s = self._settings
        added = False
        if tp is None and s.take_profit_pct:
            tp, added, trade._rule_tp = price * (1 + copysign(s.take_profit_pct, size)), True, True
        if sl is None and s.stop_loss_pct:
            sl, added, trade._rule_sl = price * (1 - copysign(s.stop_loss_pct, size)), True, True
        if tp:
            trade.tp = tp
        if sl:
            trade.sl = sl
        return added

    def _reduce_trade(self, trade: Trade, price: float, size: float, time_index: int, *,
                      fee_rate: float = 0.0, reason: str = "signal",
                      ref_price: float | None = None) -> None:
        """Close ``size`` (opposite sign) of ``trade``; a partial close splits off a closed copy."""
        self._trades_cache_clear()
        left = trade.size + size
        if not left or (self._lot and abs(left) < self._lot * 1e-6):
            self._close_trade(trade, price, time_index, fee_rate=fee_rate, reason=reason,
                              ref_price=ref_price)
            return
        share = abs(size) / abs(trade.size)
        trade._replace(size=left)
        for contingent in (trade._sl_order, trade._tp_order):
            if contingent:
                contingent._replace(size=-left)
        part = trade._copy(size=-size, sl_order=None, tp_order=None)
        part._funding, trade._funding = trade._funding * share, trade._funding * (1 - share)
        self.trades.append(part)
        self._close_trade(part, price, time_index, fee_rate=fee_rate, reason=reason,
                          ref_price=ref_price)

    def _close_trade(self, trade: Trade, price: float, time_index: int, *,
                     fee_rate: float | None = None, reason: str = "signal",
                     ref_price: float | None = None) -> None:
        """Close ``trade`` at ``price``: realise its P&L and the exit fee in cash."""
        self._trades_cache_clear()
        self.trades.remove(trade)
        for contingent in (trade._sl_order, trade._tp_order):
            if contingent and contingent in self.orders:
                self.orders.remove(contingent)
        trade._replace(exit_price=price, exit_bar=time_index)
        self.closed_trades.append(trade)
        trade._dated_out = time_index < self._i
        self.risk.funding_catch_up(trade, time_index, opening=False)
        rate = self._taker if fee_rate is None else fee_rate
        fee_out = abs(trade.size) * price * rate
        self._cash += trade.size * (price - trade.entry_price) - fee_out
        trade._fee_out = fee_out
        trade._slip_out = 0.0 if ref_price is None else abs(price - ref_price)
        trade._reason = reason
        trade._commissions = fee_out + abs(trade.size) * trade.entry_price * trade._fee_rate_in
