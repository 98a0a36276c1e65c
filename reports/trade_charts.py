"""Altair charts of a run's trades: P&L histogram, duration vs return, and the price chart with
entry and exit markers. Input trades are core.analytics enriched trades. No streamlit here.

The price chart draws candles up to CANDLE_LIMIT bars and a close line beyond; it zooms and pans
on the time axis (drag, mouse wheel).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from reports.charts import GAIN_COLOR, LOSS_COLOR, TIME_FORMAT, thin, time_x

CANDLE_LIMIT = 5_000
PLOT_WIDTH_PX = 900  # typical plot width, for candle body width


def pnl_histogram(trades: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """Distribution of closed-trade P&L in USDT, wins green and losses red."""
    data = pd.DataFrame({"pnl": trades["pnl"].astype(float),
                         "outcome": ["win" if p > 0 else "loss" for p in trades["pnl"]]})
    return alt.Chart(data).mark_bar(opacity=0.85).encode(
        x=alt.X("pnl:Q", bin=alt.Bin(maxbins=40), title="P&L per trade (USDT)"),
        y=alt.Y("count():Q", title="Trades", stack=True),
        color=alt.Color("outcome:N", title=None, scale=alt.Scale(
            domain=["win", "loss"], range=[GAIN_COLOR, LOSS_COLOR])),
        tooltip=[alt.Tooltip("count():Q", title="trades"), "outcome:N"],
    ).properties(height=height)


def duration_vs_return(trades: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """Each trade as a point: bars held against its return (fraction), coloured by side."""
    data = trades.loc[:, ["n", "side", "bars", "return_pct", "pnl"]].copy()
    return alt.Chart(data).mark_circle(
        size=36, opacity=0.7).encode(
        x=alt.X("bars:Q", title="Bars held"),
        y=alt.Y("return_pct:Q", title="Return", axis=alt.Axis(format="%")),
        color=alt.Color("side:N", title=None, scale=alt.Scale(
            domain=["long", "short"], range=["#1f77b4", "#9467bd"])),
        tooltip=[alt.Tooltip("n:Q", title="trade #"), "side:N", "bars:Q",
                 alt.Tooltip("return_pct:Q", format=".2%", title="return"),
                 alt.Tooltip("pnl:Q", format=",.2f", title="P&L (USDT)")],
    ).properties(height=height)


ENTRY_STYLE = {"long entry": ("triangle-up", "#1565c0"), "short entry": ("triangle-down", "#8e24aa")}
EXIT_STYLE = {  # exit reason -> (shape, colour); one look per reason, both sides
    "signal": ("circle", "#424242"), "stop_loss": ("cross", "#d62728"),
    "take_profit": ("diamond", "#2e7d32"), "trailing_stop": ("triangle-left", "#ef6c00"),
    "liquidation": ("square", "#b71c1c"), "risk_halt": ("triangle-right", "#6d4c41"),
    "end_of_data": ("triangle", "#757575"),
    "open": ("triangle", "#bdbdbd")}  # a Pine run's trade still open: marked at the last close
MARKER_LIMIT = 150  # beyond this many markers in view, they shrink and fade


def _markers(trades: pd.DataFrame) -> pd.DataFrame:
    entries = pd.DataFrame({"time": trades["entry_time"], "price": trades["entry_price"],
                            "event": [f"{s} entry" for s in trades["side"]], "n": trades["n"],
                            "side": trades["side"], "pnl": trades["pnl"]})
    reasons = trades["exit_reason"] if "exit_reason" in trades else "signal"
    exits = pd.DataFrame({"time": trades["exit_time"], "price": trades["exit_price"],
                          "event": [f"exit: {r}" for r in pd.Series(reasons, index=trades.index)],
                          "n": trades["n"], "side": trades["side"], "pnl": trades["pnl"]})
    return pd.concat([entries, exits], ignore_index=True)


def _price_layer(ohlcv: pd.DataFrame) -> alt.LayerChart | alt.Chart:
    bars = ohlcv.reset_index(names="time")
    if len(bars) > CANDLE_LIMIT:
        # no tooltip on the long line (charts module docstring); the markers carry theirs
        return alt.Chart(thin(bars, "Close")).mark_line(color="#a0a0a0", strokeWidth=0.8).encode(
            x=time_x(title="Time (UTC)"),
            y=alt.Y("Close:Q", title="Price (USDT)", scale=alt.Scale(zero=False)))
    base = alt.Chart(bars).encode(
        x=time_x(title="Time (UTC)"),
        color=alt.condition("datum.Open <= datum.Close", alt.value(GAIN_COLOR),
                            alt.value(LOSS_COLOR)))
    wick = base.mark_rule(strokeWidth=0.7).encode(
        y=alt.Y("Low:Q", title="Price (USDT)", scale=alt.Scale(zero=False)), y2="High:Q")
    body_px = max(1.0, min(8.0, 0.7 * PLOT_WIDTH_PX / max(len(bars), 1)))  # zoom widens gaps
    body = base.mark_bar(size=body_px).encode(
        y="Open:Q", y2="Close:Q",
        tooltip=[alt.Tooltip("time:T", format=TIME_FORMAT), alt.Tooltip("Open:Q", format=",.2f"),
                 alt.Tooltip("High:Q", format=",.2f"), alt.Tooltip("Low:Q", format=",.2f"),
                 alt.Tooltip("Close:Q", format=",.2f")])
    return wick + body


def price_with_trades(ohlcv: pd.DataFrame, trades: pd.DataFrame, *,
                      height: int = 380) -> alt.LayerChart:
    """Candles (or a close line beyond CANDLE_LIMIT bars) with the trades' entries and exits.

    Entries: a triangle up (long, blue) or down (short, purple). Exits: one shape and colour per
    exit reason (signal, stop-loss, take-profit, trailing stop, liquidation, risk halt, end of
    data). With more than MARKER_LIMIT markers the points shrink and fade so price stays
    readable; the caller offers a narrower window for candles and full-size markers.
    """
    marks = _markers(trades)
    if len(ohlcv):  # a window: markers outside it would stretch the time axis
        marks = marks[(marks["time"] >= ohlcv.index[0]) & (marks["time"] <= ohlcv.index[-1])]
    reasons = [r for r in EXIT_STYLE if f"exit: {r}" in set(marks["event"])]
    styles = {**{k: v for k, v in ENTRY_STYLE.items() if k in set(marks["event"])},
              **{f"exit: {r}": EXIT_STYLE[r] for r in reasons}}
    extra = sorted(set(marks["event"]) - set(styles))  # an unknown reason still gets drawn
    domain = [*styles, *extra]
    crowded = len(marks) > MARKER_LIMIT
    points = alt.Chart(marks).mark_point(
        filled=True, size=22 if crowded else 60, opacity=0.75 if crowded else 0.95,
        strokeWidth=1.5).encode(
        x="time:T", y="price:Q",
        shape=alt.Shape("event:N", title=None, scale=alt.Scale(
            domain=domain, range=[styles[k][0] for k in styles] + ["circle"] * len(extra))),
        color=alt.Color("event:N", title=None, legend=alt.Legend(orient="top", columns=5),
                        scale=alt.Scale(domain=domain, range=[styles[k][1] for k in styles]
                                        + ["#000000"] * len(extra))),
        tooltip=[alt.Tooltip("n:Q", title="trade #"), "event:N", "side:N",
                 alt.Tooltip("time:T", format=TIME_FORMAT),
                 alt.Tooltip("price:Q", format=",.2f"),
                 alt.Tooltip("pnl:Q", format=",.2f", title="trade P&L (USDT)")])
    chart = alt.layer(_price_layer(ohlcv), points)
    return chart.add_params(alt.selection_interval(bind="scales", encodings=["x"])).properties(
        height=height)


def window(ohlcv: pd.DataFrame, trades: pd.DataFrame, start: pd.Timestamp,
           end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bars in [start, end] and the trades with an entry or exit inside it."""
    bars = ohlcv.loc[(ohlcv.index >= start) & (ohlcv.index <= end)]
    inside = ((trades["entry_time"] >= start) & (trades["entry_time"] <= end)) | (
        (trades["exit_time"] >= start) & (trades["exit_time"] <= end))
    return bars, trades.loc[inside]
