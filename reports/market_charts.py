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


def candles_with_volume(frame: pd.DataFrame, *, title: str = "",
                        height: int = 320) -> alt.VConcatChart:
    """Candlesticks (wick = low..high, body = open..close; green up, red down) over volume.

    frame: DatetimeIndex (UTC), columns Open, High, Low, Close, Volume. The x axes zoom and pan
    together (drag, mouse wheel).
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
    wick = base.mark_rule().encode(y=alt.Y("Low:Q", title="Price (quote)",
                                           scale=alt.Scale(zero=False)), y2="High:Q")
    body = base.mark_bar().encode(y="Open:Q", y2="Close:Q")
    price = (wick + body).properties(height=height, title=title).add_params(zoom)
    volume = base.mark_bar().encode(y=alt.Y("Volume:Q", title="Volume (base)")).properties(
        height=max(60, height // 4)).add_params(
        alt.selection_interval(bind="scales", encodings=["x"], name="volume_zoom"))
    return alt.vconcat(price, volume).resolve_scale(x="shared")


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
