"""How the lab's figures relate to backtesting.py's own statistics when the trades are identical.

With backtesting.py semantics (core.runs.semantics) a run's trades and equity equal backtesting.py
0.6.6's; most figures then agree too, but some are defined differently (the lab's definitions
are in core.analytics.metrics and core.analytics.trade_stats, annualised with 365 days). Each pair
below says which backtesting.py statistic a lab metric corresponds to and, when they differ, exactly
how. The Glossary page shows the table; tests/compat checks every "equal" pair and recomputes every
stated difference from backtesting.py's own output.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, slots=True, kw_only=True)
class StatPair:
    """A lab metric and its backtesting.py statistic: lab value = stat x scale when equal."""

    metric: str  # name in core.analytics.metrics / core.analytics.trade_stats
    stat: str  # key of backtesting.py's stats Series
    scale: float = 0.01  # backtesting.py reports percentages; the lab fractions
    difference: str = ""  # empty: equal with identical trades


EQUAL = "equal"
PAIRS = (
    StatPair(metric="total_return", stat="Return [%]"),
    StatPair(metric="cagr", stat="Return (Ann.) [%]",
             difference="the lab: (final / initial equity)^(365 / days) - 1, days = the UTC "
             "calendar days the run covers (as quantstats); backtesting.py's Return (Ann.) "
             "compounds the geometric mean of its daily returns, which start one day later (from "
             "the first day's close), so the two differ slightly; its CAGR [%] counts years of "
             "365.25 days"),
    StatPair(metric="max_drawdown", stat="Max. Drawdown [%]", scale=-0.01),
    StatPair(metric="calmar_ratio", stat="Calmar Ratio", scale=1.0,
             difference="the lab: its CAGR / max drawdown; backtesting.py: its Return (Ann.) / "
             "max drawdown (the same drawdown; the annual returns differ as in the CAGR row)"),
    StatPair(metric="exposure", stat="Exposure Time [%]"),
    StatPair(metric="total_trades", stat="# Trades", scale=1.0),
    StatPair(metric="win_rate", stat="Win Rate [%]"),
    StatPair(metric="expectancy", stat="Expectancy [%]"),
    StatPair(metric="sqn", stat="SQN", scale=1.0),
    StatPair(metric="kelly_criterion", stat="Kelly Criterion", scale=1.0),
    StatPair(metric="commission_paid", stat="Commissions [$]", scale=1.0),
    StatPair(metric="buy_hold_return", stat="Buy & Hold Return [%]",
             difference="the lab buys at the close of the run's first bar; backtesting.py at "
             "the close of the first bar after the indicators' warm-up (the first bar the "
             "strategy can trade)"),
    StatPair(metric="annualized_return", stat="Return (Ann.) [%]",
             difference="the lab's is arithmetic: mean daily return x 365; backtesting.py's is "
             "geometric, (1 + geometric mean daily return)^365 - 1 (close to the lab's CAGR). "
             "The lab's daily returns start from the initial equity, backtesting.py's one day "
             "later; the rows below use each side's own"),
    StatPair(metric="volatility", stat="Volatility (Ann.) [%]",
             difference="the lab: standard deviation of daily returns x sqrt(365); "
             "backtesting.py: the volatility of its geometric annual return, "
             "sqrt((var + (1 + g)^2)^365 - (1 + g)^730) with g the geometric mean daily return"),
    StatPair(metric="sharpe_ratio", stat="Sharpe Ratio", scale=1.0,
             difference="the lab: mean daily return / its standard deviation x sqrt(365); "
             "backtesting.py: its Return (Ann.) / its Volatility (Ann.)"),
    StatPair(metric="sortino_ratio", stat="Sortino Ratio", scale=1.0,
             difference="the lab: mean daily return / downside deviation x sqrt(365); "
             "backtesting.py: its geometric Return (Ann.) / (downside deviation x sqrt(365))"),
    StatPair(metric="beta", stat="Beta", scale=1.0,
             difference="the lab: daily simple returns of equity and of the close; "
             "backtesting.py: per-bar log returns"),
    StatPair(metric="alpha", stat="Alpha [%]",
             difference="the lab: Jensen's alpha annualised, (mean daily return - beta x mean "
             "daily benchmark return) x 365; backtesting.py: over the whole run, total return "
             "- its beta x its buy & hold return, not annualised"),
    StatPair(metric="profit_factor", stat="Profit Factor", scale=1.0,
             difference="the lab: gross profit / gross loss in USDT; backtesting.py: the sum of "
             "winning trades' returns (%) / the sum of losing trades' returns"),
    StatPair(metric="avg_trade", stat="Avg. Trade [%]",
             difference="the lab: mean trade P&L in USDT; backtesting.py: geometric mean of "
             "trade returns in %"),
)


def table() -> pd.DataFrame:
    """The pairs for the Glossary: lab metric, backtesting.py statistic, how they relate."""
    return pd.DataFrame([{"Lab metric": p.metric, "backtesting.py statistic": p.stat,
                          "With identical trades": p.difference or EQUAL} for p in PAIRS])
