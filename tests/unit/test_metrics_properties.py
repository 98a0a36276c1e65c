"""Hypothesis properties of core.analytics.metrics and core.analytics.trade_stats: no trades -> zero return,
drawdown within [0, 1], returns and ratios invariant to the scale of capital."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analytics import metrics, trade_stats

EMPTY_TRADES = pd.DataFrame({c: [] for c in ("Size", "EntryBar", "ExitBar", "PnL", "ReturnPct",
                                             "EntryTime", "ExitTime", "Commission")})
returns_lists = st.lists(st.floats(min_value=-0.3, max_value=0.3, allow_nan=False), min_size=3,
                         max_size=120)


def _equity(rets: list[float], start: float = 10_000.0) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=len(rets) + 1, freq="6h")
    return pd.Series(start * np.cumprod(np.r_[1.0, 1.0 + np.asarray(rets)]), index=idx)


def _inputs(equity: pd.Series, trades: pd.DataFrame = EMPTY_TRADES) -> metrics.Inputs:
    return metrics.Inputs(equity=equity, trades=trades, benchmark=equity * 0 + 50.0)


@settings(max_examples=40, deadline=None)
@given(bars=st.integers(min_value=2, max_value=300),
       cash=st.floats(min_value=1.0, max_value=1e9))
def test_no_trades_means_zero_return(bars: int, cash: float) -> None:
    idx = pd.date_range("2024-01-01", periods=bars, freq="1h")
    values = metrics.compute(_inputs(pd.Series(cash, index=idx)))
    assert values["total_return"] == 0.0
    assert values["cagr"] == 0.0
    assert values["max_drawdown"] == 0.0
    assert values["total_trades"] == 0.0
    for name in ("win_rate", "profit_factor", "expectancy", "sqn", "kelly_criterion",
                 "avg_trade_duration", "omega_ratio"):  # undefined (0 / 0 for Omega)
        assert math.isnan(values[name]), name
    for name in ("var_95", "cvar_95"):  # no "-0.00%"
        assert metrics.format_value(name, values[name]) == "0.00%", name
    sides = trade_stats.compute_by_side(_inputs(pd.Series(cash, index=idx)))
    assert all(sides[s]["net_profit"] == 0.0 for s in trade_stats.SIDES)
    assert all(math.isnan(sides[s]["percent_profitable"]) for s in trade_stats.SIDES)


@settings(max_examples=60, deadline=None)
@given(rets=returns_lists)
def test_drawdown_is_a_fraction_between_zero_and_one(rets: list[float]) -> None:
    inp = _inputs(_equity(rets))
    assert 0.0 <= metrics.max_drawdown(inp) <= 1.0
    assert metrics.max_drawdown_duration(inp) >= 0.0
    assert trade_stats.max_drawdown_usdt(inp) >= 0.0


@settings(max_examples=60, deadline=None)
@given(rets=returns_lists, scale=st.floats(min_value=1e-3, max_value=1e6))
def test_returns_and_ratios_are_scale_invariant(rets: list[float], scale: float) -> None:
    base = metrics.compute(_inputs(_equity(rets)))
    scaled = metrics.compute(_inputs(_equity(rets, start=10_000.0 * scale)))
    names = ["total_return", "cagr", "volatility", "sharpe_ratio", "sortino_ratio",
             "max_drawdown", "omega_ratio", "var_95", "cvar_95", "annualized_return",
             "max_drawdown_duration"]
    if base["max_drawdown"] > 1e-9:  # Calmar is 0 below a 1e-12 drawdown (float noise): a
        names.append("calmar_ratio")  # drawdown near that line may fall either side of it
    for name in names:
        assert scaled[name] == pytest.approx(base[name], rel=1e-7, abs=1e-9, nan_ok=True), name
