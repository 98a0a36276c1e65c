"""Altair charts of a run. Pure functions of frames; no streamlit here."""

from __future__ import annotations

import altair as alt
import pandas as pd

MAX_POINTS = 5_000


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    step = max(1, len(frame) // MAX_POINTS)
    return frame.iloc[::step] if step > 1 else frame


def equity_drawdown(equity: pd.Series, benchmark: pd.Series) -> alt.VConcatChart:
    """Equity vs buy-and-hold (same starting capital) above an underwater drawdown chart."""
    start = float(equity.iloc[0])
    bench_equity = benchmark / float(benchmark.iloc[0]) * start
    frame = pd.DataFrame({"time": equity.index, "Strategy": equity.to_numpy(),
                          "Buy & hold": bench_equity.reindex(equity.index).to_numpy()})
    frame = _thin(frame)
    long = frame.melt("time", var_name="series", value_name="equity_usdt")
    top = alt.Chart(long).mark_line(strokeWidth=1.4).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("equity_usdt:Q", title="Equity (USDT)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top-left")),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "series:N",
                 alt.Tooltip("equity_usdt:Q", format=",.2f")],
    ).properties(height=280)
    dd = pd.DataFrame({"time": equity.index,
                       "drawdown": (equity / equity.cummax() - 1.0).to_numpy()})
    bottom = alt.Chart(_thin(dd)).mark_area(color="#d62728", opacity=0.5).encode(
        x=alt.X("time:T", title="Time (UTC)"),
        y=alt.Y("drawdown:Q", title="Drawdown", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("drawdown:Q", format=".2%")],
    ).properties(height=140)
    return alt.vconcat(top, bottom).resolve_scale(x="shared")
