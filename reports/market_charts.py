"""Altair charts of market data: candlesticks with volume, and funding rates. No streamlit.

Long ranges keep the last MAX_CANDLES bars (the caller says so) so the browser stays quick.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

MAX_CANDLES = 1_500
UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def last_candles(frame: pd.DataFrame, limit: int = MAX_CANDLES) -> pd.DataFrame:
    """The last ``limit`` bars of ``frame`` (all of them when shorter)."""
    return frame.iloc[-limit:] if len(frame) > limit else frame


VOLUME_SHARE = 0.25  # volume bars use the bottom quarter of the price chart
MARK_COLOR = "#ff6f00"


def candles_with_volume(frame: pd.DataFrame, *, title: str = "", height: int = 380,
                        marks: pd.DataFrame | None = None) -> alt.LayerChart:
    """Candlesticks (wick = low..high, body = open..close; green up, red down) with volume bars
    in the bottom quarter (own axis on the right), in one chart that fits its column.

    frame: DatetimeIndex (UTC), columns Open, High, Low, Close, Volume. marks: bars a quality
    check flagged (columns time, finding), drawn as orange dashed rules with the finding as
    tooltip. Drag or wheel to zoom the time axis.
    """
    data = last_candles(frame).rename_axis("time").reset_index()
    data["direction"] = (data["Close"] >= data["Open"]).map({True: "up", False: "down"})
    color = alt.Color("direction:N", scale=alt.Scale(domain=["up", "down"],
                                                    range=[UP_COLOR, DOWN_COLOR]), legend=None)
    zoom = alt.selection_interval(bind="scales", encodings=["x"], name="price_zoom")
    x = alt.X("time:T", title=None, axis=alt.Axis(format=TIME_FORMAT, labelAngle=0))
    tooltip = [alt.Tooltip("time:T", format=TIME_FORMAT), "Open:Q", "High:Q", "Low:Q", "Close:Q",
               alt.Tooltip("Volume:Q", format=",.2f")]
    base = alt.Chart(data).encode(x=x, color=color, tooltip=tooltip)
    low, high = float(data["Low"].min()), float(data["High"].max())
    room = (high - low) * VOLUME_SHARE / (1 - VOLUME_SHARE)  # keep the volume strip free
    wick = base.mark_rule().encode(y=alt.Y("Low:Q", title="Price (quote)", scale=alt.Scale(
        zero=False, nice=False, domain=[low - room, high])), y2="High:Q")
    body = base.mark_bar().encode(y="Open:Q", y2="Close:Q")
    top = float(data["Volume"].max() or 1.0) / VOLUME_SHARE
    volume = base.mark_bar(opacity=0.35).encode(y=alt.Y(
        "Volume:Q", title="Volume (base)", scale=alt.Scale(domain=[0, top]),
        axis=alt.Axis(orient="right", grid=False)))
    price = alt.layer(wick, body).add_params(zoom)
    layers = [price, volume]
    if marks is not None and len(marks):
        shown = marks[(marks["time"] >= data["time"].min()) & (marks["time"] <= data["time"].max())]
        layers.append(alt.Chart(shown).mark_rule(color=MARK_COLOR, strokeDash=[4, 3],
                                                 strokeWidth=2).encode(
            x="time:T", tooltip=[alt.Tooltip("time:T", format=TIME_FORMAT), "finding:N"]))
    return alt.layer(*layers).resolve_scale(y="independent").properties(height=height,
                                                                        title=title)


def funding_chart(rates: pd.Series, *, height: int = 220) -> alt.Chart:
    """Funding rate per funding time in percent (0.01 = 0.01% of notional), zero line included."""
    data = pd.DataFrame({"time": rates.index, "rate_pct": rates.to_numpy() * 100})
    data["sign"] = (data["rate_pct"] >= 0).map({True: "longs pay", False: "shorts pay"})
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("time:T", title=None, axis=alt.Axis(format="%Y-%m-%d")),
        y=alt.Y("rate_pct:Q", title="Funding rate (%)"),
        color=alt.Color("sign:N", scale=alt.Scale(domain=["longs pay", "shorts pay"],
                                                 range=[UP_COLOR, DOWN_COLOR])),
        tooltip=[alt.Tooltip("time:T", format=TIME_FORMAT),
                 alt.Tooltip("rate_pct:Q", format=".4f", title="rate %")])
    return bars.properties(height=height).add_params(
        alt.selection_interval(bind="scales", encodings=["x"], name="funding_zoom"))
