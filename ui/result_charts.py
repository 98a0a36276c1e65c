"""The Results page's charts: Vega-Lite specs built once per run and kept in a cache keyed by
the store, the run id and the run's creation time (a deleted run's entries are dropped; an id
the store hands out again after a reset never meets an old entry), and the two tabs that draw
them (Charts; Price, drawn only when opened).

Specs are plain dicts built without Altair's schema validation (the chart builders are tested;
validation was a third of a first open's server time), their datasets already in the Arrow form
Streamlit sends (converting them was most of the page's server time on every rerun). Long series are thinned for drawing only
(reports.charts.thin keeps the first and last rows and each bucket's exact extremes); metrics
never come from these frames.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st
from streamlit import dataframe_util

from core.analytics import run_bundle as analytics
from core.analytics.run_bundle import RunBundle
from core.model import RunRecord
from core.runs import service as runs
from reports import broker_charts, charts, frames, trade_charts
from ui import services

Spec = dict[str, Any]


def run_key(b: RunBundle) -> tuple[str, int, str]:
    """The cache key of a run's charts: store home, run id, creation time (ISO)."""
    return str(services.settings().home), b.run.id, b.run.created_at.isoformat()


@st.cache_data(max_entries=8, show_spinner="Loading the run…")
def _bundle(home: str, run_id: int, created: str) -> RunBundle:
    return analytics.load(services.settings(), run_id)


def bundle(home: str, run_id: int, created: dt.datetime) -> RunBundle:
    """The run's bundle, cached per store, run id and creation time (a completed run never
    changes; forget() drops a deleted one)."""
    return _bundle(home, run_id, created.isoformat())


def _spec(chart: Any) -> Spec:
    """A chart as Streamlit's vega_lite_chart takes it, with its datasets already as Arrow IPC
    bytes (what Streamlit would convert them to on every rerun: done once here instead)."""
    spec = chart.to_dict(validate=False)
    if "datasets" in spec:
        spec["datasets"] = {name: dataframe_util.convert_anything_to_arrow_bytes(rows)
                            for name, rows in spec["datasets"].items()}
    return spec


@st.cache_data(max_entries=8, show_spinner=False)
def _chart_specs(home: str, run_id: int, created: str) -> dict[str, Spec]:
    """Every Charts-tab chart of a run (the Price tab's are built when it is first opened)."""
    b = _bundle(home, run_id, created)
    specs = {"equity": charts.equity_vs_benchmark(b.equity, b.benchmark),
             "underwater": charts.underwater(b.equity), "monthly": charts.monthly_heatmap(b.equity),
             "yearly": charts.yearly_returns(b.equity),
             "rolling": charts.rolling_sharpe_volatility(b.equity)}
    if len(b.trades):
        specs |= {"pnl": trade_charts.pnl_histogram(b.trades),
                  "duration": trade_charts.duration_vs_return(b.trades)}
    return {name: _spec(chart) for name, chart in specs.items()}


@st.cache_data(max_entries=8, show_spinner=False)
def _price_specs(home: str, run_id: int, created: str) -> dict[str, Spec]:
    """The Price tab's charts of a run: price with trades over the whole run, and the Pine
    plot() series when the run has some (a third of the specs' build time: not on the way to
    the Charts tab)."""
    b = _bundle(home, run_id, created)
    specs = {"price": trade_charts.price_with_trades(b.ohlcv, b.trades)}
    plots = runs.run_plots(services.settings().db_path, run_id)
    if len(plots.columns):
        specs["plots"] = broker_charts.price_with_plots(b.ohlcv["Close"], plots)
    return {name: _spec(chart) for name, chart in specs.items()}


@st.cache_data(max_entries=16, show_spinner=False)
def _window_spec(home: str, run_id: int, created: str, start: str, end: str) -> Spec:
    b = _bundle(home, run_id, created)
    bars, trades = trade_charts.window(b.ohlcv, b.trades, pd.Timestamp(start), pd.Timestamp(end))
    return _spec(trade_charts.price_with_trades(bars, trades))


def chart_specs(b: RunBundle) -> dict[str, Spec]:
    """The run's Charts-tab specs by name (equity, underwater, monthly, yearly, rolling, and
    pnl/duration with trades), built once per run."""
    return _chart_specs(*run_key(b))


def price_specs(b: RunBundle) -> dict[str, Spec]:
    """The run's Price-tab specs by name (price; plots with Pine plot() series), built once per
    run when the Price tab is first opened."""
    return _price_specs(*run_key(b))


def forget(records: list[RunRecord]) -> None:
    """Drop the cached bundle and charts of these runs (called when they are deleted)."""
    home = str(services.settings().home)
    for run in records:
        key = (home, run.id, run.created_at.isoformat())
        _bundle.clear(*key)
        _chart_specs.clear(*key)
        _price_specs.clear(*key)
    _window_spec.clear()  # keyed by window too; small, rebuilt on demand


def _chart(title: str, spec: Spec, where: Any = st) -> None:
    where.markdown(f"**{title}**")
    where.vega_lite_chart(spec, width="stretch")


def chart_section(b: RunBundle) -> None:
    """Equity, drawdown, period returns, trade distributions and rolling ratios."""
    specs = chart_specs(b)
    _chart("Equity vs buy & hold (same starting capital)", specs["equity"])
    _chart("Underwater (drawdown from the running peak)", specs["underwater"])
    _chart("Monthly returns", specs["monthly"])
    cols = st.columns(3 if "pnl" in specs else 1)
    _chart("Yearly returns", specs["yearly"], cols[0])
    if "pnl" in specs:
        _chart("Trade P&L distribution", specs["pnl"], cols[1])
        _chart("Trade duration vs return", specs["duration"], cols[2])
    _chart(f"Rolling {frames.ROLLING_DAYS}-day Sharpe and volatility (annualised, rf 0)",
           specs["rolling"])
    st.caption("Drag or scroll on a time chart to zoom; double-click to reset. Price with the "
               "trades' entries and exits is on the Price tab.")


@st.fragment
def price_section(b: RunBundle) -> None:
    """Price with trades over a chosen window (the whole run: a thinned close line with small
    markers; up to CANDLE_LIMIT bars: candles), then the Pine plot() series. Only this
    section reruns when the window moves."""
    first, last = b.ohlcv.index[0].date(), b.ohlcv.index[-1].date()
    head, pick = st.columns([2, 3], vertical_alignment="bottom")
    head.markdown("**Price with trades**")
    start, end = first, last
    if first < last:
        start, end = pick.slider("Window (UTC)", min_value=first, max_value=last,
                                 value=(first, last), key=f"price_window_{b.run.id}",
                                 format="YYYY-MM-DD")
    specs = price_specs(b)
    whole = (start, end) == (first, last)
    spec = specs["price"] if whole else _window_spec(*run_key(b), str(start), f"{end} 23:59:59")
    st.vega_lite_chart(spec, width="stretch")
    st.caption("Entries: ▲ long, ▼ short; exits: one shape and colour per exit reason. Narrow "
               f"the window to {trade_charts.CANDLE_LIMIT:,} bars or fewer for candles. Drag "
               "or scroll to zoom; double-click to reset.")
    if "plots" in specs:
        _chart("The strategy's plot() series (price-like series over the close; others on "
               "their own scale below)", specs["plots"])
