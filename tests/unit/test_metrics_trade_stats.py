"""TradingView performance summary (core.analytics.trade_stats) on a small hand-checked trade table, and
the trade-based extras in core.analytics.metrics (SQN, Kelly, expectancy, exposure, drawdown duration)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.analytics import metrics, trade_stats

IDX = pd.date_range("2024-01-01", periods=20, freq="1h")
# Five trades over 20 bars; the last one is still open at the end (exit on the last bar).
TRADES = pd.DataFrame({
    "Size": [1.0, 2.0, -1.5, -1.0, 0.5],      # long, long, short, short, long (open)
    "EntryBar": [1, 3, 6, 10, 15],
    "ExitBar": [4, 6, 9, 14, 19],               # trade 2 overlaps trade 1 on bar 3
    "PnL": [100.0, -40.0, 30.0, 0.0, 25.0],     # the 0.0 trade is neither win nor loss
    "Commission": [1.0, 2.0, 1.5, 1.0, 0.5],
    "ReturnPct": [0.02, -0.01, 0.015, 0.0, 0.01],
    "EntryPrice": [100.0] * 5, "ExitPrice": [100.0] * 5,
    "EntryTime": IDX[[1, 3, 6, 10, 15]], "ExitTime": IDX[[4, 6, 9, 14, 19]],
    "Tag": [""] * 5,
})


@pytest.fixture
def inp() -> metrics.Inputs:
    equity = pd.Series(np.linspace(1000.0, 1115.0, 20), index=IDX)
    equity.iloc[8] = 900.0  # a drawdown from 1048.42 to 900
    return metrics.Inputs(equity=equity, trades=TRADES, benchmark=equity)


def test_all_long_short_columns(inp: metrics.Inputs) -> None:
    s = trade_stats.compute_by_side(inp)
    assert s["all"]["net_profit"] == 90.0                   # 100 - 40 + 30 + 0
    assert s["long"]["net_profit"] == 60.0
    assert s["short"]["net_profit"] == 30.0
    assert s["all"]["gross_profit"] == 130.0
    assert s["all"]["gross_loss"] == 40.0
    assert s["all"]["closed_profit_factor"] == pytest.approx(130.0 / 40.0)
    assert s["short"]["closed_profit_factor"] == math.inf
    assert s["all"]["open_pnl"] == 25.0 and s["short"]["open_pnl"] == 0.0
    assert s["all"]["total_closed_trades"] == 4.0 and s["all"]["total_open_trades"] == 1.0
    assert (s["all"]["winning_trades"], s["all"]["losing_trades"]) == (2.0, 1.0)
    assert s["all"]["percent_profitable"] == 0.5
    assert s["all"]["avg_trade"] == 22.5
    assert s["all"]["avg_winning_trade"] == 65.0 and s["all"]["avg_losing_trade"] == 40.0
    assert s["all"]["ratio_avg_win_loss"] == pytest.approx(65.0 / 40.0)
    assert s["all"]["largest_winning_trade"] == 100.0
    assert s["all"]["largest_losing_trade"] == 40.0
    assert s["all"]["commission_paid"] == 6.0               # open trade's commission included
    assert s["all"]["avg_bars_in_trades"] == 3.25           # (3 + 3 + 3 + 4) / 4
    assert s["all"]["avg_bars_in_winning_trades"] == 3.0
    assert s["long"]["max_contracts_held"] == 3.0           # trades 1 and 2 overlap on bar 3
    assert s["short"]["max_contracts_held"] == 1.5          # trades 3 and 4 do not overlap
    assert s["all"]["net_profit_pct"] == pytest.approx(90.0 / 1000.0)


def test_equity_statistics_are_all_only(inp: metrics.Inputs) -> None:
    s = trade_stats.compute_by_side(inp)
    assert "max_runup_usdt" in s["all"] and "max_runup_usdt" not in s["long"]
    expected_dd = float((inp.equity.cummax() - inp.equity).max())
    assert s["all"]["max_drawdown_usdt"] == pytest.approx(expected_dd)
    assert s["all"]["max_runup_usdt"] == pytest.approx(1115.0 - 900.0)


def test_stored_exit_reason_decides_what_is_open(inp: metrics.Inputs) -> None:
    trades = TRADES.assign(ExitReason=["signal", "signal", "stop", "signal", "signal"])
    s = trade_stats.compute_by_side(metrics.Inputs(equity=inp.equity, trades=trades,
                                                   benchmark=inp.benchmark))
    assert s["all"]["total_open_trades"] == 0.0 and s["all"]["net_profit"] == 115.0


def test_a_finalized_trade_is_counted_and_an_open_one_is_not(inp: metrics.Inputs) -> None:
    # Python runs: the trade closed on the last bar by finalize_trades is a closed trade
    done = TRADES.assign(ExitReason=["signal", "signal", "stop", "signal", "end_of_data"])
    s = trade_stats.compute_by_side(metrics.Inputs(equity=inp.equity, trades=done,
                                                   benchmark=inp.benchmark))
    assert s["all"]["total_closed_trades"] == 5.0 and s["all"]["open_pnl"] == 0.0
    assert s["all"]["net_profit"] == 115.0 and s["all"]["percent_profitable"] == 3 / 5
    # Pine runs (TradingView): the trade still open at the end is Open P&L, not a closed trade
    held = done.assign(ExitReason=["signal", "signal", "stop", "signal", "open"])
    inp_held = metrics.Inputs(equity=inp.equity, trades=held, benchmark=inp.benchmark)
    s = trade_stats.compute_by_side(inp_held)
    assert s["all"]["total_closed_trades"] == 4.0 and s["all"]["open_pnl"] == 25.0
    assert s["all"]["net_profit"] == 90.0 and metrics.total_trades(inp_held) == 4.0
    assert metrics.win_rate(inp_held) == 0.5


def test_trade_extras_follow_backtesting_py(inp: metrics.Inputs) -> None:
    pnl = TRADES["PnL"]
    assert metrics.sqn(inp) == pytest.approx(math.sqrt(5) * pnl.mean() / pnl.std(ddof=1))
    win = 3 / 5
    assert metrics.kelly_criterion(inp) == pytest.approx(
        win - (1 - win) / (pnl[pnl > 0].mean() / 40.0))
    assert metrics.expectancy(inp) == pytest.approx(TRADES["ReturnPct"].mean())
    assert metrics.exposure(inp) == pytest.approx(19 / 20)  # bars 1..19 hold a position
    # peak at bar 7 (1042.4), under water at bar 8, recovered at bar 9: 2 hours
    assert metrics.max_drawdown_duration(inp) == pytest.approx(2 / 24)


def test_every_metric_has_a_definition_and_formats() -> None:
    infos = trade_stats.glossary()
    assert len({i.name for i in infos}) == len(infos)
    for info in infos:
        assert info.definition and info.label
        assert trade_stats.format_value(info.name, 1.5)
        assert trade_stats.format_value(info.name, None) == "—"
    assert trade_stats.format_value("closed_profit_factor", math.inf) == "∞"


def test_headline_trade_figures_are_the_summary_tables_closed_trade_figures(
        inp: metrics.Inputs) -> None:
    # One definition per figure (issue 14): the trade open at the end is an open trade, as in
    # TradingView's summary, for the headline cards (core.analytics.metrics) too.
    s = trade_stats.compute_by_side(inp)["all"]
    assert metrics.total_trades(inp) == s["total_closed_trades"] == 4.0
    assert metrics.win_rate(inp) == s["percent_profitable"] == 0.5
    assert metrics.profit_factor(inp) == s["closed_profit_factor"] == pytest.approx(130 / 40)


def test_a_blown_account_has_flat_months_and_a_rolling_sharpe() -> None:
    from reports import frames

    idx = pd.date_range("2024-01-01", periods=24 * 120, freq="1h")
    rng = np.random.default_rng(3)
    equity = pd.Series(1000.0 * np.cumprod(1 + rng.normal(0, 0.002, len(idx))), index=idx)
    equity.iloc[24 * 40:] = 0.0  # liquidated and blown on day 40: equity 0 from then on
    months = frames.monthly_returns(equity)
    assert months["ret"].notna().all()
    assert (months.loc[months["month"] > 2, "ret"] == 0).all()  # March, April: flat, not null
    daily = metrics.daily_returns(equity)
    assert len(daily) == 120 and daily.iloc[40] == -1.0 and (daily.iloc[41:] == 0).all()
    rolling = frames.rolling_stats(equity)
    assert len(rolling) == 120 - 30 + 1 and rolling["sharpe"].notna().all()
    assert (rolling["sharpe"].iloc[-1], rolling["volatility"].iloc[-1]) == (0.0, 0.0)
