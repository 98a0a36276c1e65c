"""Backtest page: choose a strategy, data and settings; run; watch progress."""

import streamlit as st

from core.runs import config_file, service as runs
from core.strategies import params, crud as strategies
from ui import backtest_form as form
from ui import services, submit, widgets

settings = services.settings()
st.title("Backtest")
widgets.placement_caption(settings)

records = strategies.list_strategies(settings.db_path)
if not records:
    st.info("No strategies yet: write one on the Strategies page and save it.")
    st.stop()
names = {r.id: f"{r.meta.name} (v{r.latest_version})" for r in records}
form.load_pending({r.id: r.latest_version for r in records})  # "Re-run with these settings"
form.loaded_note()
if st.session_state.get(form.STRATEGY) not in names:  # first visit, or chosen on Strategies
    st.session_state[form.STRATEGY] = widgets.pick(list(names),
                                                   st.session_state.get(services.SELECTED_STRATEGY))
sid = st.selectbox("Strategy", list(names), format_func=names.get, key=form.STRATEGY,
                   persist_state="session")
st.session_state[services.SELECTED_STRATEGY] = sid
version = strategies.get_version(settings.db_path, sid)
record = strategies.get(settings.db_path, sid)
settings_map = form.market_form(settings, sid=sid, language=record.language,
                                source=version.source, version=version.version, keys=form.BACKTEST)
if settings_map is None:
    st.stop()
values = widgets.parameter_form(params.extract(version.source, record.language),
                                key=form.param_key(sid))

mapping = {**settings_map, "params": values}
force = st.checkbox("Run again even if an identical run exists", key="run_force")
manager = services.jobs()  # warm now: inside _submit a cache spinner would be a rerun point


def _submit() -> runs.RunRecord:
    run = runs.request_run(settings, strategy_id=sid, config=config_file.build_config(mapping),
                           force=force)
    if not run.status.finished:
        manager.submit(run.id)
    st.session_state[services.SELECTED_RUN] = run.id
    return run


st.button("Run backtest", type="primary", key="run_backtest", on_click=submit.on_click,
          shortcut="Mod+Enter", help="Ctrl/Cmd+Enter")
submit.serve(_submit)  # each click: exactly one run, or the reason why not

widgets.job_monitor(settings)
