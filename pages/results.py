"""Results page: one stored run's metrics, equity and drawdown, trades and tearsheet."""

import base64

import pandas as pd
import streamlit as st

from core import metrics, runs
from core.errors import PineOptError
from core.model import RunStatus
from reports import charts, tearsheet
from ui import services, widgets

settings = services.settings()
st.title("Results")

all_runs = runs.list_runs(settings.db_path)
if not all_runs:
    st.info("No runs yet: start one on the Backtest page.")
    st.stop()
labels = {r.id: f"Run {r.id} · {r.strategy_name} v{r.strategy_version} · {r.config.symbol} "
                f"{r.config.timeframe} · {r.status.value}" for r in all_runs}
ids = list(labels)
run_id = st.selectbox("Run", ids, format_func=labels.get,
                      index=widgets.index_of(ids, st.session_state.get(services.SELECTED_RUN)))
st.session_state[services.SELECTED_RUN] = run_id
run = runs.get_run(settings.db_path, run_id)
cfg = run.config
st.caption(f"{cfg.exchange}/{cfg.market} {cfg.symbol} {cfg.timeframe} · {cfg.start or 'start'} → "
           f"{cfg.end or 'end'} (UTC) · cash {cfg.cash_usdt:,.0f} USDT · commission "
           f"{cfg.commission * 100:.3f}% · params {cfg.params or 'defaults'}")
if run.status is not RunStatus.COMPLETED:
    st.error(f"This run ended as **{run.status.value}**.")
    st.code(run.error or "(no message)", language=None)
    if run.log:
        st.expander("Run log").code(run.log, language=None)
    st.stop()

values = runs.run_metrics(settings.db_path, run_id)
widgets.metric_cards(values, ["total_return", "cagr", "sharpe_ratio", "max_drawdown",
                              "win_rate", "total_trades"])
equity = runs.run_equity(settings.db_path, run_id)
bench = runs.run_benchmark(settings, run)
st.altair_chart(charts.equity_drawdown(equity, bench), width="stretch")

left, right = st.columns([2, 3])
table = pd.DataFrame([{"Metric": metrics.describe(n).label,
                       "Value": metrics.format_value(n, v),
                       "Definition": metrics.describe(n).definition}
                      for n, v in values.items() if n in metrics.METRICS])
left.dataframe(table, hide_index=True, width="stretch")
trades = runs.run_trades(settings.db_path, run_id)
right.dataframe(trades, hide_index=True, width="stretch")

st.subheader("Tearsheet")
try:
    html = tearsheet.tearsheet_html(settings, run_id)
except PineOptError as exc:
    services.show_error(exc)
else:
    st.download_button("Download tearsheet (HTML)", data=html, file_name=f"run-{run_id}-tearsheet.html",
                       mime="text/html", type="primary")
    # A data: URL has an opaque origin: the report cannot reach the app (sandboxed iframe).
    st.iframe("data:text/html;base64," + base64.b64encode(html).decode(), height=900)
if run.log:
    st.expander("Run log").code(run.log, language=None)
