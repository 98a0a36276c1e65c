"""Reusable Streamlit widgets: parameter forms, the job monitor, the sandbox banner, metric
cards."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.analytics import metrics
from core.strategies import params
from core.runs import admin as run_admin, service as runs
from core.model import BacktestConfig, ParameterDef, RunRecord, RunStatus
from core.settings import Settings
from ui import run_actions, services


def index_of(options: list[Any], value: Any) -> int:
    """Position of value in options, 0 when absent."""
    return options.index(value) if value in options else 0


def pick(options: list[Any], value: Any) -> Any:
    """value when it is one of options, else the first option."""
    return options[index_of(options, value)]


def parameter_form(defs: list[ParameterDef], *, key: str) -> dict[str, Any]:
    """Typed, bounded inputs for strategy parameters; returns name -> value. A Pine input's
    title is the label and its name the help; internal parameters are not shown."""
    defs = params.user_facing(defs)
    if not defs:
        return {}
    st.subheader("Parameters")
    values: dict[str, Any] = {}
    cols = st.columns(min(4, len(defs)))
    for i, p in enumerate(defs):
        col = cols[i % len(cols)]
        label = p.title or p.name
        help_text = p.description or (f"`{p.name}`" if p.title else None)
        k = f"{key}_{p.name}"
        if p.type == "bool":
            values[p.name] = col.checkbox(label, value=bool(p.default), help=help_text, key=k,
                                          persist_state="session")
        elif p.options:
            values[p.name] = col.selectbox(label, list(p.options),
                                           index=index_of(list(p.options), p.default),
                                           help=help_text, key=k, persist_state="session")
        elif p.type == "int":
            values[p.name] = int(col.number_input(
                label, value=int(p.default), step=int(p.step or 1), help=help_text, key=k,
                persist_state="session", min_value=int(p.min) if p.min is not None else None,
                max_value=int(p.max) if p.max is not None else None))
        elif p.type == "float":
            values[p.name] = float(col.number_input(
                label, value=float(p.default), step=float(p.step or 0.0) or None, help=help_text,
                key=k, format="%g", min_value=p.min, max_value=p.max,
                persist_state="session"))
        else:
            values[p.name] = col.text_input(label, value=str(p.default), help=help_text, key=k,
                                            persist_state="session")
    return values


STATUS_TEXT = {
    RunStatus.REJECTED: "rejected by validation or the sandbox policy",
    RunStatus.TIMED_OUT: "timed out", RunStatus.MEMORY_LIMIT: "memory limit exceeded",
    RunStatus.CPU_LIMIT: "CPU-time limit reached", RunStatus.OUTPUT_LIMIT: "output limit reached",
    RunStatus.CANCELLED: "cancelled", RunStatus.CRASHED: "crashed",
    RunStatus.RESULT_REJECTED: "result rejected", RunStatus.INTERRUPTED: "interrupted",
    RunStatus.SANDBOX_UNAVAILABLE: "sandbox unavailable", RunStatus.FAILED: "failed",
}
JOB_HISTORY = 30


def _active_job(run: RunRecord, position: int, label: str) -> None:
    cols = st.columns([5, 1])
    if run.status is RunStatus.RUNNING:
        cols[0].progress(min(max(run.progress, 0.0), 1.0),
                         text=f"{label} — running, {run.progress * 100:.0f}% of bars")
    else:
        cols[0].info(f"{label} — queued (#{position} in line)")
    if cols[1].button("Cancel", key=f"cancel_{run.id}"):
        services.jobs().cancel(run.id)


def _finished_job(settings: Settings, run: RunRecord, label: str, *, live: bool) -> None:
    cols = st.columns([5, 1])
    if run.status is RunStatus.COMPLETED:
        ret = runs.run_metrics(settings.db_path, run.id).get("total_return")
        cols[0].success(f"{label} — completed, return "
                        f"{metrics.format_value('total_return', ret)}")
        # A link, not a button + st.switch_page: navigation never runs inside the fragment.
        cols[1].page_link("app_pages/results.py", label="Open", icon=":material/monitoring:",
                          query_params={"run": str(run.id)})
        return
    text = f"{label} — {STATUS_TEXT.get(run.status, run.status.value)}"
    box = cols[0].warning if run.status in (RunStatus.CANCELLED, RunStatus.INTERRUPTED) \
        else cols[0].error
    box(text)
    if run.error:
        cols[0].text(run.error[:2000])  # plain text: the message can quote the user's code
    if run.status is RunStatus.INTERRUPTED and cols[1].button("Re-queue", key=f"rq_{run.id}"):
        services.jobs().requeue(run.id)
    if not live:
        run_actions.delete_popover(settings, [run.id], label="Delete", where=cols[1],
                                   key=f"jobdel_{run.id}")


def _job_list(settings: Settings, recent: list[RunRecord], *, live: bool) -> None:
    active = sorted((r for r in recent if not r.status.finished), key=lambda r: r.id)
    head, action = st.columns([5, 1], vertical_alignment="bottom")
    head.subheader("Jobs")
    failed = [r.id for r in recent if r.status.finished and r.status is not RunStatus.COMPLETED]
    if failed and not live:
        run_actions.delete_popover(settings, failed, label=f"Delete {len(failed)} failed",
                                   where=action, key="jobdel_failed")
    done = [r for r in recent if r.status.finished][:8]
    changes = run_admin.param_changes(settings.db_path, [*active, *done])
    origins = run_admin.run_origins(settings.db_path, [r.id for r in [*active, *done]])
    queued = 0
    for run in sorted(active, key=lambda r: r.status is not RunStatus.RUNNING):
        queued += run.status is RunStatus.QUEUED
        _active_job(run, queued, run_admin.run_label(run, changes, origins))
    for run in done:
        _finished_job(settings, run, run_admin.run_label(run, changes, origins), live=live)


@st.fragment(run_every=1.0)
def _live_jobs(settings: Settings) -> None:
    recent = runs.list_runs(settings.db_path, limit=JOB_HISTORY)
    _job_list(settings, recent, live=True)
    if all(r.status.finished for r in recent):
        st.rerun(scope="app")  # the last job ended: draw the list once more, without a timer


def job_monitor(settings: Settings) -> None:
    """Running runs with a progress bar and Cancel, the queue in order, then recent finished
    runs: completed ones open in Results (a link with ?run=ID), interrupted ones can be
    re-queued, failed ones deleted. The list refreshes every second only while something is
    queued or running; otherwise it is drawn once, so clicks are never lost to a refresh."""
    recent = runs.list_runs(settings.db_path, limit=JOB_HISTORY)
    if not recent:
        return
    if any(not r.status.finished for r in recent):
        _live_jobs(settings)
    else:
        _job_list(settings, recent, live=False)


def sandbox_banner(settings: Settings) -> None:
    """The sandbox self-test's verdict: a sidebar line when it passed, a red banner at the top
    of every page when strategies cannot run or run unsandboxed (PINEOPT_SANDBOX=none)."""
    from sandbox import selftest as sandbox_check

    if settings.executor == "dask":  # jobs run on the workers, each proves its own sandbox
        st.sidebar.caption(":material/shield: Sandbox: on the Dask workers (each runs the "
                           "firejail self-test before it joins and refuses to join if it fails).")
        return
    with st.spinner("Checking the sandbox…"):
        status = sandbox_check.self_test(settings)
    if status.ok and not status.unsafe:
        from sandbox import doctor

        st.sidebar.caption(":material/shield: Sandbox: firejail self-test passed. "
                           + doctor.summary(settings))
        return
    st.sidebar.caption(":material/gpp_bad: Sandbox: " + ("UNSAFE development mode"
                                                         if status.unsafe else "unavailable"))
    st.error(status.message, icon=":material/gpp_bad:")


def metric_cards(values: dict[str, float], names: list[str]) -> None:
    """A row of headline st.metric cards."""
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        info = metrics.describe(name)
        col.metric(info.label, metrics.format_value(name, values.get(name)), help=info.definition)


def placement_caption(settings: Settings) -> None:
    """Where jobs run: 'locally' or 'on a Dask cluster with N workers', with the dashboard link
    when the scheduler serves one (core.executors.placement; never raises)."""
    from core import executors

    where = executors.placement(settings)
    link = f" · [Dask dashboard]({where.dashboard})" if where.dashboard else ""
    icon = ":material/lan:" if where.kind == executors.DASK else ":material/computer:"
    st.caption(f"{icon} {where.text}{link}")


def study_picker(label: str, listed: list[tuple[Any, int]], *, key: str,
                 counts_trials: bool = True) -> int:
    """A selectbox of stored studies ((study, trials stored), newest first; a page selects one
    by writing its id to ``key`` before drawing), with the picked study's status and trial count
    in a caption under it. The
    labels hold only what does not change while a study runs: a keyed selectbox keeps showing
    the label it had when picked (Streamlit 1.67), so "running · 0 trials" stayed on screen
    after the study finished. ``counts_trials``: False for walk-forwards (their trials belong to
    their windows' studies)."""
    options = {s.id: f"{s.id} · {s.strategy_name} · "
                     f"{run_admin.market_text(BacktestConfig.from_dict(s.config))} · "
                     f"{s.method} · {s.direction} {s.objective}" for s, _ in listed}
    ids = list(options)
    picked = st.selectbox(label, ids, format_func=options.get, key=key)
    study, count = next((s, n) for s, n in listed if s.id == picked)
    stored = f" · {count:,} trial{'' if count == 1 else 's'} stored" if counts_trials else ""
    st.caption(f"{study.shown_status.capitalize()}{stored}")
    return int(picked)


def study_controls(shown: Any, study_id: int, *, what: str, key: str) -> None:
    """Below a running study's progress bar: its error, a Cancel button while it runs, and once
    it ended its final status and one rerun of the page (a fragment redraws only itself, so the
    finished results are drawn once by the whole page). ``shown`` is the StudyRunner's progress
    (alive, error, report, started); ``what`` names it on the button ("sweep", "walk-forward")."""
    if shown.error:
        st.error(shown.error)
    if shown.alive:
        if st.button(f"Cancel {what}", key=f"{key}_cancel_{study_id}"):
            st.caption(f"{what.capitalize()} {study_id}: {services.studies().cancel(study_id)}")
        return
    st.caption(f"Finished: {shown.report.status if shown.report else 'stopped'}")
    redrawn = f"{key}_redrawn_{study_id}_{shown.started}"
    if not st.session_state.get(redrawn):
        st.session_state[redrawn] = True
        st.rerun()
