"""Pine broker rules on small candle tables (pine.md §3), and the same rules end to end through
backtesting.py: every emulated fill must become a real fill at the same price."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.pine.emulation.broker import BrokerSettings, ExitOrder, Order
from core.pine.emulation.emulator import Emulator
from tests.unit.pine.harness import run_source

NAN = math.nan
T0 = 1_672_531_200_000.0  # 2023-01-01 00:00 UTC in ms
HOUR = 3_600_000.0


def emulator(**kw) -> Emulator:
    em = Emulator(BrokerSettings(mintick=1.0, **kw))
    em.book.close_price = 100.0
    return em


def bar(em: Emulator, k: int, o: float, h: float, low: float, c: float) -> list:
    return [(f.side, f.qty, f.price, f.tag) for f in em.process_bar(k, T0 + k * HOUR, o, h, low, c)]


def test_market_entry_fills_at_next_open_and_reverses_with_one_order():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    assert bar(em, 1, 101, 105, 99, 104) == [(1, 1.0, 101, "L")]
    em.place(Order("S", "entry", -1, NAN))
    assert bar(em, 2, 103, 106, 100, 101) == [(-1, 2.0, 103, "S")]  # |pos| + qty
    assert em.book.position == -1.0
    assert [(t.entry_price, t.exit_price) for t in em.book.closed] == [(101, 103)]


def test_pyramiding_refuses_a_second_entry_in_the_same_direction():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 101, 99, 100)
    em.place(Order("L2", "entry", 1, NAN))
    assert em.pending == {}
    em2 = emulator(pyramiding=2)
    em2.place(Order("L", "entry", 1, NAN))
    bar(em2, 1, 100, 101, 99, 100)
    em2.place(Order("L2", "entry", 1, NAN))
    assert bar(em2, 2, 100, 101, 99, 100) == [(1, 1.0, 100, "L2")]


def test_stop_gapped_through_fills_at_the_open():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN, stop=102))
    assert bar(em, 1, 105, 107, 104, 106) == [(1, 1.0, 105, "L")]


def test_path_rule_decides_which_of_two_stops_fills_first():
    # high nearer the open: open -> high -> low -> close, so the buy stop fills first. Both were
    # placed while flat, so the second is 1 contract and only closes (its size was fixed when
    # it was placed: issue 14, D7)
    em = emulator()
    em.place(Order("L", "entry", 1, NAN, stop=103))
    em.place(Order("S", "entry", -1, NAN, stop=96))
    assert bar(em, 1, 100, 104, 95, 97) == [(1, 1.0, 103, "L"), (-1, 1.0, 96, "S")]
    # low nearer the open: open -> low -> high
    em = emulator()
    em.place(Order("L", "entry", 1, NAN, stop=103))
    em.place(Order("S", "entry", -1, NAN, stop=99))
    assert bar(em, 1, 100, 110, 98, 105) == [(-1, 1.0, 99, "S"), (1, 1.0, 103, "L")]
    assert em.book.position == 0


# TradingView (issue 14, D7, measured on its exports): strategy.entry's reversal part
# (|position| + qty, R4) is fixed when the order is placed, not when it fills: a limit entry
# placed while flat only closes a position opened before it fills, and one placed against a
# position that an exit closes before the fill opens a trade of double size.

def test_a_reversal_is_sized_when_placed_double_size_after_an_exit():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 100, 100, 100)  # long 1
    em.place(Order("S", "entry", -1, NAN, limit=110))  # placed against long 1: sells 2
    em.place_exit(ExitOrder("X", "L", stop=95))
    # the stop exit flattens at 95, then the limit sells 2 at 110: short 2
    assert bar(em, 2, 100, 110, 94, 105) == [(-1, 1.0, 95, "X"), (-1, 2.0, 110, "S")]
    assert em.book.position == -2


def test_a_limit_entry_placed_flat_only_closes_a_later_position():
    em = emulator()
    em.place(Order("S", "entry", -1, NAN, limit=110))  # placed flat: 1 contract
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 111, 99, 105)  # long 1 at the open, then the limit sells 1 at 110
    assert em.book.position == 0
    assert [(t.entry_price, t.exit_price, t.exit_id) for t in em.book.closed] == [(100, 110, "S")]


def test_slippage_applies_to_stop_exits_not_to_limit_exits():
    # pine.md R13: "slippage·mintick, adverse, on market fills ... and stop fills; never on limit
    # fills"; TradingView's stop exits fill at the tick-rounded stop minus the ticks (D6)
    em = emulator(slippage=2)
    em.place(Order("L", "entry", 1, NAN))
    assert bar(em, 1, 100, 100, 90, 100) == [(1, 1.0, 102, "L")]  # the open 100 + 2, past the high
    em.place_exit(ExitOrder("X", "L", stop=95.5))  # a sell stop: 95, filled at 93
    assert bar(em, 2, 100, 101, 90, 92) == [(-1, 1.0, 93, "X")]
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 3, 100, 103, 90, 100)  # 102
    em.place_exit(ExitOrder("T", "L", limit=110))
    assert bar(em, 4, 105, 111, 104, 108) == [(-1, 1.0, 110, "T")]


def test_exit_profit_and_loss_are_ticks_from_the_entry_fill():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    em.place_exit(ExitOrder("X", "L", profit=10, loss=5))
    assert bar(em, 1, 100, 104, 98, 103) == [(1, 1.0, 100, "L")]  # levels 110 / 95: no exit
    assert bar(em, 2, 103, 111, 102, 108) == [(-1, 1.0, 110, "X")]
    assert em.exits == {}  # flat: the bracket is gone


def test_exit_placed_with_the_entry_can_fill_on_the_entry_bar_after_the_fill():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    em.place_exit(ExitOrder("X", "L", loss=3))
    assert bar(em, 1, 100, 101, 96, 99) == [(1, 1.0, 100, "L"), (-1, 1.0, 97, "X")]


def test_trailing_stop_arms_and_fires_on_the_same_bar():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 100.5, 99.5, 100)
    em.place_exit(ExitOrder("T", "L", trail_points=5, trail_offset=2))
    # path open -> high (106: arms at 105, best 106, stop 104) -> low (103): stop fills at 104
    assert bar(em, 2, 101, 106, 103, 104) == [(-1, 1.0, 104, "T")]


def test_trailing_stop_levels_are_rounded_against_the_exit():
    # TradingView (issue 14, D1's rule, pine.md R3): a stop level is put on the syminfo.mintick
    # grid against the order before it is compared with the bar: a sell stop rounds down, a buy
    # stop up. A trailing stop is such a level: offset ticks behind an off-grid best price.
    em = emulator()  # mintick 1
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 100.5, 99.5, 100)  # long 1 @ 100
    em.place_exit(ExitOrder("T", "L", trail_points=5, trail_offset=2))
    # open -> low -> high 106.6 (armed at 105; 106.6 - 2 = 104.6, a sell stop: down to 104)
    # -> close 104.3: the raw 104.6 would have filled here, the rounded 104 is not reached
    assert bar(em, 2, 101, 106.6, 100.5, 104.3) == []
    assert bar(em, 3, 104.3, 104.5, 103.5, 104) == [(-1, 1.0, 104, "T")]
    em.place(Order("S", "entry", -1, NAN))
    bar(em, 4, 100, 100.5, 99.5, 100)  # short 1 @ 100
    em.place_exit(ExitOrder("U", "S", trail_points=5, trail_offset=2))
    # open -> high -> low 93.4 (armed at 95; 93.4 + 2 = 95.4, a buy stop: up to 96)
    # -> close 95.5: the raw 95.4 would have filled, the rounded 96 is not reached
    assert bar(em, 5, 99, 99.5, 93.4, 95.5) == []
    assert bar(em, 6, 95.5, 96.2, 95, 96) == [(1, 1.0, 96, "U")]


def test_oca_cancel_and_reduce_groups():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN, stop=103, oca_name="g", oca_type="cancel"))
    em.place(Order("S", "entry", -1, NAN, stop=90, oca_name="g", oca_type="cancel"))
    bar(em, 1, 100, 104, 99, 103)
    assert em.pending == {}
    em = emulator()
    em.book.execute(1, 2.0, 100, "L", 0)
    em.place(Order("TP", "order", -1, 1.0, limit=105, oca_name="b", oca_type="reduce"))
    em.place(Order("SL", "order", -1, 2.0, stop=95, oca_name="b", oca_type="reduce"))
    assert bar(em, 1, 101, 106, 100, 104) == [(-1, 1.0, 105, "TP")]
    assert em.pending["SL"].qty == 1.0


def test_percent_of_equity_sizing_is_frozen_at_the_signal_close_and_commission_is_charged():
    em = emulator(default_qty_type="percent_of_equity", default_qty_value=50,
                  commission_value=0.1)
    em.place(Order("L", "entry", 1, NAN))  # sized at close 100 with equity 1e6
    qty = em.pending["L"].qty
    assert qty == pytest.approx(1e6 * 0.5 / (100 * 1.001), abs=1e-8)
    bar(em, 1, 120, 121, 119, 120)
    assert em.book.netprofit == pytest.approx(-qty * 120 * 0.001)


def test_intraday_filled_orders_limit_closes_and_halts_until_the_next_day():
    em = emulator()
    em.max_fills_day = 2
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 101, 99, 100)
    em.place(Order("S", "entry", -1, NAN))
    bar(em, 2, 100, 101, 99, 100)
    assert em.halted and list(em.pending) == ["risk close"]
    em.place(Order("L", "entry", 1, NAN))
    assert "L" not in em.pending
    bar(em, 30, 100, 101, 99, 100)  # next UTC day: the halt is lifted
    assert not em.halted and em.book.position == 0


def _bars() -> pd.DataFrame:
    rows = [(100, 101, 99, 100), (100, 102, 99, 101), (101, 112, 100, 111),
            (111, 112, 104, 105), (105, 106, 90, 95), (95, 96, 94, 95), (95, 97, 93, 96),
            (96, 120, 95, 119), (119, 120, 118, 119), (119, 121, 118, 120)]
    index = pd.date_range("2023-01-01", periods=len(rows), freq="h")
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"], index=index, dtype=float)
    frame["Volume"] = 1.0
    return frame


EXIT_SCRIPT = '''strategy("exits")
if bar_index == 1 or bar_index == 5
    strategy.entry("L", strategy.long)
strategy.exit("X", "L", profit=1000, loss=800)
'''


def test_exits_become_real_backtesting_fills_at_the_emulated_prices():
    trades = run_source(EXIT_SCRIPT, _bars(), params={"syminfo_mintick": 0.01})
    # bar 2: entry at the open 101, take profit at 101 + 10 = 111 on the same bar
    # bar 6: entry at 95, stop 87 never reached, target 105 reached on bar 7
    assert trades[["EntryBar", "ExitBar"]].to_numpy().tolist() == [[2, 2], [6, 7]]
    np.testing.assert_allclose(trades["EntryPrice"], [101, 95])
    np.testing.assert_allclose(trades["ExitPrice"], [111, 105])
    bars = _bars()
    for _, t in trades.iterrows():
        for when, price in (("EntryBar", "EntryPrice"), ("ExitBar", "ExitPrice")):
            row = bars.iloc[int(t[when])]
            assert row.Low <= t[price] <= row.High


def test_an_order_the_engine_refuses_stops_the_run_with_a_clear_error():
    from core.engine import backtest as engine
    from core.pine.translation.api import translate
    from core.pine.runtime import MirrorError
    from sandbox.child import load_strategy_class

    # Issue 14: "where a setting truly forbids an order, the run says which setting, in plain
    # words, at the Pine line that placed it"
    source = 'strategy("s")\nif bar_index == 2\n    strategy.entry("S", strategy.short)\n'
    cls = load_strategy_class(translate(source).python_source)
    settings = engine.EngineSettings(cash_usdt=1e6, allow_short=False)
    with pytest.raises(MirrorError) as info:
        engine.run(cls, _bars(), settings)
    said = str(info.value)
    assert "order id 'S', placed by strategy.entry at Pine line 3" in said, said
    assert "spot without margin, which forbids short selling" in said, said


def test_an_order_below_the_minimum_notional_is_refused_naming_the_setting_and_the_line():
    from core.engine import backtest as engine
    from core.pine.translation.api import translate
    from core.pine.runtime import MirrorError
    from sandbox.child import load_strategy_class

    source = ('strategy("s")\nif bar_index == 1\n    strategy.entry("L", strategy.long)\n'
              'if bar_index == 3\n    strategy.close("L")\n')
    cls = load_strategy_class(translate(source).python_source)
    settings = engine.EngineSettings(cash_usdt=1e6, min_notional_usdt=1e9, mirror=True,
                                     finalize_at_close=True)
    with pytest.raises(MirrorError) as info:
        engine.run(cls, _bars(), settings)
    said = str(info.value)
    assert said.startswith("bar 2: "), said
    assert "order id 'L', placed by strategy.entry at Pine line 3" in said, said
    assert "below the symbol's minimum notional" in said, said


def test_max_drawdown_closes_and_stops_for_good():
    em = emulator(default_qty_value=1000.0)  # 1000 contracts: 1 point = 1000 of equity
    em.max_drawdown = (1.0, "percent_of_equity")  # 1 % of the 1e6 peak = 10,000
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 101, 99, 100)   # long 1000 @ 100
    bar(em, 2, 100, 100, 95, 95)    # close 95: -5,000, within the limit
    assert not em.halted
    bar(em, 3, 95, 95, 88, 89)      # close 89: -11,000 from the peak -> fire
    assert em.halted and em.stopped and list(em.pending) == ["risk close"]
    assert bar(em, 4, 90, 91, 89, 90) == [(-1, 1000.0, 90, "risk close")]
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 40, 90, 91, 89, 90)     # days later: still stopped, nothing placed
    assert em.book.position == 0 and "L" not in em.pending and em.halted


def test_max_drawdown_in_cash_and_not_fired_below_it():
    em = emulator(default_qty_value=10.0)
    em.max_drawdown = (100.0, "cash")
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 101, 99, 100)
    bar(em, 2, 100, 100, 91, 91)    # -90 < 100
    assert not em.halted
    bar(em, 3, 91, 91, 89, 89)      # -110 > 100
    assert em.stopped


def test_max_position_size_reduces_entries_and_skips_when_full():
    em = emulator(default_qty_value=3.0, pyramiding=5)
    em.max_position = 5.0
    em.place(Order("L1", "entry", 1, NAN))
    assert bar(em, 1, 100, 101, 99, 100) == [(1, 3.0, 100, "L1")]
    em.place(Order("L2", "entry", 1, NAN))
    assert bar(em, 2, 100, 101, 99, 100) == [(1, 2.0, 100, "L2")]  # reduced to fit 5
    em.place(Order("L3", "entry", 1, NAN))
    assert bar(em, 3, 100, 101, 99, 100) == []  # nothing fits: not placed
    em.place(Order("S", "entry", -1, NAN))  # reversal: closes 5, opens at most 5 short
    assert bar(em, 4, 100, 101, 99, 100) == [(-1, 8.0, 100, "S")]
    assert em.book.position == -3.0


# --- tick rounding (issue 14, D1). TradingView (pine.md R3): "Prices are rounded to the tick
# grid, against the order": a buy stop up and a sell stop down to syminfo.mintick before the
# level is compared with the bar; limit orders and strategy.exit levels follow the same rule
# (a buy's level up, a sell's level down).

def test_a_stop_one_tick_above_the_high_is_on_the_grid_despite_float_noise():
    em = Emulator(BrokerSettings(mintick=0.00001))
    em.book.close_price = 1.0968
    level = 1.09688 + 0.00001  # 1.0968900000000001 in floats: TradingView keeps 1.09689
    em.place(Order("L", "entry", 1, NAN, stop=level))
    assert em.pending["L"].stop == 1.09689
    fills = em.process_bar(1, T0 + HOUR, 1.0968, 1.09689, 1.0967, 1.0968)
    assert [(f.side, f.price) for f in fills] == [(1, 1.09689)]  # the exact touch fills


def test_stop_and_limit_entries_are_rounded_against_the_order():
    em = emulator()  # mintick 1
    em.place(Order("BS", "entry", 1, NAN, stop=100.3))
    em.place(Order("SS", "entry", -1, NAN, stop=99.7))
    em.place(Order("BL", "order", 1, NAN, limit=95.2))
    em.place(Order("SL", "order", -1, NAN, limit=105.8))
    levels = [o.limit if math.isnan(o.stop) else o.stop for o in em.pending.values()]
    assert levels == [101, 99, 96, 105]
    # bar high 100.5 reaches the raw 100.3 but not the rounded 101: the buy stop does not fill
    assert bar(em, 1, 100, 100.5, 99.5, 100) == []


def test_exit_levels_are_rounded_sells_down_buys_up():
    em = emulator()
    em.place(Order("L", "entry", 1, NAN))
    bar(em, 1, 100, 100, 100, 100)  # long 1 @ 100
    em.place_exit(ExitOrder("X", "L", stop=97.6, limit=104.2))  # sells: 97 and 104
    assert bar(em, 2, 100, 103.9, 97.5, 100) == []  # neither 97 nor 104 reached
    assert bar(em, 3, 100, 104.0, 99.0, 100) == [(-1, 1.0, 104, "X")]
    em.place(Order("S", "entry", -1, NAN))
    bar(em, 4, 100, 100, 100, 100)  # short 1 @ 100
    em.place_exit(ExitOrder("Y", "S", stop=102.2, loss=NAN))  # a buy stop: 103
    assert bar(em, 5, 100, 102.9, 99, 100) == []
    assert bar(em, 6, 100, 103.5, 99, 100) == [(1, 1.0, 103, "Y")]


def test_exit_levels_in_ticks_stay_on_the_grid():
    em = Emulator(BrokerSettings(mintick=0.1))
    em.book.close_price = 100.0
    em.place(Order("L", "entry", 1, NAN))
    em.process_bar(1, T0 + HOUR, 100.05, 100.05, 100.05, 100.05)  # off-grid fill 100.05
    em.place_exit(ExitOrder("X", "L", profit=3))  # 100.05 + 0.3 = 100.35: a sell, down to 100.3
    fills = em.process_bar(2, T0 + 2 * HOUR, 100.1, 100.3, 100.0, 100.2)
    assert [(f.side, f.price) for f in fills] == [(-1, 100.3)]


def test_the_trade_open_at_the_end_is_valued_at_the_last_close():
    # TradingView marks a trade still open at the end at the last bar's close (its Open P&L);
    # backtesting.py's finalize_trades would close it at the last bar's open (119 here).
    source = 'strategy("s")\nif bar_index == 6\n    strategy.entry("L", strategy.long)\n'
    trades = run_source(source, _bars())
    assert trades[["EntryBar", "ExitBar"]].to_numpy().tolist() == [[7, 9]]
    assert trades["EntryPrice"].tolist() == [96.0] and trades["ExitPrice"].tolist() == [120.0]


# TradingView (issue 14, D5, measured on its exports: 437 of 2,303 entries of one export fill
# outside their bar): "slippage" ticks move a market or stop fill against the order in full,
# even where the fill lands beyond the bar's high or low. The engine fills the mirrored order at
# the unslipped price and adds the slippage; the host allows exactly strategy(slippage=N) ticks
# beyond the bar and nothing more.
SLIPPED_SCRIPT = '''strategy("slipped", slippage=3)
if bar_index == 0
    strategy.entry("L", strategy.long)
if bar_index == 2
    strategy.close("L")
'''


def _slip_bars() -> pd.DataFrame:
    rows = [(100, 101, 99, 100),    # bar 0: the entry is placed at the close
            (100, 100.5, 99, 100),  # bar 1: market buy at the open 100 + 3 x 0.5 = 101.5 > high
            (100, 101, 99, 100),    # bar 2: the close is placed
            (99, 101, 99, 100),     # bar 3: market sell at the open 99 - 1.5 = 97.5 < low 99
            (100, 101, 99, 100)]
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"], dtype=float,
                         index=pd.date_range("2023-01-01", periods=len(rows), freq="h"))
    frame["Volume"] = 1.0
    return frame


def _check_slipped(trades: pd.DataFrame, bars: pd.DataFrame, out: Path, beyond: float) -> None:
    import dataclasses

    from core.runs.result_check import check_result
    from tests.unit.pine.harness import engine_settings

    out.mkdir(exist_ok=True)
    equity = np.full(len(bars), 1e6)
    equity[-2:] += float(trades["PnL"].sum())
    pd.DataFrame({"equity": equity}, index=bars.index).to_parquet(out / "equity.parquet")
    trades.to_parquet(out / "trades.parquet")
    broker = {**dataclasses.asdict(engine_settings()), "maker_fee_rate": 0.0,
              "taker_fee_rate": 0.0, "mirror_slippage": beyond}
    check_result(out, bars, {"trades": len(trades)}, cash_usdt=1e6, commission=0.0,
                 broker=broker, pine=True)


def test_slippage_applies_in_full_beyond_the_bar_and_the_host_allows_exactly_that(tmp_path):
    from core.errors import SandboxError

    bars = _slip_bars()
    trades = run_source(SLIPPED_SCRIPT, bars, params={"syminfo_mintick": 0.5})
    assert trades[["EntryBar", "ExitBar"]].to_numpy().tolist() == [[1, 3]]
    assert trades[["EntryPrice", "ExitPrice"]].to_numpy().tolist() == [[101.5, 97.5]]
    assert trades["Slippage"].tolist() == [3.0]  # 1.5 at entry and at exit, one coin
    _check_slipped(trades, bars, tmp_path / "ok", beyond=1.5)  # 3 ticks of 0.5: accepted
    with pytest.raises(SandboxError, match="outside its bar's low-high range widened by the 1 "):
        _check_slipped(trades, bars, tmp_path / "less", beyond=1.0)  # 2 ticks: an engine bug
    with pytest.raises(SandboxError, match="outside its bar's low-high range"):
        _check_slipped(trades, bars, tmp_path / "none", beyond=0.0)


def test_an_order_placed_on_bar_0_with_an_na_stop_fills_at_bar_1_open():
    # TradingView runs the script on bar 0 too; a stop entry whose level is na (ta.lowest still
    # warming up) is sent as a market order and fills at the next bar's open (issue 14, D2:
    # ChannelBreakOut's first trade). Before, orders of bar 0 were dropped.
    source = ('strategy("s")\nlo = ta.lowest(low, 2)\nif bar_index == 0\n'
              '    strategy.entry("S", strategy.short, stop=lo)\n')
    trades = run_source(source, _bars())
    assert trades[["EntryBar", "EntryPrice", "Size"]].to_numpy().tolist() == [[1, 100.0, -1]]
