"""Glossary page: every metric's one definition (its docstring in core.analytics.metrics / core.analytics.trade_stats),
with its unit. The same text is shown on hover on the Results page."""

import streamlit as st

from core.analytics import backtesting_stats
from core.analytics.differences import DIFFERENCES
from core.studies.stats import GLOSSARY
from core.studies.wf_windows import GLOSSARY as WF_GLOSSARY
from reports import tables

st.title("Metric glossary")
st.caption("One definition per metric. Daily returns are the last equity of each UTC day; "
           "annualisation uses 365 days; the risk-free rate is 0 unless a run sets "
           "risk_free_rate. Where a definition differs from quantstats, backtesting.py or "
           "TradingView, it says so.")
with st.expander("Where PineOpt differs from backtesting.py, quantstats and TradingView",
                 expanded=True):
    st.markdown("\n".join(f"- {item}" for item in DIFFERENCES))
query = st.text_input("Search", placeholder="e.g. sharpe, drawdown, profit", key="glossary_q")
st.html(tables.glossary_html(query))

st.subheader("Compared with backtesting.py")
st.caption("With backtesting.py semantics (Backtest page, or `pineopt backtest --semantics "
           "backtesting`) the trades and equity equal backtesting.py 0.6.6's. These figures "
           "then still differ by definition; each row says exactly how.")
st.table(backtesting_stats.table())
st.subheader("Optimisation and robustness")
for term, text in {**GLOSSARY, **WF_GLOSSARY}.items():
    if not query or query.lower() in (term + text).lower():
        st.markdown(f"**{term}** — {text}")
