"""Altair charts of a run's broker side and Pine plots: margin, liquidation distance, plot()."""

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


def price_with_plots(close: pd.Series, plots: pd.DataFrame, *, height: int = 300) -> alt.Chart:
    """Close price with a Pine strategy's plot() series drawn over it (USDT, zoomable)."""
    frame = plots.reindex(close.index).assign(Close=close.to_numpy())
    step = max(1, len(frame) // MAX_POINTS)
    long = frame.iloc[::step].rename_axis("ts").reset_index().melt(
        "ts", var_name="series", value_name="price").dropna(subset=["price"])
    return alt.Chart(long).mark_line(strokeWidth=1.2).encode(
        x=alt.X("ts:T", title="Time (UTC)"),
        y=alt.Y("price:Q", title="Price (USDT)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top-left")),
        tooltip=[alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M"), "series:N",
                 alt.Tooltip("price:Q", format=",.2f")],
    ).properties(height=height).add_params(alt.selection_interval(bind="scales", encodings=["x"]))
