"""Altair charts of a perpetual run's margin: margin used and distance to liquidation."""

from __future__ import annotations

import altair as alt
import pandas as pd

MAX_POINTS = 5_000


def margin_chart(series: pd.DataFrame, *, height: int = 180) -> alt.VConcatChart:
    """Margin used (USDT) above distance to liquidation (fraction of price), per bar.

    ``series``: indexed by ts with margin_used_usdt, liq_distance (core.runs.run_margin_series).
    """
    frame = series.reset_index().loc[:, ["ts", "margin_used_usdt", "liq_distance"]]
    step = max(1, len(frame) // MAX_POINTS)
    frame = frame.iloc[::step]
    x = alt.X("ts:T", title="Time (UTC)")
    used = alt.Chart(frame).mark_area(opacity=0.5, color="#1f77b4").encode(
        x=x, y=alt.Y("margin_used_usdt:Q", title="Margin used (USDT)"),
        tooltip=[alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("margin_used_usdt:Q", format=",.2f")],
    ).properties(height=height)
    distance = alt.Chart(frame.dropna(subset=["liq_distance"])).mark_line(color="#d62728").encode(
        x=x, y=alt.Y("liq_distance:Q", title="Distance to liquidation", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("liq_distance:Q", format=".2%")],
    ).properties(height=height)
    return alt.vconcat(used, distance).resolve_scale(x="shared")
