"""An independent, minimal Pine broker for stop/market entries of quantity 1 (tests only).

Rules from reference/pine.md §3, written separately from core.pine.emulation.emulator: orders placed on
bar i act from bar i+1; market orders fill at the open; a stop already passed at the open fills
at the open; otherwise fills follow the intrabar path (open->high->low->close when the high is
nearer the open, else open->low->high->close); an opposite entry reverses (|position| + 1);
a same-direction entry is refused when placed while already in that direction; OCA 'cancel'
groups drop their siblings on a fill. Open trades are valued at the last bar's close (TradingView
marks its open P&L at the last close). Orders placed on bar 0 act from bar 1. Stop levels are
put on the 0.01 tick grid against the order (a buy stop rounded up, a sell stop down), as
TradingView does (pine.md R3).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from collections.abc import Callable

import numpy as np
import pandas as pd


TICK = Decimal("0.01")  # syminfo.mintick of the examples' default parameter


def on_grid(level: float, side: int) -> float:
    """TradingView: "Prices are rounded to the tick grid, against the order" (pine.md R3),
    i.e. a buy stop up and a sell stop down to syminfo.mintick; computed in Decimal after
    dropping float noise below 1e-6 tick (high + mintick stays on the grid)."""
    if math.isnan(level):
        return level
    ticks = (Decimal(repr(float(level))) / TICK).quantize(Decimal("1e-6")).to_integral_value(
        ROUND_CEILING if side > 0 else ROUND_FLOOR)
    return float(ticks * TICK)


def simulate(bars: pd.DataFrame, actions: Callable[[int, int], list[tuple]]) -> pd.DataFrame:
    """Trades for ``actions(i, position)``: ('entry', id, side, stop[, oca]) / ('cancel', id)."""
    o, h, low, c = (bars[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))
    pending: dict[str, tuple[int, float, str]] = {}
    position, trades, open_trades = 0, [], []
    for i in range(len(bars)):
        # TradingView runs the script on bar 0 too: its orders act from bar 1; a stop entry whose
        # level is still na (ta.lowest warming up) is a market order filling at bar 1's open
        fills = _fills_for_bar(pending, o[i], h[i], low[i]) if i else []
        for order_id, side, price in fills:
            if order_id not in pending:
                continue  # cancelled by an OCA sibling filled earlier on this bar
            oca = pending.pop(order_id)[2]
            if oca:
                for other in [k for k, v in pending.items() if v[2] == oca]:
                    del pending[other]
            for trade in open_trades:
                trades.append((*trade, i, price))
            open_trades = [(i, price, side)]
            position = side
        for act in actions(i, position):
            if act[0] == "cancel":
                pending.pop(act[1], None)
            elif act[2] * position <= 0:
                pending[act[1]] = (act[2], on_grid(act[3], act[2]),
                                   act[4] if len(act) > 4 else "")
    last = len(bars) - 1
    for trade in open_trades:
        trades.append((*trade, last, c[last]))
    frame = pd.DataFrame(trades, columns=["EntryBar", "EntryPrice", "Size", "ExitBar",
                                          "ExitPrice"])
    return frame.sort_values(["EntryBar", "ExitBar"], kind="stable").reset_index(drop=True)


def _fills_for_bar(pending: dict, o: float, h: float, low: float) -> list[tuple[str, int, float]]:
    gap, buys, sells = [], [], []
    for order_id, (side, stop, _) in pending.items():
        if math.isnan(stop):
            gap.append((0, order_id, side, o))
        elif (side > 0 and o >= stop) or (side < 0 and o <= stop):
            gap.append((1, order_id, side, o))
        elif side > 0 and h >= stop:
            buys.append((stop, order_id, side, stop))
        elif side < 0 and low <= stop:
            sells.append((-stop, order_id, side, stop))
    ordered = sorted(gap)
    legs = [sorted(buys), sorted(sells)] if h - o < o - low else [sorted(sells), sorted(buys)]
    ordered += legs[0] + legs[1]
    return [(order_id, side, price) for _, order_id, side, price in ordered]


def compare(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Engine trades vs the simulator's: same bars, prices and signed sizes."""
    assert len(want) > 0
    got = got.sort_values(["EntryBar", "ExitBar"], kind="stable").reset_index(drop=True)
    assert len(got) == len(want), f"{len(got)} trades vs the reference's {len(want)}"
    for column in ("EntryBar", "ExitBar"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
    for column in ("EntryPrice", "ExitPrice", "Size"):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   want[column].to_numpy(dtype=float), rtol=1e-9)
