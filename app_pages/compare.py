"""Compare page (?runs=3,5 in the URL): 2-10 stored runs side by side — metrics with the best per row, normalised equity
and drawdown overlays, correlation of daily returns, and config differences."""

import streamlit as st

from core.runs import service as runs
from core.errors import PineOptError
from core.model import RunStatus
from reports import compare
from ui import results_view, services

ROW_PX = 35  # st.dataframe's row height
settings = services.settings()
st.title("Compare runs")

done = [r for r in runs.list_runs(settings.db_path) if r.status is RunStatus.COMPLETED]
if len(done) < compare.MIN_RUNS:
    st.info("Compare needs at least two completed runs: start them on the Backtest page.")
    st.stop()
labels = results_view.run_options(done)
picked = results_view.compare_picker(labels)
if len(picked) < compare.MIN_RUNS:
    st.info("Pick at least two runs.")
    st.stop()

try:
    bundles = [results_view.bundle(settings, run_id) for run_id in picked]
except PineOptError as exc:
    services.show_error(exc)
    st.stop()

st.markdown("**Normalised equity (growth of 1)**")
st.altair_chart(compare.equity_overlay(bundles), width="stretch")
st.markdown("**Drawdown**")
st.altair_chart(compare.drawdown_overlay(bundles), width="stretch")
st.subheader("Metrics")
st.caption("Best value per row highlighted (lower is better for risk and cost rows; counts, "
           "beta, exposure and buy & hold are not ranked, nor a run without closed trades). "
           "Definitions: the Glossary page.")
table = compare.styled_metrics(bundles)
st.dataframe(table, hide_index=True, width="stretch",  # every row shown: no inner scroll box
             height=ROW_PX * (len(table.data) + 1) + 3)
left, right = st.columns([2, 3])
left.markdown("**Correlation of daily returns**")
left.altair_chart(compare.correlation_chart(bundles), width="stretch")
left.caption("Pair by pair, over the UTC days both runs cover; — where they share fewer than "
             f"{compare.MIN_SHARED_DAYS} days or a run's equity never changes.")
with right:
    st.markdown("**Parameter and config differences**")
    diff = compare.config_differences(bundles)
    if diff.empty:
        st.caption("The runs share every setting (they differ only in data or strategy code).")
    else:
        st.dataframe(diff, hide_index=True, width="stretch", height="content")
