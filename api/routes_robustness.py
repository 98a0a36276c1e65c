"""/api/walkforwards and /api/lookahead: walk-forward optimisation and the lookahead check.

The same services as `pineopt walkforward` and `pineopt lookahead` and the Optimize page:
core.studies.walkforward creates a walk-forward (a study of kind 'walkforward' with one
in-sample sweep per window), this server's StudyRunner runs it in the background (202 + id), and
core.studies.lookahead runs the check. A walk-forward is a study: POST
/api/studies/{id}/resume and /cancel work for it too.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.context import Ctx
from api.errors import ERROR_RESPONSES
from api.robust_schemas import (FindingOut, LookaheadOut, LookaheadRequest, WalkForwardAction,
                                WalkForwardOut, WalkForwardRequest, WindowOut)
from api.routes_backtests import request_config
from api.routes_studies import _value
from core.studies import lookahead, walkforward, wf_store

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


@router.post("/walkforwards", status_code=202, response_model=WalkForwardAction,
             tags=["walk-forward"], summary="Start a walk-forward")
def start_walkforward(request: WalkForwardRequest, ctx: Ctx,
                      response: Response) -> WalkForwardAction:
    """`pineopt walkforward` for a stored strategy: the windows and each window's sweep are
    checked and stored (400 names a bad length, step, range, constraint or objective, or data
    too short for one window), then the windows run one by one in this server's background:
    202 with the id; poll GET /api/walkforwards/{id}."""
    version, config = request_config(ctx.settings, request.strategy_id, request.version,
                                     request.config)
    study_id = walkforward.create(
        ctx.settings, strategy_id=request.strategy_id, config=config, specs=request.params,
        is_len=request.is_len, oos_len=request.oos_len, step=request.step,
        anchored=request.anchored, method=request.method, max_trials=request.trials,
        time_budget_s=request.time_budget_s, objective=request.objective,
        direction=request.direction, min_trades=request.min_trades,
        constraints=request.constraints, seed=request.seed, version=version.version)
    ctx.studies.start(study_id, workers=request.workers, batch_size=request.batch_size)
    response.headers["Location"] = f"/api/walkforwards/{study_id}"
    windows = len(wf_store.windows(ctx.settings.db_path, study_id))
    return WalkForwardAction(id=study_id, status="running", windows=windows,
                             detail=f"Walk-forward {study_id} started; poll GET "
                                    f"/api/walkforwards/{study_id}.")


@router.get("/walkforwards/{study_id}", response_model=WalkForwardOut, tags=["walk-forward"],
            summary="A walk-forward: windows, stitched metrics, WFE")
def show_walkforward(study_id: int, ctx: Ctx) -> WalkForwardOut:
    """The walk-forward's state, as `pineopt studies show ID --json`: every window, the
    stitched out-of-sample curve's metrics and the walk-forward efficiency (finished windows
    only while it runs). 404 for an unknown id or a study that is not a walk-forward."""
    out = walkforward.result(ctx.settings, study_id)
    study = out.study
    return WalkForwardOut(
        id=study.id, status=study.shown_status, running_here=ctx.studies.running(study.id),
        strategy_id=study.strategy_id, strategy_name=study.strategy_name,
        strategy_version=study.strategy_version, **out.lengths, method=study.method,
        objective=study.objective, direction=study.direction,
        windows=[WindowOut(**record) for record in out.window_records()],
        oos_metrics={k: _value(v) for k, v in out.metrics.items()},
        is_annualized_return=_value(out.is_annualised),
        oos_annualized_return=_value(out.oos_annualised), wfe=_value(out.efficiency),
        errors=[e for e in study.error.splitlines() if e],
        created_at=None if study.created_at is None else str(study.created_at),
        finished_at=None if study.finished_at is None else str(study.finished_at))


@router.post("/lookahead", response_model=LookaheadOut, tags=["lookahead"],
             summary="Check a strategy for lookahead bias (synchronous)")
def check_lookahead(request: LookaheadRequest, ctx: Ctx) -> LookaheadOut:
    """`pineopt lookahead` for a stored strategy version: the full range and ``cuts`` truncated
    ranges run in the sandbox (two sandbox children) and are compared. **Synchronous**: the
    response comes when the check ends, typically seconds, up to twice the run's wall-clock
    limit times the runs for long ranges; set a client timeout accordingly. Nothing is stored.
    200 with ``passed`` false when lookahead is found; 400 a bad setting, parameter, too few
    bars, or a strategy that fails on the full range; 404 an unknown strategy."""
    version, config = request_config(ctx.settings, request.strategy_id, request.version,
                                     request.config)
    report = lookahead.check_strategy(ctx.settings, strategy_id=request.strategy_id,
                                      config=config, version=version.version,
                                      cuts=request.cuts)
    out = report.to_dict()
    return LookaheadOut(**{**out, "findings": [FindingOut(**f) for f in out["findings"]]})
