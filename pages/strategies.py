"""Strategies page: write or paste a strategy in the editor, validate it, save it."""

import streamlit as st
from streamlit_ace import st_ace

from core import examples, strategies, validation
from core.errors import PineOptError
from core.model import Language, StrategyMeta
from ui import services

settings = services.settings()
st.title("Strategies")

if (pending := st.session_state.pop("pending_select", None)) is not None:
    st.session_state[services.SELECTED_STRATEGY] = pending
records = strategies.list_strategies(settings.db_path)
choices = {None: "➕ New strategy"} | {r.id: f"{r.meta.name} (v{r.latest_version})" for r in records}
selected = st.selectbox("Strategy", list(choices), format_func=choices.get,
                        key=services.SELECTED_STRATEGY)

if selected is None:
    default_name, default_source = "SMA cross", examples.default_python_source()
else:
    default_name = strategies.get(settings.db_path, selected).meta.name
    default_source = strategies.get_version(settings.db_path, selected).source

name = st.text_input("Name", value=default_name, key=f"name_{selected}")
source = st_ace(value=default_source, language="python", theme="tomorrow", key=f"ace_{selected}",
                height=420, show_gutter=True, wrap=False, font_size=14, auto_update=True)
issues = validation.validate_source(source or "", Language.PYTHON)
if issues:
    for issue in issues:
        st.warning(str(issue))
else:
    st.success("Valid: one Strategy subclass, allowed imports only.")

if st.button("Save", type="primary"):
    try:
        sid, version = strategies.save(settings.db_path, meta=StrategyMeta(name=name),
                                       source=source or "", strategy_id=selected)
    except PineOptError as exc:
        services.show_error(exc)
    else:
        st.session_state["last_saved"] = (sid, version)
        st.session_state["pending_select"] = sid
        st.rerun()
if saved := st.session_state.get("last_saved"):
    st.caption(f"Last saved: strategy {saved[0]}, version {saved[1]}. Run it on the Backtest page.")
