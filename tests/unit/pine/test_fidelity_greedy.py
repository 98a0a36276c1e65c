"""Greedy (pyramiding, stop entries, strategy.order take-profit/stop-loss in an OCA reduce group,
max intraday filled orders) vs an independent reference written from pine.md §3 for this script.

The reference applies the risk rule the way DIFFERENCES.md documents it (checked at each bar's
close: cancel, close at the next open, no new orders until the next UTC day).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd
import pytest

from tests.unit.pine.harness import EXAMPLES, load_bars, run_source, with_gaps

TICK = 5.0  # syminfo_mintick: tp/sl of 10 ticks = 50 USDT
DAY_MS = 86_400_000


def on_grid(level: float, side: int) -> float:
    """TradingView rounds an order's price to syminfo.mintick against the order (pine.md R3:
    "Prices are rounded to the tick grid, against the order"): a buy's level up, a sell's down.
    Decimal arithmetic on the printed value, independent of the emulator's float rounding."""
    if math.isnan(level):
        return level
    ticks = (Decimal(repr(float(level))) / Decimal(repr(TICK))).quantize(Decimal("1e-6"))
    ticks = ticks.to_integral_value(ROUND_CEILING if side > 0 else ROUND_FLOOR)
    return float(ticks * Decimal(repr(TICK)))


class Reference:
    """Orders: {id: [side, qty, stop, limit, oca, seq, kind]}; trades FIFO [bar, price, side, qty]."""

    def __init__(self) -> None:
        self.orders: dict[str, list] = {}
        self.open: list[list] = []
        self.closed: list[tuple] = []
        self.seq = 0
        self.day, self.fills_today, self.halted = -1, 0, False

    @property
    def position(self) -> float:
        return sum(t[2] * t[3] for t in self.open)

    def place(self, oid, side, qty, stop=math.nan, limit=math.nan, oca="", kind="entry"):
        if self.halted:
            return
        if kind == "entry" and sum(1 for t in self.open if t[2] == side) >= 100:
            return
        seq = self.orders[oid][5] if oid in self.orders else self._next()
        self.orders[oid] = [side, qty, on_grid(stop, side), on_grid(limit, side), oca, seq, kind]

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def fill(self, oid, price, bar) -> None:
        side, qty, _, _, oca, _, kind = self.orders.pop(oid)
        pos = self.position
        if kind == "entry" and pos * side < 0:
            qty += abs(pos)
        self.fills_today += 1
        left = qty
        for trade in list(self.open):
            if trade[2] == side or left <= 1e-12:
                continue
            take = min(trade[3], left)
            self.closed.append((trade[0], bar, trade[1], price, trade[2] * take))
            trade[3] -= take
            left -= take
            if trade[3] <= 1e-12:
                self.open.remove(trade)
        if left > 1e-12:
            self.open.append([bar, price, side, left])
        for other_id, other in list(self.orders.items()):
            if oca and other[4] == oca:
                other[1] -= qty
                if other[1] <= 1e-12:
                    del self.orders[other_id]

    def bar(self, i, o, h, low, time_ms) -> None:
        day = int(time_ms // DAY_MS)
        if day != self.day:
            self.day, self.fills_today, self.halted = day, 0, False
        for oid in [k for k, v in sorted(self.orders.items(), key=lambda kv: kv[1][5])
                    if math.isnan(v[2]) and math.isnan(v[3])]:
            self.fill(oid, o, i)
        self._walk(i, o, o, gap=True)
        legs = (o, h, low) if h - o < o - low else (o, low, h)
        for a, b in zip(legs, legs[1:], strict=False):
            self._walk(i, a, b, gap=False)
        self._walk(i, legs[-1], legs[-1], gap=False)

    def _walk(self, i, a, b, *, gap) -> None:
        while True:
            hits = []
            for oid, (side, _, stop, limit, _, seq, _) in self.orders.items():
                level = stop if not math.isnan(stop) else limit
                if math.isnan(level):
                    continue
                rises = (side > 0) == (not math.isnan(stop))
                if gap and ((rises and level <= a) or (not rises and level >= a)):
                    hits.append((0.0, seq, oid, a))
                elif not gap and b >= a and rises and level <= b:
                    hits.append((max(level, a) - a, seq, oid, max(level, a)))
                elif not gap and b < a and not rises and level >= b:
                    hits.append((a - min(level, a), seq, oid, min(level, a)))
            if not hits:
                return
            _, _, oid, price = min(hits)
            self.fill(oid, price, i)
            a = price

    def script(self, i, o, h, low, c) -> None:
        pos = self.position
        actions = [("GapUp", 1, o[i] > h[i - 1], h[i - 1]),
                   ("Dn", -1, pos < 0 and o[i] > c[i], c[i]),
                   ("GapDn", -1, o[i] < low[i - 1], low[i - 1]),
                   ("Up", 1, pos > 0 and o[i] < c[i], c[i])]
        for oid, side, cond, stop in actions:
            if cond:
                self.place(oid, side, 1.0, stop=stop)
            else:
                self.orders.pop(oid, None)
        avg = sum(t[1] * t[3] for t in self.open) / sum(t[3] for t in self.open) \
            if self.open else math.nan
        if pos > 0:
            self.place("TP+", -1, max(1.0, pos), limit=avg + 10 * TICK, oca="TPSL", kind="order")
            self.place("SL+", -1, max(1.0, pos), stop=avg - 10 * TICK, oca="TPSL", kind="order")
        if pos < 0:
            self.place("TP-", 1, max(1.0, -pos), limit=avg - 10 * TICK, oca="TPSL", kind="order")
            self.place("SL-", 1, max(1.0, -pos), stop=avg + 10 * TICK, oca="TPSL", kind="order")

    def risk(self) -> None:
        if self.fills_today >= 5 and not self.halted:
            self.orders.clear()
            pos = self.position
            if pos:
                self.orders["risk close"] = [-1 if pos > 0 else 1, abs(pos), math.nan, math.nan,
                                             "", self._next(), "order"]
            self.halted = True


def reference_trades(bars: pd.DataFrame) -> pd.DataFrame:
    o, h, low, c = (bars[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))
    times = bars.index.as_unit("ms").asi8.astype(float)
    ref = Reference()
    for i in range(1, len(bars)):
        ref.bar(i, o[i], h[i], low[i], times[i])
        ref.risk()
        ref.script(i, o, h, low, c)
    last = len(bars) - 1
    # the trades still open at the end are valued at the last close (TradingView's open P&L)
    rows = ref.closed + [(t[0], last, t[1], c[last], t[2] * t[3]) for t in ref.open]
    frame = pd.DataFrame(rows, columns=["EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "Size"])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture
def bars(settings):
    return with_gaps(load_bars(settings, end="2023-02-01"), seed=11)


def test_greedy_matches_the_reference(bars):
    source = (EXAMPLES / "greedy.pine").read_text()
    got = run_source(source, bars, params={"syminfo_mintick": TICK})
    columns = ["EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "Size"]
    got = got[columns].sort_values(columns).reset_index(drop=True)
    want = reference_trades(bars)
    assert len(want) > 20
    assert len(got) == len(want), f"{len(got)} trades vs the reference's {len(want)}"
    np.testing.assert_array_equal(got[["EntryBar", "ExitBar"]], want[["EntryBar", "ExitBar"]])
    np.testing.assert_allclose(got[["EntryPrice", "ExitPrice", "Size"]].to_numpy(dtype=float),
                               want[["EntryPrice", "ExitPrice", "Size"]].to_numpy(dtype=float),
                               rtol=1e-9)
