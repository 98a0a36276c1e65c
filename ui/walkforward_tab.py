"""The Optimize page's Walk-forward tab: window settings, a background walk-forward with
progress and cancel (this server's StudyRunner, ui.services.studies), the stitched out-of-sample equity, the per-window table, the stability
chart and the walk-forward efficiency. The strategy, dates, parameters, method and objective
come from the New sweep tab (``request``: the keyword arguments of walkforward.create)."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from core.analytics import metrics
from core.errors import PineOptError
from core.settings import Settings
from core.studies import study_store, walkforward, wf_store
from reports import walkforward_charts
from ui import services, widgets

PICK = "wf_pick"  # the stored walk-forwards' picker
HEADLINE = ("total_return", "sharpe_ratio", "max_drawdown", "total_trades")


def _start(settings: Settings, study_id: int) -> bool:
    """Run (or resume) the walk-forward in this server's StudyRunner; False (and the message
    shown) when it is refused, e.g. already running."""
    try:
        services.studies().start(study_id,
                                 workers=min(settings.pool_size, os.cpu_count() or 1))
    except PineOptError as exc:
        services.show_error(exc)
        return False
    return True


def render(settings: Settings, request: dict[str, Any] | None) -> None:
    """The whole tab; ``request`` is None when the New sweep tab has nothing to optimise."""
    st.caption("Uses the strategy, dates, parameters, method, trial budget and objective of the "
               "New sweep tab. Each in-sample window is optimised as one study; its best "
               "parameters run on the out-of-sample window that follows.")
    c1, c2, c3, c4 = st.columns(4)
    is_len = c1.text_input("In-sample length", "60d", key="wf_is", help="e.g. 180d, 12h, 8w")
    oos_len = c2.text_input("Out-of-sample length", "30d", key="wf_oos")
    step = c3.text_input("Step (blank = out-of-sample length)", "", key="wf_step")
    anchored = c4.checkbox("Anchored", key="wf_anchored",
                           help="Every in-sample window starts at the first bar and grows by "
                                "the step; unticked, the in-sample window rolls forward.")
    if st.button("Run walk-forward", type="primary", key="wf_run", disabled=request is None):
        try:
            study_id = walkforward.create(settings, is_len=is_len, oos_len=oos_len,
                                          step=step.strip() or None, anchored=anchored,
                                          **(request or {}))
        except PineOptError as exc:
            services.show_error(exc)
        else:
            st.session_state[PICK] = study_id  # the picker follows the new one
            _start(settings, study_id)
    if request is None:
        st.info("Tick at least one parameter on the New sweep tab first.")
    _show_stored(settings)


@st.fragment(run_every=1.0)
def _progress(settings: Settings, study_id: int) -> None:
    runner = services.studies()
    shown = runner.progress(study_id)
    if shown is None:
        return
    report = shown.report
    total = len(wf_store.windows(settings.db_path, study_id))
    done = report.done if report else 0
    now = f" · window {report.current} in progress" if report and report.current else ""
    st.progress(min(done / total, 1.0) if total else 0.0,
                text=f"{done} of {total} windows{now} · {shown.elapsed:.0f} s")
    widgets.study_controls(shown, study_id, what="walk-forward", key="wf")


def _show_stored(settings: Settings) -> None:
    listed = [(s, n) for s, n in study_store.list_studies(settings.db_path)
              if s.kind == wf_store.KIND]
    if not listed:
        return
    study_id = widgets.study_picker("Walk-forward", listed, key=PICK, counts_trials=False)
    _progress(settings, study_id)
    out = walkforward.result(settings, study_id)
    if (out.study.interrupted or out.study.status == "cancelled") and \
            not services.studies().running(study_id) and st.button(
                "Resume (runs only the unfinished windows)", key="wf_resume") and \
            _start(settings, study_id):
        st.rerun()
    _show_result(out)


def _show_result(out: walkforward.WalkForwardResult) -> None:
    kind = "anchored" if out.lengths["anchored"] else "rolling"
    st.markdown(f"**{kind.capitalize()}** · in-sample {out.lengths['is_len']} · out-of-sample "
                f"{out.lengths['oos_len']} · step {out.lengths['step']}")
    table = out.window_table()
    cols = st.columns(len(HEADLINE) + 1)
    for col, name in zip(cols, HEADLINE, strict=False):
        col.metric(f"OOS {metrics.describe(name).label}",
                   metrics.format_value(name, out.metrics.get(name)))
    cols[-1].metric("Walk-forward efficiency", "—" if out.efficiency is None
                    else f"{out.efficiency:.2f}",
                    help="OOS mean daily return ×365 / IS mean daily return ×365 of the chosen "
                         "parameters (Pardo); undefined when the in-sample figure is not "
                         "positive.")
    st.caption(_efficiency_note(out))
    if len(out.equity) > 1:
        st.altair_chart(walkforward_charts.stitched_equity(out.equity, table), width="stretch")
    else:
        st.caption("No out-of-sample window has finished yet.")
    st.dataframe(walkforward_charts.window_display(table, pct_objective=_pct(out.study.objective)),
                 hide_index=True, width="stretch", column_config=_window_columns(out.study.objective))
    swept = [d["name"] for d in out.study.space if d["name"] in table.columns]
    if swept and table[swept].notna().any().any():
        st.markdown("**Chosen parameters per window** (steady values suggest a robust choice)")
        st.altair_chart(walkforward_charts.stability(table, swept), width="stretch")


def _window_columns(objective: str) -> dict[str, Any]:
    """Human headers with units for the per-window table (its fields keep their JSON names)."""
    text, num = st.column_config.TextColumn, st.column_config.NumberColumn
    label = metrics.describe(objective).label if objective in metrics.METRICS else objective
    label = f"IS {label}" + (" %" if _pct(objective) else "")
    columns: dict[str, Any] = {
        "window": num("Window", format="%d"), "status": text("Status"),
        "error": text("Error"), "is_start": text("IS from (UTC)"),
        "is_end": text("IS to (UTC, excl.)"), "oos_start": text("OOS from (UTC)"),
        "oos_end": text("OOS to (UTC, excl.)"),
        "is_objective": num(label, format="%.2f" if _pct(objective) else "%.4g"),
        "oos_sharpe_ratio": num("OOS Sharpe", format="%.2f"),
        "oos_trades": num("OOS trades", format="%d"),
        "wfe": num("WFE (OOS / IS ann. return)", format="%.2f"),
        "oos_run_id": num("OOS run", format="%d"), "is_study_id": num("IS study", format="%d")}
    for name, head in walkforward_charts.PCT_COLUMNS.items():
        columns[name] = num(head, format="%.2f")
    return columns


def _pct(metric: str) -> bool:
    """True for a metric stored as a fraction and shown in percent."""
    return metric in metrics.METRICS and metrics.describe(metric).unit == "pct"


def _efficiency_note(out: walkforward.WalkForwardResult) -> str:
    """Where the walk-forward efficiency comes from, or why there is none."""
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.2%}"

    text = (f"Annualised return (mean daily return ×365): in-sample {pct(out.is_annualised)} "
            f"(pooled over the windows' chosen parameters), out-of-sample "
            f"{pct(out.oos_annualised)} (the stitched curve).")
    if out.efficiency is None and out.is_annualised is not None and out.is_annualised <= 0:
        text += " No efficiency: the in-sample return is not positive."
    return text
