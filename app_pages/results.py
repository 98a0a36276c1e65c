"""Results page: one stored run — headline cards, charts, All/Long/Short metrics, trades, config,
downloads and the quantstats tearsheet. The run comes from ?run=ID (bookmarkable). Layout lives
in ui.results_view; data in core/reports."""

import streamlit as st

from core import runs
from core.errors import PineOptError
from core.model import RunStatus
from ui import results_view, run_actions, services

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
run = runs.get_run(settings.db_path, run_id)
results_view.run_actions_row(settings, run)
if run.status is not RunStatus.COMPLETED:
    results_view.failed_run(run)
    st.stop()

try:
    bundle = results_view.bundle(settings, run_id)
except PineOptError as exc:
    services.show_error(exc)
    st.stop()
results_view.header(bundle)
charts_tab, metrics_tab, trades_tab, costs_tab, config_tab, downloads_tab = st.tabs(
    ["Charts", "Metrics", "Trades", "Costs & risk", "Run config & log", "Downloads & tearsheet"])
with charts_tab:
    results_view.chart_section(bundle)
with metrics_tab:
    results_view.metric_section(bundle)
with trades_tab:
    results_view.trade_section(bundle)
with costs_tab:
    results_view.cost_risk_section(settings, bundle)
with config_tab:
    results_view.config_section(bundle)
with downloads_tab:
    results_view.download_section(settings, bundle)
