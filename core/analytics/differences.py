"""Where PineOpt's figures differ from the tools users compare them with (the Glossary lists them).

The metrics themselves are defined in core.analytics.metrics and core.analytics.trade_stats.
"""

from __future__ import annotations

DIFFERENCES: tuple[str, ...] = (
    "A trade still open at the end of the data: a Python run closes it on the last bar (exit "
    "reason end_of_data, at the bar's open, as backtesting.py's finalize_trades=True) and counts "
    "it in Closed trades, Win rate, Profit factor and Net profit, so Net profit equals the final "
    "minus the initial equity. A Pine run keeps it open, as TradingView does (exit reason open, "
    "marked at the last close): those figures count closed trades only and its P&L is Open P&L. "
    "With finalize_trades=False (backtesting.py semantics) it is not in the trade list at all.",
    "Daily returns are the last equity of each UTC day, the first day measured from the initial "
    "equity. The quantstats tearsheet is given exactly these returns with match_dates off: "
    "quantstats' default would drop the flat days before the first trade and change its CAGR, "
    "Sharpe and buy & hold.",
    "Max drawdown is measured on every bar and Exposure counts bars with a position open. "
    "quantstats computes its Max Drawdown and Calmar from daily closes and its Time in Market "
    "from days with a non-zero return; the tearsheet shows the per-bar values in those rows "
    "instead (Time in Market = Exposure), but its drawdown charts and Worst 10 Drawdowns table "
    "stay on daily closes, so on intraday bars their drawdowns can be smaller.",
    "CAGR compounds over the run's UTC days (quantstats' count of daily returns); 'Mean daily "
    "return ×365' is the arithmetic annualisation and does not compound. backtesting.py's "
    "'Return (Ann.)' is geometric over trading days.",
    "Sharpe and Sortino use daily returns × √365 (quantstats); backtesting.py divides the "
    "annualised return by the annualised volatility; TradingView uses monthly returns.",
    "Profit factor is gross profit / gross loss in USDT (TradingView); backtesting.py uses trade "
    "returns.",
    "VaR and CVaR are historical; quantstats' var() and cvar() default to parametric.",
    "Perpetuals use isolated margin: a liquidation loses the position's margin and no more, and "
    "an account left with under 1 % of its capital stops trading (event account_blown). "
    "backtesting.py has no liquidation; TradingView's margin calls are not simulated for Pine.",
)
