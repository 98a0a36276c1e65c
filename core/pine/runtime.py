"""Runtime of translated Pine strategies, imported by their generated Python in the sandbox.

Owns the bar loop glue between a backtesting.py Strategy and Pine semantics: it runs the script
once per bar (bar 0 included), emulates TradingView's broker (core.pine.emulation.emulator) and
mirrors every emulated fill as a real backtesting.py order that fills on the same bar at the same
price (market at the open, a stop above/below the open, or a limit on the other side). Only the
stdlib, numpy-free lists and core.pine/core.sizing are used; module objects are kept private;
nothing reads or writes files or the network.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from core.pine.emulation.broker import BrokerSettings as _BrokerSettings
from core.pine.emulation.emulator import Emulator as _Emulator
from core.pine.emulation.lib import (as_bool, as_float, as_int, div, mod, na, nz, parray, pmath,
                                     prange, pstr, truth)
from core.pine.emulation.state import NA as _NA
from core.pine.emulation.state import Node as _Node
from core.pine.emulation.strategy_ns import PineStrategyNamespace as _Namespace
from core.pine.emulation.ta_avg import isna
from core.pine.emulation.ta_funcs import *  # noqa: F403 - the ta_* functions generated code imports
from core.pine.emulation.ta_funcs import __all__ as _ta_names
from core.pine.emulation.ta_lib import TA as _TA
from core.pine.emulation.ta_lib import Bar as _Bar
from core.sizing import coins as _coins

__all__ = ["PineRuntime", "div", "isna", "mod", "na", "nz", "parray", "pmath", "prange", "pstr",
           "as_bool", "as_float", "as_int", "truth", *_ta_names]

DEFAULT_MINTICK = 0.01
SOURCES = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4", "hlcc4")


class MirrorError(RuntimeError):
    """backtesting.py's position differs from the emulated Pine position (an order was refused)."""


class _Barstate:
    def __init__(self, runtime: PineRuntime) -> None:
        self._rt = runtime
        self.isconfirmed = True
        self.ishistory = True
        self.isnew = True
        self.isrealtime = False

    @property
    def isfirst(self) -> bool:
        return self._rt.bar.index == 0

    @property
    def islast(self) -> bool:
        return self._rt.bar.index == self._rt.size - 1

    islastconfirmedhistory = islast


class _Info:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _utc(ms: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.UTC)


