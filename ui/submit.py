"""Run clicks that are never lost: each click becomes exactly one run, or a message saying why.

A button's on_click callback runs before the page script, even when the run that follows is cut
short by a newer rerun (another click, the Jobs panel's refresh); the old `if st.button(...)`
body never ran then and the click vanished without a word. The callback only records a request
with its own id; the page then turns every pending request into a run with the widget values it
just rendered, recording the outcome in the same uninterruptible step (no st.* call between),
and confirms it. A request left pending by a cut-short run is served by the next full run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import streamlit as st

from core.errors import PineOptError
from core.model import RunRecord

PENDING = "run_requests_pending"  # request ids clicked but not yet served, in click order
OUTCOMES = "run_requests_outcomes"  # request id -> (kind, message)
SHOWN = 5


def on_click() -> None:
    """The Run button's callback: one new request per click. Calls no st element."""
    st.session_state.setdefault(PENDING, []).append(uuid.uuid4().hex)


def serve(submit: Callable[[], RunRecord]) -> None:
    """Serve every pending request once with ``submit`` (request + queue one run), then show
    the outcome of each request served in this run: a run id, or the error and its fix.

    ``submit`` must call no st element (a cached resource it uses must already be warm), so no
    rerun can cut it short between creating the run and recording the outcome.
    """
    pending: list[str] = st.session_state.setdefault(PENDING, [])
    outcomes: dict[str, tuple[str, str]] = st.session_state.setdefault(OUTCOMES, {})
    served = []
    while pending:
        request = pending.pop(0)  # first: a bug in submit() must not make it run twice
        if request in outcomes:
            continue
        try:
            run = submit()
        except PineOptError as exc:
            outcomes[request] = ("error", str(exc))
        else:
            outcomes[request] = (("info", f"An identical run already exists: run {run.id}. "
                                  "Open it on the Results page, or tick \"Run again\".")
                                 if run.status.finished else ("success", f"Run {run.id} queued."))
        served.append(request)
    for request in served[-SHOWN:]:
        kind, message = outcomes[request]
        getattr(st, kind)(message, icon="⚠️" if kind == "error" else None)
    if outcomes:
        st.caption(f"Run requests answered in this session: {len(outcomes)}")
