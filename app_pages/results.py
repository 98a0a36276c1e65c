"""Results page: one stored run — headline cards, charts, All/Long/Short metrics, trades, config,
downloads and the quantstats tearsheet. The run comes from ?run=ID (bookmarkable). Layout lives
in ui.results_view; data in core/reports."""

import streamlit as st

from core.runs import service as runs
from core.errors import PineOptError
from core.model import RunStatus
from ui import result_charts, results_view, run_actions, services

settings = services.settings()
st.title("Results")
run_actions.flash()

all_runs = runs.list_runs(settings.db_path)
if not all_runs:
    if "run" in st.query_params:
        run_actions.warn_missing_link("no runs are stored")
    st.info("No runs yet: start one on the Backtest page.")
    st.stop()
run_id = run_actions.pick_run(settings, all_runs)
run = next(r for r in all_runs if r.id == run_id)  # the picker offers only these runs
results_view.run_actions_row(settings, run)
if run.status is not RunStatus.COMPLETED:
    results_view.failed_run(run)
    st.stop()

try:
    bundle = result_charts.bundle(str(settings.home), run.id, run.created_at)
except PineOptError as exc:
    services.show_error(exc)
    st.stop()
results_view.run_warnings(settings, bundle)
results_view.header(bundle)
# Other tabs are drawn only when open (on_change="rerun" makes tab.open known): Price
# (the heaviest chart, with its window slider) costs nothing until asked for. Charts is drawn
# on every rerun, open or hidden: its elements then stay mounted in the browser, so returning to
# it redraws nothing (re-creating its Vega views was most of a tab switch; see
# results_view.keep_tabs_laid_out for the width they keep while hidden).
results_view.keep_tabs_laid_out()
tabs = st.tabs(["Charts", "Price", "Metrics", "Trades", "Costs & risk",
                "Run config & log", "Downloads & tearsheet"], key="results_tab",
               on_change="rerun")
sections = [lambda: result_charts.chart_section(bundle),
            lambda: result_charts.price_section(bundle),
            lambda: results_view.metric_section(bundle),
            lambda: results_view.trade_section(bundle),
            lambda: results_view.cost_risk_section(settings, bundle),
            lambda: results_view.config_section(bundle),
            lambda: results_view.download_section(settings, bundle)]
for i, (tab, draw) in enumerate(zip(tabs, sections, strict=True)):
    if i == 0 or tab.open is not False:  # None would mean "not tracked": draw it then
        with tab:
            draw()
