"""Where our metric definitions agree with quantstats (periods=365), the values are equal to 1e-9.

quantstats gets exactly the daily returns core.analytics.metrics uses. Equity is on daily bars, where our
per-bar drawdown coincides with quantstats' daily one (docstrings say so); CAGR counts the run's
UTC days as quantstats counts daily returns, on any bars.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from core.analytics import metrics
from core.model import PERIODS_PER_YEAR

TOL = 1e-9


def _qs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import quantstats as qs
    return qs


def _inputs(seed: int, *, rf: float = 0.0, days: int = 400) -> metrics.Inputs:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2023-01-01", periods=days, freq="1D")
    equity = pd.Series(10_000 * np.cumprod(1 + rng.normal(0.001, 0.02, days)), index=idx)
    bench = pd.Series(100 * np.cumprod(1 + rng.normal(0.0005, 0.03, days)), index=idx)
    trades = pd.DataFrame({c: [] for c in ("Size", "EntryBar", "ExitBar", "PnL", "ReturnPct",
                                           "EntryTime", "ExitTime", "Commission")})
    return metrics.Inputs(equity=equity, trades=trades, benchmark=bench, risk_free_rate=rf)


def _call(func_name: str, *args, **kwargs) -> float:
    qs = _qs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(getattr(qs.stats, func_name)(*args, **kwargs))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_return_ratios_equal_quantstats(seed: int, rf: float) -> None:
    inp = _inputs(seed, rf=rf)
    r = inp.daily_returns.copy()
    p = PERIODS_PER_YEAR
    assert metrics.sharpe_ratio(inp) == pytest.approx(_call("sharpe", r, rf=rf, periods=p),
                                                      rel=TOL, abs=TOL)
    assert metrics.sortino_ratio(inp) == pytest.approx(_call("sortino", r, rf=rf, periods=p),
                                                       rel=TOL, abs=TOL)
    assert metrics.omega_ratio(inp) == pytest.approx(_call("omega", r, rf=rf, periods=p),
                                                     rel=TOL, abs=TOL)


@pytest.mark.parametrize("seed", [4, 5])
def test_risk_and_growth_equal_quantstats_on_daily_bars(seed: int) -> None:
    inp = _inputs(seed)
    r = inp.daily_returns.copy()
    p = PERIODS_PER_YEAR
    assert metrics.volatility(inp) == pytest.approx(_call("volatility", r, periods=p), rel=TOL)
    assert metrics.max_drawdown(inp) == pytest.approx(-_call("max_drawdown", r), rel=TOL)
    assert metrics.cagr(inp) == pytest.approx(_call("cagr", r, periods=p), rel=TOL)
    assert metrics.calmar_ratio(inp) == pytest.approx(_call("calmar", r, periods=p), rel=TOL)
    assert metrics.cvar_95(inp) == pytest.approx(
        -_call("cvar", r, method="historical"), rel=TOL)


def test_benchmark_relative_metrics_equal_quantstats() -> None:
    inp = _inputs(6)
    r, b = inp.daily_returns.copy(), inp.benchmark_daily_returns.copy()
    qs = _qs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        greeks = qs.stats.greeks(r, b, periods=PERIODS_PER_YEAR)
    assert metrics.beta(inp) == pytest.approx(float(greeks["beta"]), rel=TOL)
    assert metrics.alpha(inp) == pytest.approx(float(greeks["alpha"]), rel=TOL)
    # quantstats' information ratio is not annualised; ours is (docstring says so)
    assert metrics.information_ratio(inp) / math.sqrt(PERIODS_PER_YEAR) == pytest.approx(
        _call("information_ratio", r, b), rel=TOL)


def test_differing_definitions_are_documented() -> None:
    for name in ("var_95", "cvar_95", "information_ratio", "kelly_criterion", "sharpe_ratio",
                 "profit_factor", "max_drawdown", "cagr"):
        text = metrics.describe(name).definition
        assert "quantstats" in text or "backtesting.py" in text or "TradingView" in text, name
