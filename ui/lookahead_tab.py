"""The Optimize page's Lookahead tab: pick a saved strategy and a range, run the lookahead and
repaint check (core.studies.lookahead) in the sandbox, and show what differs, with its bar and
the strategy source line of the indicator or order."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from core.strategies import crud as strategies
from core.errors import PineOptError
from core.model import BacktestConfig
from core.settings import Settings
from core.studies import lookahead
from ui import services

RESULT_KEY = "lookahead_report"


def render(settings: Settings) -> None:
    """Draw the tab: the form, then the last report of this session."""
    library = strategies.list_strategies(settings.db_path)
    if not library:
        st.info("Save a strategy on the Strategies page first.")
        return
    st.caption("Runs the strategy on the whole range, then on data cut at several bars; up to "
               "each cut its indicators and orders must match the full run. A difference is "
               "lookahead bias (or a repainting indicator).")
    names = {s.id: s.meta.name for s in library}
    sid = st.selectbox("Strategy", list(names), format_func=names.get, key="la_strategy")
    c1, c2, c3, c4, c5 = st.columns(5)
    symbol = c1.text_input("Symbol", "BTCUSDT", key="la_symbol")
    timeframe = c2.selectbox("Timeframe", ["1h", "4h", "1d", "15m"], index=1, key="la_tf")
    start = c3.text_input("Start (UTC)", "2024-01-01", key="la_start")
    end = c4.text_input("End (UTC)", "2024-06-30", key="la_end")
    cuts = c5.number_input("Cuts", 1, lookahead.MAX_CUTS, lookahead.DEFAULT_CUTS, key="la_cuts")
    if st.button("Run the lookahead check", key="la_run", type="primary"):
        try:
            config = BacktestConfig(symbol=symbol.strip().upper(), timeframe=timeframe,
                                    start=start.strip(), end=end.strip())
            with st.spinner("Running the full range and the cuts in the sandbox…"):
                report = lookahead.check_strategy(settings, strategy_id=sid, config=config,
                                                  cuts=int(cuts))
        except PineOptError as exc:
            services.show_error(exc)
        else:
            st.session_state[RESULT_KEY] = report
    report = st.session_state.get(RESULT_KEY)
    if report is not None:
        _show(report)


def _show(report: lookahead.Report) -> None:
    st.markdown(f"**{report.strategy}** · {report.bars:,} bars · "
                f"{len(report.indicators)} indicator series · {report.orders} orders · "
                f"cuts at {', '.join(report.cuts)}")
    if report.passed:
        st.success("No lookahead found: every truncated run matched the full run up to its cut.")
        return
    st.error(f"Lookahead found: {len(report.findings)} differences. The first bar that differs "
             "is where the strategy used data it could not have had yet; the line is the "
             "strategy source line of that indicator or order.")
    lines = sorted({f.line for f in report.findings if f.line})
    if lines:
        st.markdown("Look at line " + ", ".join(f"**{n}**" for n in lines) + " of the strategy.")
    st.dataframe(pd.DataFrame([dataclasses.asdict(f) for f in report.findings]),
                 hide_index=True, width="stretch", column_config=COLUMNS)


COLUMNS = {
    "cut": st.column_config.TextColumn("Cut at (UTC)", help="the last bar of the truncated run"),
    "bar": st.column_config.TextColumn("First differing bar (UTC)"),
    "kind": st.column_config.TextColumn("Kind", help="indicator (self.I / plot()) or order"),
    "name": st.column_config.TextColumn("Indicator or order"),
    "line": st.column_config.NumberColumn(
        "Line", format="%d", help="strategy source line of the self.I / plot() call, or of "
                                  "the buy / sell / close / strategy.entry / exit call"),
    "full": st.column_config.TextColumn("Full run"),
    "truncated": st.column_config.TextColumn("Truncated run"),
}
