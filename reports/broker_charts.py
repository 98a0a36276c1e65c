"""Altair charts of a run's broker side and Pine plots: margin, liquidation distance, plot()."""

from __future__ import annotations

import altair as alt
import pandas as pd

MAX_POINTS = 5_000


def margin_chart(series: pd.DataFrame, *, height: int = 180) -> alt.VConcatChart:
    """Margin used (USDT) above distance to liquidation (fraction of price), per bar.

    ``series``: indexed by ts with margin_used_usdt, liq_distance (core.runs.service.run_margin_series).
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


PRICE_LIKE = (0.5, 2.0)  # a plot whose median is within this ratio of the close's is price-like


def _plot_lines(long: pd.DataFrame, *, title: str, height: int, domain: list[str]) -> alt.Chart:
    return alt.Chart(long).mark_line(strokeWidth=1.2).encode(
        x=alt.X("ts:T", title="Time (UTC)"),
        y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=domain, scheme="tableau10")),
        tooltip=[alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M"), "series:N",
                 alt.Tooltip("value:Q", format=",.4g")],
    ).properties(height=height)


def price_with_plots(close: pd.Series, plots: pd.DataFrame, *,
                     height: int = 300) -> alt.Chart | alt.VConcatChart:
    """A Pine strategy's plot() series by title: price-like ones (median within PRICE_LIKE of
    the close's) over the close price, the others (RSI, volume, spreads...) in a panel below
    with their own scale; the time axes zoom together."""
    frame = plots.reindex(close.index)
    step = max(1, len(frame) // MAX_POINTS)
    ref = float(close.median()) or 1.0
    ratios = (frame.median() / ref).abs()
    overlay = [c for c in frame.columns if PRICE_LIKE[0] <= ratios[c] <= PRICE_LIKE[1]]
    other = [c for c in frame.columns if c not in overlay]
    thin = frame.iloc[::step].assign(Close=close.to_numpy()[::step]).rename_axis("ts").reset_index()

    def melt(columns: list[str]) -> pd.DataFrame:
        return thin.melt("ts", value_vars=columns, var_name="series",
                         value_name="value").dropna(subset=["value"])

    zoom = alt.selection_interval(bind="scales", encodings=["x"], name="plots_zoom")
    top = _plot_lines(melt(["Close", *overlay]), title="Price (USDT)", height=height,
                      domain=["Close", *overlay]).add_params(zoom)
    if not other:
        return top
    below = _plot_lines(melt(other), title="Value", height=max(160, height // 2), domain=other)
    return alt.vconcat(top, below.add_params(alt.selection_interval(
        bind="scales", encodings=["x"], name="plots_zoom_below"))).resolve_scale(
        x="shared", color="independent")
