"""Altair charts of a run's equity: equity vs buy and hold, underwater, monthly heatmap, yearly
returns, rolling Sharpe and volatility. Pure functions of frames; no streamlit here.

Long series are thinned to about MAX_POINTS rows so the browser stays quick (each bucket keeps
its extremes, so peaks and drawdowns stay visible; exact values stay in tables and exports);
time axes zoom and pan (drag and mouse wheel) where a chart says so. Lines and areas over long
series carry no tooltip: Vega evaluates a tooltip per point at draw time (a third of a Results
page's chart time), and a line's tooltip shows one fixed point anyway. For the same reason they
carry no per-point ARIA description (aria=False on the mark): Vega formatted one for every point
although a line or area is one path that shows none of them (about a fifth of these charts'
draw time); the chart itself carries a description of what it shows for screen readers.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from reports import frames

MAX_POINTS = 1_000  # per chart line: 500 buckets of about 2.6 px on a 1,300 px wide chart
STRATEGY_COLOR = "#1f77b4"
BENCH_COLOR = "#9a9a9a"
LOSS_COLOR = "#d62728"
GAIN_COLOR = "#2ca02c"
TIME_FORMAT = "%Y-%m-%d %H:%M"
# Time-axis labels that carry the year on multi-month spans: a tick on the first of a month
# reads "Jan 2024", a tick on another day "15 Jan", a tick inside a day "15 Jan 06:00" (Vega's
# default names a month alone, so a rolling window starting in February showed no year at all).
TIME_LABELS = ("hours(datum.value) || minutes(datum.value) ? timeFormat(datum.value, '%d %b "
               "%H:%M') : date(datum.value) == 1 ? timeFormat(datum.value, '%b %Y') : "
               "timeFormat(datum.value, '%d %b')")


def time_x(field: str = "time", title: str | None = None) -> alt.X:
    """A temporal x channel whose labels show the year (TIME_LABELS)."""
    return alt.X(f"{field}:T", title=title, axis=alt.Axis(labelExpr=TIME_LABELS))


def thin(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """At most about MAX_POINTS rows for display (a new frame; the input is not changed).

    With ``columns``, the rows split into MAX_POINTS / (2 * len(columns)) buckets and each
    bucket keeps the rows of each column's lowest and highest value (peaks and troughs
    survive), plus the first and last rows; without, every k-th row.
    """
    step = -(-len(frame) // MAX_POINTS)  # ceil
    if step <= 1:
        return frame
    if not columns:
        return frame.iloc[::step]
    step = -(-len(frame) // max(1, MAX_POINTS // (2 * len(columns))))
    buckets = np.arange(len(frame)) // step
    keep = [np.array([0, len(frame) - 1])]
    for column in columns:
        groups = pd.Series(frame[column].to_numpy()).groupby(buckets)
        keep += [groups.idxmin().dropna().to_numpy(), groups.idxmax().dropna().to_numpy()]
    return frame.iloc[np.unique(np.concatenate(keep).astype(int))]


def _zoom() -> alt.Parameter:
    return alt.selection_interval(bind="scales", encodings=["x"])


def equity_vs_benchmark(equity: pd.Series, benchmark: pd.Series, *,
                        height: int = 300) -> alt.Chart:
    """Strategy equity and buy and hold of the same bars from the same starting capital (USDT)."""
    start = float(equity.iloc[0])
    bench_equity = benchmark.reindex(equity.index) / float(benchmark.iloc[0]) * start
    frame = thin(pd.DataFrame({"time": equity.index, "Strategy": equity.to_numpy(),
                                "Buy & hold": bench_equity.to_numpy()}), "Strategy", "Buy & hold")
    return alt.Chart(frame).transform_fold(
        ["Strategy", "Buy & hold"], as_=["series", "equity_usdt"]).mark_line(
        strokeWidth=1.4, aria=False).encode(
        x=time_x(),
        y=alt.Y("equity_usdt:Q", title="Equity (USDT)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                        sort=["Strategy", "Buy & hold"],
                        scale=alt.Scale(domain=["Strategy", "Buy & hold"],
                                        range=[STRATEGY_COLOR, BENCH_COLOR])),
    ).add_params(_zoom()).properties(height=height,
                                     description="Equity vs buy & hold over time (USDT)")


def underwater(equity: pd.Series, *, height: int = 200) -> alt.Chart:
    """Drawdown from the running equity peak at each bar (an area below zero)."""
    frame = thin(pd.DataFrame({"time": equity.index,
                                "drawdown": frames.drawdown(equity).to_numpy()}), "drawdown")
    return alt.Chart(frame).mark_area(
        color=LOSS_COLOR, opacity=0.5, aria=False,
        line={"color": LOSS_COLOR, "strokeWidth": 0.8, "aria": False}).encode(
        x=time_x(title="Time (UTC)"),
        y=alt.Y("drawdown:Q", title="Drawdown", axis=alt.Axis(format="%")),
    ).add_params(_zoom()).properties(height=height,
                                     description="Drawdown from the running peak over time")


def equity_drawdown(equity: pd.Series, benchmark: pd.Series) -> alt.VConcatChart:
    """Equity vs buy and hold above the underwater chart, sharing the time axis."""
    return alt.vconcat(equity_vs_benchmark(equity, benchmark),
                       underwater(equity)).resolve_scale(x="shared")


def monthly_heatmap(equity: pd.Series) -> alt.LayerChart:
    """Year x month grid of monthly returns, red for losses and green for gains."""
    data = frames.monthly_returns(equity).assign(year=lambda f: f["year"].astype(str))
    limit = max(float(data["ret"].abs().max()), 1e-9) if len(data) else 1.0
    base = alt.Chart(data).encode(
        x=alt.X("month_name:O", title=None, sort=list(frames.MONTHS)),
        y=alt.Y("year:O", title=None))
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("ret:Q", title="Monthly return",
                        legend=alt.Legend(format="%", orient="bottom", direction="horizontal",
                                          gradientLength=260, titleOrient="left"),
                        scale=alt.Scale(scheme="redyellowgreen", domain=[-limit, limit])),
        tooltip=["year:O", "month_name:O", alt.Tooltip("ret:Q", format=".2%", title="return")])
    text = base.mark_text(fontSize=11).encode(text=alt.Text("ret:Q", format=".1%"))
    return (cells + text).properties(height=alt.Step(30))


def yearly_returns(equity: pd.Series, *, height: int = 220) -> alt.Chart:
    """One bar per calendar year (the first and last years may be partial)."""
    data = frames.yearly_returns(equity)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("year:O", title=None),
        y=alt.Y("ret:Q", title="Return", axis=alt.Axis(format="%")),
        color=alt.condition(alt.datum.ret >= 0, alt.value(GAIN_COLOR), alt.value(LOSS_COLOR)),
        tooltip=["year:O", alt.Tooltip("ret:Q", format=".2%", title="return")],
    ).properties(height=height)


def rolling_sharpe_volatility(equity: pd.Series, *, height: int = 180) -> alt.VConcatChart:
    """Rolling 30-day Sharpe (annualised, rf 0) above rolling 30-day volatility."""
    data = thin(frames.rolling_stats(equity), "sharpe", "volatility")
    sharpe = alt.Chart(data).mark_line(color=STRATEGY_COLOR, strokeWidth=1, aria=False).encode(
        x=time_x(), y=alt.Y("sharpe:Q", title="Sharpe"),
    ).properties(height=height)
    vol = alt.Chart(data).mark_line(color="#ff7f0e", strokeWidth=1, aria=False).encode(
        x=time_x(title="Time (UTC)"),
        y=alt.Y("volatility:Q", title="Volatility", axis=alt.Axis(format="%")),
    ).properties(height=height)
    return alt.vconcat(sharpe, vol).resolve_scale(x="shared").properties(
        description="Rolling Sharpe ratio and volatility over time")
