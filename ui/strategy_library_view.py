"""The Strategies page's library table, examples gallery, version history and actions.

Renders rows from core.strategies.library / core.strategies / core.strategies.examples; every change goes
through a core service. Actions: open, run (Backtest page pre-filled), clone, export, delete
(with confirmation), restore a version, diff two versions, use an example.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.strategies import examples, crud as strategies, library as strategy_library
from core.errors import PineOptError
from core.model import Language, StrategyMeta
from core.settings import Settings
from ui import results_view, services
from ui.services import md_escape, show_error
from ui.strategy_editor import CONFIRM, Doc, select

ANY = "any"


def _rows_frame(rows: list[strategy_library.LibraryRow]) -> pd.DataFrame:
    return pd.DataFrame([{
        "ID": r.id, "Name": r.name, "Language": r.language.value, "Author": r.author,
        "Version": r.version, "Tags": ", ".join(r.tags), "Timeframes": ", ".join(r.timeframes),
        "Assets": ", ".join(r.assets), "Status": r.status,
        "Last return (%)": None if r.last_return is None else round(r.last_return * 100, 2),
        "Last updated (UTC)": r.updated_at,
    } for r in rows])


def _filters(settings: Settings) -> list[strategy_library.LibraryRow]:
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    search = c1.text_input("Search", key="lib_search", placeholder="name, author, tag, asset…")
    language = c2.selectbox("Language", [ANY, *[x.value for x in Language]], key="lib_lang")
    tag = c3.selectbox("Tag", [ANY, *strategy_library.tags_in_use(settings.db_path)],
                       key="lib_tag")
    status = c4.selectbox("Status", [ANY, *strategy_library.STATUSES], key="lib_status")
    return strategy_library.library(
        settings.db_path, search=search, tag=None if tag == ANY else tag,
        language=None if language == ANY else Language(language),
        status=None if status == ANY else status)


def library(settings: Settings) -> None:
    """Searchable, filterable, sortable table with actions on the chosen strategy."""
    rows = _filters(settings)
    if not rows:
        st.info("No strategies match. Clear the filters, or create one in the Editor or from "
                "the Examples.")
        return
    event = st.dataframe(_rows_frame(rows), hide_index=True, width="stretch", key="lib_table",
                         on_select="rerun", selection_mode="single-row",
                         column_config={"Last return (%)": st.column_config.NumberColumn(
                             format="%.2f")})
    st.caption("Click a column header to sort; select a row to act on it.")
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    ids = [r.id for r in rows]
    names = {r.id: f"{r.name} (v{r.version})" for r in rows}
    default = ids[picked[0]] if picked else ids[0]
    sid = st.selectbox("Act on", ids, index=ids.index(default), format_func=names.get,
                       key=f"lib_target_{default}")  # a new table pick resets the box
    actions(settings, sid, open_button=True)


def actions(settings: Settings, sid: int, *, open_button: bool = False) -> None:
    """Open / Run / Compare / Clone / Export / Delete buttons for one saved strategy."""
    cols = st.columns(6)
    if open_button and cols[0].button("Open in editor", key=f"open_{sid}",
                                      icon=":material/edit:"):
        select(sid)
        st.rerun()
    if cols[1].button("Run backtest", key=f"run_{sid}", icon=":material/play_arrow:"):
        st.session_state[services.SELECTED_STRATEGY] = sid
        st.switch_page("app_pages/backtest.py")
    run_ids = strategy_library.completed_run_ids(settings.db_path, sid)
    if cols[5].button("Compare runs", key=f"compare_{sid}", icon=":material/compare_arrows:",
                      disabled=len(run_ids) < 2,
                      help="Open its newest completed runs (up to 10) on the Compare page"):
        st.session_state[results_view.COMPARE_RUNS] = run_ids
        st.switch_page("app_pages/compare.py")
    if cols[2].button("Clone", key=f"clone_{sid}", icon=":material/content_copy:"):
        new = strategies.clone(settings.db_path, sid)
        select(new, flash=f"Cloned into strategy {new}: "
                          f"{strategies.get(settings.db_path, new).meta.name}.")
        st.rerun()
    name, data = strategies.export(settings.db_path, sid)
    cols[3].download_button("Export source", data=data, file_name=name, mime="text/plain",
                            key=f"export_{sid}", icon=":material/download:")
    if cols[4].button("Delete", key=f"delete_{sid}", icon=":material/delete:"):
        st.session_state[CONFIRM] = sid
    if st.session_state.get(CONFIRM) == sid:
        _confirm_delete(settings, sid)


def _confirm_delete(settings: Settings, sid: int) -> None:
    name = strategies.get(settings.db_path, sid).meta.name
    st.warning(f"Delete strategy {sid} ({md_escape(name)})? It leaves the library; its past runs stay "
               "readable and show it as deleted.", icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button("Yes, delete", type="primary", key=f"confirm_delete_{sid}"):
        strategies.delete(settings.db_path, sid)
        st.session_state.pop(CONFIRM, None)
        select(None, view=st.session_state.get("strategies_view", "Editor"),
               flash=f"Deleted strategy {sid}.")
        st.rerun()
    if no.button("Cancel", key=f"cancel_delete_{sid}"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()


def history(settings: Settings, doc: Doc) -> None:
    """Version list, a unified diff between any two versions, and restore."""
    if doc.sid is None:
        return
    versions = strategies.history(settings.db_path, doc.sid)
    st.subheader("Versions")
    st.dataframe(pd.DataFrame([{
        "Version": v.version, "Saved (UTC)": v.created_at, "Message": v.message,
        "Status": "valid" if v.valid else "invalid", "SHA-256": v.sha256[:16]}
        for v in versions]), hide_index=True, width="stretch")
    numbers = [v.version for v in versions]
    if len(numbers) < 2:
        st.caption("Save a change to create version 2; then you can compare and restore.")
        return
    c1, c2, c3 = st.columns(3)
    old = c1.selectbox("Compare from", numbers, index=1, key=f"diff_from_{doc.sid}")
    new = c2.selectbox("to", numbers, index=0, key=f"diff_to_{doc.sid}")
    text = strategies.diff(settings.db_path, doc.sid, old, new)
    st.code(text or "(the two versions are identical)", language="diff")
    target = c3.selectbox("Restore version", numbers[1:], key=f"restore_pick_{doc.sid}")
    if c3.button(f"Restore v{target} as newest", key=f"restore_{doc.sid}"):
        made = strategies.restore(settings.db_path, doc.sid, target)
        select(doc.sid, flash=f"Restored version {target} as version {made}.")
        st.rerun()


def _unique_name(settings: Settings, title: str) -> str:
    taken = {r.meta.name for r in strategies.list_strategies(settings.db_path)}
    name, n = title, 2
    while name in taken:
        name, n = f"{title} ({n})", n + 1
    return name


GALLERY_LANGUAGES = {"All": None, "Python": Language.PYTHON, "Pine Script": Language.PINE}


def _gallery(choice: str) -> list[examples.Example]:
    return examples.list_examples(language=GALLERY_LANGUAGES[choice])


def examples_gallery(settings: Settings) -> None:
    """Every shipped example with a preview and "Use this example"."""
    st.caption("Each example validates and runs on the sample data, and all but the two gap "
               "strategies (BarUpDn, Greedy) trade there. Using one creates a new strategy you "
               "can edit; the example itself stays unchanged.")
    shown = st.segmented_control("Language", list(GALLERY_LANGUAGES), default="All",
                                 key="gallery_language", label_visibility="collapsed",
                                 format_func=lambda k: f"{k} ({len(_gallery(k))})")
    for ex in _gallery(shown or "All"):
        with st.container(border=True):
            kind = "Pine Script" if ex.language is Language.PINE else "Python"
            st.markdown(f"**{md_escape(ex.title)}** · {kind}")
            st.caption(ex.description)
            with st.expander("Show code"):
                st.code(ex.source, language="python" if ex.language is Language.PYTHON else None)
            if st.button("Use this example", key=f"use_{ex.key}", icon=":material/add:"):
                _use(settings, ex)


def _use(settings: Settings, ex: examples.Example) -> None:
    try:
        sid, _v = strategies.save(settings.db_path, meta=StrategyMeta(
            name=_unique_name(settings, ex.title), description=ex.description,
            tags=("example",)), source=ex.source, language=ex.language,
            message=f"from example {ex.key}")
    except PineOptError as exc:
        show_error(exc)
        return
    select(sid, flash=f"Created strategy {sid} from the {ex.title} example.")
    st.rerun()
