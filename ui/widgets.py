"""Reusable Streamlit widgets: parameter forms, the job monitor, metric cards."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import metrics, runs
from core.model import ParameterDef, RunStatus
from core.settings import Settings
from ui import services


def index_of(options: list[Any], value: Any) -> int:
    """Position of value in options, 0 when absent."""
    return options.index(value) if value in options else 0


def parameter_form(defs: list[ParameterDef], *, key: str) -> dict[str, Any]:
    """Typed, bounded inputs for strategy parameters; returns name -> value."""
    if not defs:
        return {}
    st.subheader("Parameters")
    values: dict[str, Any] = {}
    cols = st.columns(min(4, len(defs)))
    for i, p in enumerate(defs):
        col = cols[i % len(cols)]
        label = p.title or p.name
        help_text = p.description or None
        k = f"{key}_{p.name}"
        if p.type == "bool":
            values[p.name] = col.checkbox(label, value=bool(p.default), help=help_text, key=k)
        elif p.options:
            values[p.name] = col.selectbox(label, list(p.options),
                                           index=index_of(list(p.options), p.default),
                                           help=help_text, key=k)
        elif p.type == "int":
            values[p.name] = int(col.number_input(
                label, value=int(p.default), step=int(p.step or 1), help=help_text, key=k,
                min_value=int(p.min) if p.min is not None else None,
                max_value=int(p.max) if p.max is not None else None))
        elif p.type == "float":
            values[p.name] = float(col.number_input(
                label, value=float(p.default), step=float(p.step or 0.0) or None, help=help_text,
                key=k, format="%g", min_value=p.min, max_value=p.max))
        else:
            values[p.name] = col.text_input(label, value=str(p.default), help=help_text, key=k)
    return values


@st.fragment(run_every=1.0)
def job_monitor(settings: Settings) -> None:
    """Queued and running runs with progress bars; recent finished runs with their status."""
    recent = runs.list_runs(settings.db_path, limit=8)
    if not recent:
        return
    st.subheader("Jobs")
    for run in recent:
        label = f"Run {run.id} · {run.strategy_name} v{run.strategy_version} · {run.config.symbol} " \
                f"{run.config.timeframe}"
        if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            cols = st.columns([5, 1])
            cols[0].progress(run.progress, text=f"{label} — {run.status.value} "
                                                f"{run.progress * 100:.0f}%")
            if cols[1].button("Cancel", key=f"cancel_{run.id}"):
                services.jobs().cancel(run.id)
        elif run.status is RunStatus.COMPLETED:
            cols = st.columns([5, 1])
            ret = runs.run_metrics(settings.db_path, run.id).get("total_return")
            cols[0].success(f"{label} — completed, return "
                            f"{metrics.format_value('total_return', ret)}")
            if cols[1].button("Open", key=f"open_{run.id}"):
                st.session_state[services.SELECTED_RUN] = run.id
                st.switch_page("pages/results.py")
        else:
            st.error(f"{label} — {run.status.value}: {run.error}")


def metric_cards(values: dict[str, float], names: list[str]) -> None:
    """A row of headline st.metric cards."""
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        info = metrics.describe(name)
        col.metric(info.label, metrics.format_value(name, values.get(name)), help=info.definition)
