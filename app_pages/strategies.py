"""Strategies page: editor with live validation, library table, examples gallery, versions."""

import streamlit as st

from ui import services, strategy_editor, strategy_library_view

VIEWS = ["Editor", "Library", "Examples"]

settings = services.settings()
st.title("Strategies")
strategy_editor.apply_pending_view()
view = st.radio("View", VIEWS, horizontal=True, key=strategy_editor.VIEW,
                label_visibility="collapsed")
strategy_editor.flash()

if view == "Library":
    strategy_library_view.library(settings)
elif view == "Examples":
    strategy_library_view.examples_gallery(settings)
else:
    doc = strategy_editor.render(settings)
    if doc.sid is not None:
        strategy_library_view.actions(settings, doc.sid)
        strategy_library_view.history(settings, doc)
