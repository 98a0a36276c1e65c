"""Altair charts of a walk-forward: the stitched out-of-sample equity (windows shaded) and the
chosen parameters per window (stability). No Streamlit here."""

from __future__ import annotations

import altair as alt
import pandas as pd

MAX_POINTS = 2000


def stitched_equity(equity: pd.Series, windows: pd.DataFrame) -> alt.Chart:
    """The stitched OOS equity (USDT) over time; each OOS window a shaded band with its number.

    ``windows``: the walk-forward's window table (window, oos_start, oos_end, ...).
    """
    step = max(1, len(equity) // MAX_POINTS)
    line_data = equity.iloc[::step].rename("equity").rename_axis("time").reset_index()
    if len(equity) and line_data["time"].iloc[-1] != equity.index[-1]:
        line_data = pd.concat([line_data, pd.DataFrame({"time": [equity.index[-1]],
                                                        "equity": [equity.iloc[-1]]})])
    line = alt.Chart(line_data).mark_line().encode(
        x=alt.X("time:T", title="out-of-sample time (UTC)"),
        y=alt.Y("equity:Q", title="stitched equity (USDT)", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("time:T"), alt.Tooltip("equity:Q", format=",.2f")])
    bands = windows[["window", "oos_start", "oos_end"]].assign(
        parity=lambda f: (f["window"] % 2).astype(str))
    shade = alt.Chart(bands).mark_rect(opacity=0.08).encode(
        x="oos_start:T", x2="oos_end:T",
        color=alt.Color("parity:N", legend=None, scale=alt.Scale(range=["#888", "#4c78a8"])),
        tooltip=[alt.Tooltip("window:O"), alt.Tooltip("oos_start:T"), alt.Tooltip("oos_end:T")])
    return (shade + line).properties(height=340)


def stability(windows: pd.DataFrame, params: list[str], *, width: int = 760) -> alt.Chart:
    """One small panel per parameter: its chosen value in each window (steady = robust)."""
    long = windows.melt(id_vars=["window"], value_vars=params, var_name="parameter",
                        value_name="value").dropna()
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("window:O", title="window", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False),
                axis=alt.Axis(format="~g")),  # a constant value read "10.000000"
        tooltip=["window", "parameter", "value"],
    ).properties(height=110, width=width).facet(
        row=alt.Row("parameter:N", title=None)).resolve_scale(y="independent")


# the per-window table's fractions, shown as percent numbers under these headers
PCT_COLUMNS = {"is_annualized_return": "IS return ann. %",
               "oos_annualized_return": "OOS return ann. %",
               "oos_total_return": "OOS return %", "oos_max_drawdown": "OOS max drawdown %"}


def window_display(table: pd.DataFrame, *, pct_objective: bool = False) -> pd.DataFrame:
    """The per-window table for display: bounds as UTC text (dates when at midnight), fractions
    as percent numbers (PCT_COLUMNS, and the in-sample objective when ``pct_objective``), the
    error column only when a window has one."""
    out = table.copy()
    if pct_objective:
        out["is_objective"] = out["is_objective"].astype(float) * 100
    for name in ("is_start", "is_end", "oos_start", "oos_end"):
        stamps = pd.to_datetime(out[name])
        whole_days = bool((stamps == stamps.dt.normalize()).all())
        out[name] = stamps.dt.strftime("%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M")
    for name in PCT_COLUMNS:
        out[name] = out[name].astype(float) * 100
    if "error" in out and not out["error"].astype(bool).any():
        out = out.drop(columns="error")
    return out