class PineRuntime:
    """Per-run state: bar arrays (read in init, when backtesting.py shows the full data),
    the script's root state, the ta/strategy namespaces and the broker emulator."""

    def __init__(self, owner: Any, settings: dict[str, Any], script: Any = None) -> None:
        data = owner.data
        self._script = script
        self._owner = owner
        self._o = [float(x) for x in data.Open]
        self._h = [float(x) for x in data.High]
        self._l = [float(x) for x in data.Low]
        self._c = [float(x) for x in data.Close]
        self._v = [float(x) for x in data.Volume] if "Volume" in data.df.columns \
            else [0.0] * len(self._c)
        self._t = [float(x) for x in data.index.as_unit("ms").asi8]
        self.size = len(self._c)
        step = self._t[1] - self._t[0] if self.size > 1 else 60_000.0
        broker = _broker_settings(owner, settings)
        mintick = broker.mintick
        self._trade_from = _trade_from(owner)  # bars before it only warm up (no fills)
        self.emulator = _Emulator(broker)
        self.bar = _Bar()
        self.ta = _TA(self.bar)
        self.bar.ta = self.ta
        self.root = _Node()
        self.strategy = _Namespace(self.emulator, broker.initial_capital)
        self.barstate = _Barstate(self)
        self.syminfo = _Info(mintick=mintick, pointvalue=1.0, ticker=settings.get("ticker", ""),
                             tickerid=settings.get("ticker", ""), currency="USDT",
                             timezone="UTC", mincontract=0.0)
        self.timeframe = _Info(multiplier=max(1, int(step // 60_000)), period=_period(step),
                               isintraday=step < 86_400_000, isdaily=step == 86_400_000,
                               isweekly=step == 604_800_000, ismonthly=False,
                               isdwm=step >= 86_400_000, isminutes=step < 86_400_000,
                               isseconds=False)
        self.step_ms = step
        self.done = -1
        self._expected: float | None = None
        self._expected_fills: list[Any] = []
        self._refused_seen: dict[str, int] = {}
        self.plots: dict[str, list[float]] = {}
        self.plot_lines: dict[str, int] = {}  # title -> Pine line of its plot() call
        if self.size > 1:
            self._advance(0)  # bar 0's orders fill on bar 1, before backtesting.py's first next()

    def record_plot(self, title: str, value: Any, line: int = 0) -> None:
        """Keep this bar's value of a plot() series (na and non-numbers become NaN); ``line``:
        the Pine line of the plot() call."""
        series = self.plots.get(title)
        if series is None:
            series = self.plots[title] = [_NA] * self.size
            self.plot_lines[title] = int(line)
        series[self.bar.index] = float(value) if isinstance(value, (int, float)) else _NA

    def step(self) -> None:
        """Run the script for every bar up to backtesting.py's current one (bar 0 included);
        after each bar, decide the next bar's fills and place the backtesting.py orders that
        reproduce them."""
        current = len(self._owner.data) - 1
        broker = self._owner._broker
        if self._expected is not None:
            self._check_mirror(broker, current, self._expected)
        if broker.orders:
            for order in list(broker.orders):
                order.cancel()  # every mirrored order fills on its bar; nothing may linger
        self._advance(current)

    def _advance(self, current: int) -> None:
        """Run the script up to bar ``current`` and mirror the fills of bar ``current`` + 1.

        Called with 0 from __init__ (Strategy.init): TradingView runs the script on bar 0 and
        its orders fill on bar 1, which backtesting.py processes before its first next()."""
        script, bar, strategy, emulator = self._script, self.bar, self.strategy, self.emulator
        while self.done < current:
            i = self.done + 1
            self._set_bar(i)
            script(self, self.root, bar, strategy)
            self.done = i
            if i + (0 if emulator.settings.process_orders_on_close else 1) < self._trade_from:
                emulator.pending.clear()  # a warm-up bar (EngineSettings.trade_from): no fill
                continue
            if emulator.settings.process_orders_on_close and i == current:
                self._fill_at_close(i)
            j = i + 1
            if j >= self.size:
                continue
            if i < current:
                emulator.pending.clear()  # backtesting.py already passed bar i+1
            if not (emulator.pending or emulator.exits or emulator.has_risk_rules):
                continue  # nothing can fill on bar j: skip the walk
            fills = emulator.process_bar(j, self._t[j], self._o[j], self._h[j], self._l[j],
                                         self._c[j])
            if i == current and fills:
                self._mirror(fills, self._o[j])
                self._expected = emulator.book.position
                self._expected_fills = fills

    def _fill_at_close(self, i: int) -> None:
        """process_orders_on_close (R1): this bar's market orders fill at its close; the engine
        (trade_on_close) fills the mirrored market orders at the same close."""
        fills = self.emulator.fill_market_at_close(i, self._c[i], self._h[i], self._l[i])
        if fills:
            for fill in fills:
                order = (self._owner.buy if fill.side > 0 else self._owner.sell)(
                    size=_size(fill.qty), tag=fill.tag)
                order._mirror_slip = fill.slip  # the engine adds R13's slippage in full
                order._pine_line = _pine_line(fill.placed_by)  # for the lookahead check
            self._expected = self.emulator.book.position
            self._expected_fills = fills

    def _check_mirror(self, broker: Any, index: int, expected: float) -> None:
        self._expected = None
        actual = sum(t.size for t in broker.trades)
        refused = dict(getattr(broker, "rejected", {}))
        new = [r for r, count in refused.items() if count > self._refused_seen.get(r, 0)]
        self._refused_seen = refused
        if abs(actual - expected) > 1e-6 * max(1.0, abs(expected)):
            raise MirrorError(_refusal(index, self._expected_fills, new, actual, expected))

    def _set_bar(self, i: int) -> None:
        bar = self.bar
        o, h, low, c = self._o[i], self._h[i], self._l[i], self._c[i]
        bar.open_price, bar.high, bar.low, bar.close, bar.volume = o, h, low, c, self._v[i]
        bar.time = self._t[i]
        bar.time_close = self._t[i] + self.step_ms
        bar.index = i
        bar.prev_close = self._c[i - 1] if i else _NA
        bar.hl2 = (h + low) / 2
        bar.hlc3 = (h + low + c) / 3
        bar.ohlc4 = (o + h + low + c) / 4
        bar.hlcc4 = (h + low + c + c) / 4
        self.emulator.book.close_price = c

    def _mirror(self, fills: list[Any], open_price: float) -> None:
        """Each fill as an engine order at its unslipped price (inside the bar, so the engine
        triggers it) carrying the slippage, which the engine adds in full (R13: TradingView
        slips even beyond the bar's range; the host allows exactly that much)."""
        owner = self._owner
        on_close = self.emulator.settings.process_orders_on_close
        for fill in fills:
            kwargs: dict[str, Any] = {"size": _size(fill.qty), "tag": fill.tag}
            base = fill.price - fill.slip
            if on_close and base == open_price:
                kwargs["stop"] = base  # the engine's market orders fill at closes here
            elif base != open_price:
                above = base > open_price
                kwargs["stop" if above == (fill.side > 0) else "limit"] = base
            order = (owner.buy if fill.side > 0 else owner.sell)(**kwargs)
            order._mirror_slip = fill.slip
            order._pine_line = _pine_line(fill.placed_by)  # for the lookahead check

    def past(self, name: str, offset: Any) -> Any:
        """Built-in series ``name`` (close, high, time, bar_index, ...) ``offset`` bars ago."""
        if isna(offset):
            return _NA
        j = self.bar.index - int(offset)
        if j < 0 or j > self.bar.index:
            return _NA
        if name == "bar_index":
            return j
        if name in ("time", "time_close"):
            return self._t[j] + (self.step_ms if name == "time_close" else 0.0)
        o, h, low, c = self._o[j], self._h[j], self._l[j], self._c[j]
        values = {"open": o, "high": h, "low": low, "close": c, "volume": self._v[j],
                  "hl2": (h + low) / 2, "hlc3": (h + low + c) / 3, "ohlc4": (o + h + low + c) / 4,
                  "hlcc4": (h + low + 2 * c) / 4}
        return values[name]

    def input_source(self, name: str) -> float:
        """Current value of an input.source choice ('close', 'hl2', ...)."""
        if name not in SOURCES:
            raise ValueError(f"unknown source {name!r}; choose one of {', '.join(SOURCES)}")
        return getattr(self.bar, "open_price" if name == "open" else name)

    def calendar(self, field: str, ms: Any = None) -> Any:
        """year/month/dayofmonth/dayofweek/hour/minute/second/weekofyear in UTC."""
        ms = self.bar.time if ms is None else ms
        if isna(ms):
            return _NA
        moment = _utc(ms)
        if field == "dayofweek":
            return (moment.weekday() + 1) % 7 + 1
        if field == "weekofyear":
            return moment.isocalendar()[1]
        if field == "dayofmonth":
            return moment.day
        return getattr(moment, field)

    def timestamp(self, *args: Any) -> float:
        """UTC ms of ([tz,] year, month, day[, hour, minute, second]) or of an ISO date."""
        if args and isinstance(args[0], str) and len(args) == 1:
            moment = _dt.datetime.fromisoformat(args[0].replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_dt.UTC)
            return moment.timestamp() * 1000.0
        if args and isinstance(args[0], str):
            args = args[1:]
        parts = [int(a) for a in args] + [0] * (6 - len(args))
        year, month, day, hour, minute, second = parts[:6]
        return _dt.datetime(year, month, day, hour, minute, second,
                            tzinfo=_dt.UTC).timestamp() * 1000.0


def _broker_settings(owner: Any, settings: dict[str, Any]) -> _BrokerSettings:
    """Emulator settings from SETTINGS, the syminfo_mintick parameter and the engine's lot step."""
    mintick = float(getattr(owner, "syminfo_mintick", settings.get("mintick")) or
                    DEFAULT_MINTICK)
    broker = _BrokerSettings(
        initial_capital=float(settings.get("initial_capital", 1_000_000.0)),
        default_qty_type=settings.get("default_qty_type", "fixed"),
        default_qty_value=float(settings.get("default_qty_value", 1.0)),
        pyramiding=int(settings.get("pyramiding", 0)),
        commission_type=settings.get("commission_type", "percent"),
        commission_value=float(settings.get("commission_value", 0.0)),
        slippage=int(settings.get("slippage", 0)), mintick=mintick,
        qty_step=float(settings.get("qty_step", 1e-8)),
        process_orders_on_close=bool(settings.get("process_orders_on_close", False)))
    engine = getattr(owner, "_broker", None)
    lot = getattr(engine, "_lot", 0.0)
    if isinstance(lot, float) and lot > 0:
        broker.qty_step = lot  # size on the engine's lot grid so mirrored fills are exact
    run = getattr(engine, "_settings", None)  # the run config wins over strategy() (TV Properties)
    cash = getattr(run, "cash_usdt", None)
    if isinstance(cash, float) and cash > 0:
        broker.initial_capital = cash
    taker = getattr(run, "taker", None)
    if isinstance(taker, float) and broker.commission_type == "percent":
        broker.commission_value = taker * 100.0
    return broker


# the engine's refusal reasons (core.engine.broker.REJECT_REASONS): the setting, in plain words, and
# what to change
REFUSED_BECAUSE = {
    "short_not_allowed": "the run's market is spot without margin, which forbids short "
                         "selling: enable margin (Backtest page: Margin; CLI: --spot-margin) or "
                         "use a perp",
    "below_lot_step": "its quantity is below the symbol's lot step: order at least one lot "
                      "step, or correct the lot step (Data page; import --lot-step)",
    "below_min_notional": "it is below the symbol's minimum notional: order more",
    "insufficient_margin": "the run's cash or margin cannot carry it: add capital or raise "
                           "leverage",
    "max_position_size": "the run's max position rule forbids it: clear Max position",
    "risk_halt": "a risk rule of the run halted trading: clear that rule",
}


def _refusal(index: int, fills: list[Any], reasons: list[str], actual: float,
             expected: float) -> str:
    """The message of a Pine fill the engine refused: which order, the Pine call and line that
    placed it, and the setting that forbids it in plain words."""
    orders = "; ".join(dict.fromkeys(
        f"order id {f.tag!r}" + (f", placed by {f.placed_by}" if f.placed_by else "")
        for f in fills)) or "an order"
    why = "; ".join(REFUSED_BECAUSE.get(r, r) for r in reasons) or (
        "no setting named a reason: allow short selling, give enough cash or margin, use a lot "
        "step that fits the quantity, and switch off the engine's own risk rules")
    return (f"bar {index}: the backtest engine refused an order TradingView's broker fills "
            f"({orders}; position {actual:g} instead of {expected:g}). It was refused because "
            f"{why}.")


def _trade_from(owner: Any) -> int:
    """The engine's first tradable bar (EngineSettings.trade_from; 0 without warm-up bars)."""
    run = getattr(getattr(owner, "_broker", None), "_settings", None)
    return int(getattr(run, "trade_from", 0) or 0)


def _pine_line(placed_by: str) -> int:
    """The Pine line in a fill's ``placed_by`` ("strategy.entry at Pine line 12"), else 0."""
    text = placed_by.rpartition("Pine line ")[2]
    return int(text) if text.isdigit() else 0


def _period(step_ms: float) -> str:
    minutes = int(step_ms // 60_000)
    if minutes >= 10080 and minutes % 10080 == 0:
        return f"{minutes // 10080}W" if minutes > 10080 else "W"
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440}D" if minutes > 1440 else "D"
    return str(max(1, minutes))


def _size(qty: float) -> Any:
    """A backtesting.py size for ``qty`` coins: whole units as int, otherwise core.sizing.Coins."""
    whole = round(qty)
    if whole >= 1 and abs(qty - whole) < 1e-9:
        return int(whole)
    return _coins(qty * (1 + 1e-12))  # the engine floors to its lot step: keep grid values whole
