"""Altair charts of a study (trials heatmap, objective scatter, PBO logits) and of a Monte
Carlo run (fan chart). No Streamlit here."""

from __future__ import annotations

import altair as alt
import pandas as pd

AGGREGATES = ("max", "mean", "min")


def trials_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The compact trials with one column per parameter (sortable in a dataframe widget)."""
    if frame.empty:
        return frame
    params = pd.DataFrame(list(frame["params"]), index=frame.index)
    rest = frame.drop(columns=["params"])
    return pd.concat([rest[["n"]], params, rest.drop(columns=["n"])], axis=1)


def heatmap(table: pd.DataFrame, x: str, y: str, *, value: str = "objective",
            agg: str = "max") -> alt.Chart:
    """``value`` over two parameters; the other parameters aggregated by ``agg``."""
    if agg not in AGGREGATES:
        raise ValueError(f"agg must be one of {AGGREGATES}")
    cells = table.groupby([x, y], as_index=False)[value].agg(agg)
    return alt.Chart(cells).mark_rect().encode(
        x=alt.X(f"{x}:O", title=x), y=alt.Y(f"{y}:O", title=y, sort="descending"),
        color=alt.Color(f"{value}:Q", title=f"{agg} {value}", scale=alt.Scale(scheme="viridis")),
        tooltip=[x, y, alt.Tooltip(f"{value}:Q", format=".4f")],
    ).properties(height=360)


def scatter(table: pd.DataFrame, x: str, *, value: str = "objective") -> alt.Chart:
    """``value`` against one parameter (every trial a point)."""
    return alt.Chart(table).mark_circle(size=40).encode(
        x=alt.X(f"{x}:Q", title=x), y=alt.Y(f"{value}:Q", title=value),
        tooltip=["n", x, alt.Tooltip(f"{value}:Q", format=".4f")]).properties(height=300)


def logit_histogram(counts: list[int], edges: list[float]) -> alt.Chart:
    """PBO: the histogram of the in-sample winner's out-of-sample logit λ."""
    frame = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "splits": counts})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("start:Q", title="λ (≤ 0: the in-sample best is below the OOS median)"),
        x2="end:Q", y=alt.Y("splits:Q", title="splits")).properties(height=220)


def fan_chart(fan: pd.DataFrame) -> alt.Chart:
    """Monte Carlo equity bands (5-95 %, 25-75 %) and the median path (growth of 1)."""
    data = fan.reset_index().rename(columns={"index": "step"})
    base = alt.Chart(data).encode(x=alt.X("step:Q", title="step (trade or day)"))
    outer = base.mark_area(opacity=0.2).encode(y=alt.Y("q5:Q", title="equity (growth of 1)"),
                                               y2="q95:Q")
    inner = base.mark_area(opacity=0.4).encode(y="q25:Q", y2="q75:Q")
    median = base.mark_line().encode(y="q50:Q")
    return (outer + inner + median).properties(height=360)
