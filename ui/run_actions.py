"""Run selection and run actions shared by Results, Compare and the Jobs list: the run picker
(URL ?run=ID), deleting runs with a confirmation, and a one-shot message after an action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.runs import admin as run_admin, service as runs
from core.errors import PineOptError
from core.model import RunRecord
from core.settings import Settings
from ui import result_charts, services, url_state

FLASH = "runs_flash"  # (kind, text) shown once after the next rerun


def run_labels(db: Path, records: list[RunRecord]) -> dict[int, str]:
    """Run id -> picker label, with the parameters that differ from the strategy's defaults."""
    changes = run_admin.param_changes(db, records)
    origins = run_admin.run_origins(db, [r.id for r in records])
    return {r.id: f"{run_admin.run_label(r, changes, origins)} · {r.status.value}"
            for r in records}


def pick_run(settings: Settings, records: list[RunRecord]) -> int:
    """The Run selectbox: the run in ?run=ID when the URL names one, else this session's last
    run, else the newest. Keeps the URL on the shown run so a reload or a shared link shows it."""
    labels = run_labels(settings.db_path, records)
    ids = list(labels)
    wanted = st.session_state.get(services.SELECTED_RUN)
    from_url = url_state.incoming_ints("run")
    if from_url is not None:
        if from_url and from_url[0] in labels:
            wanted = from_url[0]
        else:
            warn_missing_link("showing the newest run instead")
            wanted = ids[0]
    wanted = wanted if wanted in labels else ids[0]
    # No key: the widget follows ``wanted`` (URL, then session), and a pick becomes ``wanted``.
    run_id = st.selectbox("Run", ids, index=ids.index(wanted), format_func=labels.get)
    st.session_state[services.SELECTED_RUN] = run_id
    url_state.publish("run", run_id)
    return int(run_id)


def warn_missing_link(instead: str) -> None:
    """Say that the run named in ?run=… does not exist, and what is shown instead."""
    st.warning(f"The link names run {st.query_params.get('run')}, which does not exist "
               f"(deleted?); {instead}. `pineopt runs list` lists the stored runs.",
               icon=":material/link_off:")


def _records(db: Path, run_ids: list[int]) -> list[RunRecord]:
    found = []
    for run_id in run_ids:
        try:
            found.append(runs.get_run(db, run_id))
        except PineOptError:  # already gone: nothing of it is cached
            continue
    return found


def _delete(db: Path, run_ids: list[int]) -> None:
    records = _records(db, run_ids)
    try:
        gone = run_admin.delete_runs(db, run_ids)
    except PineOptError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    result_charts.forget([r for r in records if r.id in gone])
    if st.session_state.get(services.SELECTED_RUN) in gone:
        st.session_state.pop(services.SELECTED_RUN)
        url_state.publish("run", None)
    which = f"run {gone[0]}" if len(gone) == 1 else f"{len(gone)} runs"
    st.session_state[FLASH] = ("success", f"Deleted {which} with its trades, equity, metrics, "
                                          "plots, risk events and cached reports.")


def delete_popover(settings: Settings, run_ids: list[int], *, label: str, where: Any = st,
                   key: str) -> None:
    """A Delete control that asks for confirmation in a popover before deleting ``run_ids``."""
    which = f"run {run_ids[0]}" if len(run_ids) == 1 else \
        f"{len(run_ids)} runs ({', '.join(map(str, run_ids[:12]))}{'…' if len(run_ids) > 12 else ''})"
    with where.popover(label, icon=":material/delete:"):
        st.markdown(f"Delete {which} and everything stored with it: trades, equity, metrics, "
                    "plots, risk events and cached reports? This cannot be undone.")
        st.button(f"Yes, delete {which.split(' (')[0]}", type="primary", key=key,
                  on_click=_delete, args=(settings.db_path, list(run_ids)))


def flash() -> None:
    """Show (once) the message left by the last run action."""
    if (message := st.session_state.pop(FLASH, None)) is not None:
        kind, text = message
        (st.success if kind == "success" else st.error)(text)
