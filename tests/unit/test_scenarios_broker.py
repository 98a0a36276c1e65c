"""Candle-scenario tables (freqtrade style) pinning the crypto broker's behaviour.

Each scenario is a handful of hourly OHLC rows with a comment per row, a script of strategy
actions (placed in ``next()`` of the given bar, so market orders fill at the next bar's open),
and the exact trades expected. Prices are chosen so every expected figure is checkable by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest
from backtesting import Strategy

from core.engine import backtest as engine
from core.sizing import coins

APPROX = dict(rel=1e-12, abs=1e-9)


def candles(rows: list[tuple[float, float, float, float]], *, start: str = "2024-01-01 06:00",
            freq: str = "1h") -> pd.DataFrame:
    """OHLC rows -> a backtesting.py frame with a DatetimeIndex."""
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"])
    frame["Volume"] = 1.0
    frame.index = pd.date_range(start, periods=len(rows), freq=freq)
    return frame


def scripted(actions: dict[int, list[tuple[str, dict]]]) -> type:
    """A Strategy that performs ``actions[bar]`` (method name, kwargs) in next() of that bar."""

    class Script(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            for name, kwargs in actions.get(len(self.data) - 1, []):
                if name == "close":
                    self.position.close()
                else:
                    getattr(self, name)(**kwargs)

    return Script


def run(rows: list, actions: dict, *, funding: pd.Series | None = None,
        start: str = "2024-01-01 06:00", **settings: object) -> engine.EngineOutput:
    """Run ``actions`` on ``rows`` with EngineSettings(cash_usdt=10_000, **settings)."""
    data = candles(rows, start=start)
    config = engine.EngineSettings(**{"cash_usdt": 10_000.0, **settings})
    return engine.run(scripted(actions), data, config, funding=funding)


def trade(out: engine.EngineOutput, n: int = 0) -> pd.Series:
    return out.trades.iloc[n]


# -- fees: maker for limit orders and take-profits, taker for market orders and closes ------------
def test_maker_vs_taker_fee() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 1 coin at market, TP 105 -> fills at bar 2 open (taker)
        (100, 102, 99, 101),   # 2 entry at 100; TP not reached
        (103, 106, 102, 104),  # 3 TP limit 105 fills (maker)
        (104, 104, 100, 101),  # 4 limit buy at 100.5 placed
        (101, 101, 100, 100),  # 5 limit fills at 100.5 (maker); market close placed
        (102, 103, 101, 102),  # 6 close fills at open 102 (taker)
    ]
    out = run(rows, {1: [("buy", {"size": coins(1), "tp": 105})],
                     4: [("buy", {"size": coins(1), "limit": 100.5})], 5: [("close", {})]},
              maker_fee_rate=0.0002, taker_fee_rate=0.0005)
    first, second = trade(out, 0), trade(out, 1)
    assert (first.EntryPrice, first.ExitPrice, first.ExitReason) == (100, 105, "take_profit")
    assert first.EntryFee == pytest.approx(100 * 0.0005, **APPROX)  # market entry: taker
    assert first.Commission == pytest.approx(100 * 0.0005 + 105 * 0.0002, **APPROX)  # TP: maker
    assert first.PnL == pytest.approx(5 - 0.071, **APPROX)
    assert (second.EntryPrice, second.ExitPrice, second.ExitReason) == (100.5, 102, "signal")
    assert second.Commission == pytest.approx(100.5 * 0.0002 + 102 * 0.0005, **APPROX)
    assert out.equity.iloc[-1] == pytest.approx(10_000 + first.PnL + second.PnL, **APPROX)


# -- slippage: always against the trader, never outside the bar ---------------------------------
def test_slippage_fixed_bps_direction_on_buys_and_sells() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 2 coins at market
        (100, 102, 99, 101),   # 2 buy fills at 100 * (1 + 10 bps) = 100.1; close placed
        (110, 111, 109, 110),  # 3 sell fills at 110 * (1 - 10 bps) = 109.89; sell short placed
        (110, 110.05, 108, 109),  # 4 short entry sells at 109.89; buy-to-cover placed
        (100, 100.05, 99, 100),   # 5 cover buys at 100.1 capped to the bar high 100.05
    ]
    out = run(rows, {1: [("buy", {"size": coins(2)})], 2: [("close", {})],
                     3: [("sell", {"size": coins(1)})], 4: [("close", {})]}, slippage_bps=10)
    long, short = trade(out, 0), trade(out, 1)
    assert long.EntryPrice == pytest.approx(100.1) and long.ExitPrice == pytest.approx(109.89)
    assert long.Slippage == pytest.approx(2 * (0.1 + 0.11), **APPROX)
    assert long.PricePnL == pytest.approx(2 * (110 - 100), **APPROX)
    assert long.PnL == pytest.approx(long.PricePnL - long.Slippage, **APPROX)
    assert short.EntryPrice == pytest.approx(109.89) and short.ExitPrice == pytest.approx(100.05)
    assert short.Slippage == pytest.approx(0.11 + 0.05, **APPROX)


def test_slippage_scaled_by_bar_range() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 1 coin at market
        (100, 104, 96, 101),   # 2 fill: open 100 + 0.1 * range 8 = 100.8; close placed
        (101, 102, 100, 101),  # 3 exit: open 101 - 0.1 * range 2 = 100.8
    ]
    out = run(rows, {1: [("buy", {"size": coins(1)})], 2: [("close", {})]},
              slippage_range_frac=0.1)
    t = trade(out)
    assert (t.EntryPrice, t.ExitPrice) == (pytest.approx(100.8), pytest.approx(100.8))
    assert t.Slippage == pytest.approx(0.8 + 0.2, **APPROX)


# -- liquidation: isolated margin, exact price, liquidation fee ----------------------------------
LIQ_LONG = 100 * (1 - 1 / 10) / (1 - 0.004)  # 90.36144578...
LIQ_SHORT = 100 * (1 + 1 / 10) / (1 + 0.004)  # 109.56175298...


@pytest.mark.parametrize(("side", "adverse_bar", "liq"), [
    ("buy", (97, 98, 90, 91), LIQ_LONG),     # low 90 passes the long's 90.36
    ("sell", (103, 110, 102, 109), LIQ_SHORT),  # high 110 passes the short's 109.56
])
def test_liquidation_at_the_exact_price(side: str, adverse_bar: tuple, liq: float) -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 open 10 coins at 10x
        (100, 101, 99, 100),   # 2 entry at 100
        (100, 101, 97, 98 if side == "buy" else 102),  # 3 adverse, still above maintenance
        adverse_bar,           # 4 the adverse extreme crosses the liquidation price
        (95, 96, 94, 95),      # 5 nothing left to do
    ]
    out = run(rows, {1: [(side, {"size": coins(10)})]}, perp=True, margin=0.1,
              maintenance_margin_rate=0.004, liquidation_fee_rate=0.005, allow_short=True)
    assert len(out.trades) == 1
    t = trade(out)
    assert t.ExitReason == "liquidation" and t.ExitBar == 4
    assert t.ExitPrice == pytest.approx(liq, rel=1e-12)
    # liquidation fee (0.5 %, no taker), out of what is left of the isolated margin: at the
    # liquidation price exactly the maintenance margin (0.4 % of the notional) is left, so the
    # fee is capped there and the position loses exactly its margin, 10 x 100 / 10 = 100
    assert t.Commission == pytest.approx(10 * liq * 0.004, **APPROX)
    sign = 1 if side == "buy" else -1
    assert t.PnL == pytest.approx(sign * 10 * (liq - 100) - t.Commission, **APPROX)
    assert list(out.events["rule"]) == ["liquidation"]
    assert out.events["time"].iloc[0] == out.equity.index[4]


def test_liquidation_on_a_gap_fills_at_the_open() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 10 coins at 10x
        (100, 101, 99, 100),   # 2 entry at 100
        (88, 89, 87, 88),      # 3 opens below the 90.36 liquidation price: filled at the open
    ]
    out = run(rows, {1: [("buy", {"size": coins(10)})]}, perp=True, margin=0.1,
              maintenance_margin_rate=0.004, liquidation_fee_rate=0.005)
    assert (trade(out).ExitPrice, trade(out).ExitReason) == (88, "liquidation")
    assert trade(out).Commission == 0  # the margin was gone before the open: no fee is left
    assert trade(out).PnL == pytest.approx(-120, **APPROX)  # the gap beyond the margin (100)


def test_a_liquidation_loses_the_isolated_margin_and_nothing_more() -> None:
    # 990 coins at 10x: margin 9,900 + entry fee 99 (0.1 %, paid in full) of the 10,000 equity
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 990 coins
        (100, 101, 99, 100),   # 2 entry at 100
        (97, 98, 90, 91),      # 3 low 90 passes the 90.36 liquidation price
        (91, 92, 90, 91),      # 4 a new buy: refused, the account is blown
        (91, 92, 90, 91),      # 5
    ]
    out = run(rows, {1: [("buy", {"size": coins(990)})], 4: [("buy", {"size": coins(1)})]},
              perp=True, margin=0.1, commission=0.001, maintenance_margin_rate=0.004,
              liquidation_fee_rate=0.005)
    t = trade(out)
    assert t.ExitReason == "liquidation"
    assert t.PnL == pytest.approx(-9_900 - 99, **APPROX)  # the margin and the entry fee
    assert out.equity.min() >= 0
    assert out.equity.iloc[-1] == pytest.approx(1.0, **APPROX)  # 10,000 - 9,900 - 99
    assert list(out.events["rule"]) == ["liquidation", "account_blown"]
    assert "trading stopped" in out.events["detail"].iloc[1]
    assert out.rejected == {"risk_halt": 1} and len(out.trades) == 1


def test_leveraged_entries_pay_the_whole_fee_from_equity() -> None:
    # 999 coins at 10x need 9,990 margin + 99.9 fee > 10,000: refused (backtesting.py's margin
    # arithmetic would leverage the fee too, 9,990 + 9.99, and let equity go below zero later)
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    out = run(rows, {1: [("buy", {"size": coins(999)})]}, perp=True, margin=0.1,
              commission=0.001)
    assert out.rejected == {"insufficient_margin": 1} and out.trades.empty


# -- funding: longs pay positive rates, shorts receive them ---------------------------------------
@pytest.mark.parametrize(("side", "rate", "expected"), [
    ("buy", 0.0001, -2 * 101 * 0.0001),    # long pays 0.01 % of 2 x 101
    ("sell", 0.0001, +2 * 101 * 0.0001),   # short receives it
    ("buy", -0.0002, +2 * 101 * 0.0002),   # negative rate: long receives
    ("sell", -0.0002, -2 * 101 * 0.0002),  # negative rate: short pays
])
def test_funding_sign_for_long_and_short(side: str, rate: float, expected: float) -> None:
    rows = [
        (100, 100, 100, 100),  # 0 06:00 warm-up
        (100, 101, 99, 100),   # 1 07:00 open 2 coins
        (100, 102, 99, 101),   # 2 08:00 entry at 100 (funding before the fill would not apply)
        (101, 102, 100, 101),  # 3 09:00 funding time: mark = open 101, position held; close placed
        (101, 102, 100, 101),  # 4 10:00 exit at 101
    ]
    funding = pd.Series([rate, rate],
                        index=pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00"]))
    out = run(rows, {1: [(side, {"size": coins(2)})], 3: [("close", {})]}, funding=funding,
              perp=True)
    t = trade(out)
    assert t.Funding == pytest.approx(expected, **APPROX)  # 17:00 is after the data
    assert t.PnL == pytest.approx((1 if side == "buy" else -1) * 2 * (101 - 100) + expected,
                                  **APPROX)
    assert out.equity.iloc[-1] == pytest.approx(10_000 + t.PnL, **APPROX)


def test_funding_is_not_charged_on_spot() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (101, 102, 100, 101),
            (101, 102, 100, 101), (101, 102, 100, 101)]
    funding = pd.Series([0.01], index=pd.to_datetime(["2024-01-01 08:00"]))
    out = run(rows, {1: [("buy", {"size": coins(2)})], 3: [("close", {})]}, funding=funding)
    assert trade(out).Funding == 0


# -- max drawdown halt ---------------------------------------------------------------------------
def test_max_drawdown_halt_flattens_and_stops_trading() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 50 coins (5,000 of 10,000 equity)
        (100, 101, 99, 100),   # 2 entry at 100
        (100, 100, 90, 90),    # 3 equity 9,500: -5 % from peak, under the 10 % limit
        (90, 90, 78, 79),      # 4 equity 8,950: -10.5 %: flattened at the close 79, halted
        (79, 85, 79, 84),      # 5 the strategy buys again: refused (halted)
        (84, 86, 83, 85),      # 6 nothing traded
    ]
    out = run(rows, {1: [("buy", {"size": coins(50)})], 5: [("buy", {"size": coins(1)})]},
              max_drawdown_halt=0.10)
    assert len(out.trades) == 1
    t = trade(out)
    assert (t.ExitPrice, t.ExitBar, t.ExitReason) == (79, 4, "risk_halt")
    assert list(out.events["rule"]) == ["max_drawdown_halt"]
    assert out.rejected == {"risk_halt": 1}
    assert out.equity.iloc[-1] == pytest.approx(10_000 - 50 * 21, **APPROX)


def test_max_daily_loss_halts_until_the_next_utc_day() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 day 1 20:00 warm-up
        (100, 101, 99, 100),   # 1 21:00 buy 50 coins
        (100, 101, 99, 100),   # 2 22:00 entry at 100
        (100, 100, 93, 94),    # 3 23:00 -3 % for the day (limit 2 %): flattened at 94
        (94, 95, 93, 94),      # 4 day 2 00:00 a new day: trading allowed again, buy 1 coin
        (94, 95, 93, 95),      # 5 01:00 entry at 94
    ]
    out = run(rows, {1: [("buy", {"size": coins(50)})], 3: [("buy", {"size": coins(1)})],
                     4: [("buy", {"size": coins(1)})]}, start="2024-01-01 20:00",
              max_daily_loss=0.02)
    assert list(out.trades["ExitReason"]) == ["risk_halt", "end_of_data"]
    assert trade(out, 1).EntryPrice == 94
    assert list(out.events["rule"]) == ["max_daily_loss"]


# -- lot step and minimum notional ---------------------------------------------------------------
def test_lot_step_and_min_notional_reject_and_count() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 coins(0.0004) < lot 0.001; coins(0.05) = 5 USDT < 10 minimum
        (100, 101, 99, 100),   # 2 both refused; coins(0.1557) placed
        (100, 101, 99, 100),   # 3 fills 0.155 (floored to the lot step), then ends
    ]
    out = run(rows, {1: [("buy", {"size": coins(0.0004)}), ("buy", {"size": coins(0.05)})],
                     2: [("buy", {"size": coins(0.1557)})]},
              lot_step_coins=0.001, min_notional_usdt=10)
    assert out.rejected == {"below_lot_step": 1, "below_min_notional": 1}
    assert len(out.trades) == 1 and trade(out).Size == pytest.approx(0.155)


def test_small_account_buys_fractional_bitcoin() -> None:
    rows = [(60_000, 60_000, 60_000, 60_000),  # 0 warm-up
            (60_000, 60_100, 59_900, 60_000),  # 1 buy half of 1,000 USDT worth
            (60_000, 60_100, 59_900, 60_050)]  # 2 fills 500 / (60,000 x 1.001) -> 0.00832 BTC
    out = run(rows, {1: [("buy", {"size": 0.5})]}, cash_usdt=1_000, lot_step_coins=0.00001,
              taker_fee_rate=0.001)
    assert trade(out).Size == 0.00832  # floored to the 0.00001 lot step, fee included


def test_whole_number_sizes_are_whole_coins() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    out = run(rows, {1: [("buy", {"size": 3})]}, lot_step_coins=0.001)
    assert trade(out).Size == 3


def test_shorting_spot_without_margin_is_refused() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    out = run(rows, {1: [("buy", {"size": coins(1)})], 2: [("sell", {"size": coins(3)})]},
              allow_short=False)
    assert out.rejected == {"short_not_allowed": 1}
    assert list(out.trades["Size"]) == [1]


# -- stop-loss and take-profit in one bar: the stop-loss wins ------------------------------------
def test_stop_loss_wins_when_both_hit_in_one_bar() -> None:
    """OHLC cannot tell which came first; assume the worse (backtesting.py orders SL before TP).

    Being pessimistic here is the only choice that never flatters a strategy.
    """
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy with SL 95 and TP 105
        (100, 101, 99, 100),   # 2 entry at 100
        (100, 106, 94, 100),   # 3 both 94 <= 95 and 106 >= 105: stop-loss at 95
        (100, 101, 99, 100),   # 4 flat
    ]
    out = run(rows, {1: [("buy", {"size": coins(1), "sl": 95, "tp": 105})]},
              taker_fee_rate=0.0005, maker_fee_rate=0.0002)
    t = trade(out)
    assert (t.ExitPrice, t.ExitReason) == (95, "stop_loss")
    assert t.Commission == pytest.approx(100 * 0.0005 + 95 * 0.0005, **APPROX)  # SL pays taker


def test_default_stop_loss_and_trailing_stop() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy without SL/TP
        (100, 101, 99, 100),   # 2 entry 100: default SL at 90 (10 %); trailing (5 %) moves it to 95
        (100, 111, 100, 110),  # 3 close 110: trailing SL raised to 104.5
        (108, 109, 104, 105),  # 4 low 104 <= 104.5: trailing stop fills at 104.5
    ]
    out = run(rows, {1: [("buy", {"size": coins(1)})]}, stop_loss_pct=0.10,
              trailing_stop_pct=0.05)
    t = trade(out)
    assert (t.ExitPrice, t.ExitReason) == (pytest.approx(104.5), "trailing_stop")
    assert list(out.events["rule"]) == ["trailing_stop"]
    assert out.events["time"].iloc[0] == out.equity.index[4]


def test_default_take_profit_applies_when_the_strategy_sets_none() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100), (101, 109, 100, 108)]
    out = run(rows, {1: [("buy", {"size": coins(1)})]}, take_profit_pct=0.05)
    assert (trade(out).ExitPrice, trade(out).ExitReason) == (105, "take_profit")
    assert list(out.events["rule"]) == ["default_take_profit"]


def test_max_position_size_cuts_the_order_and_records_it() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    out = run(rows, {1: [("buy", {"size": coins(80)})]}, max_position_pct=0.25,
              lot_step_coins=0.01)
    assert trade(out).Size == 25
    assert list(out.events["rule"]) == ["max_position_size"]


def test_liquidation_can_be_switched_off_for_mirroring_runtimes() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100), (88, 89, 87, 88)]
    out = run(rows, {1: [("buy", {"size": coins(10)})]}, perp=True, margin=0.1,
              maintenance_margin_rate=0.004, liquidate=False)
    assert trade(out).ExitReason == "end_of_data"
