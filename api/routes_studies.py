"""/api/studies: parameter sweeps (start, list, show with trials, resume, cancel), their
overfitting statistics (DSR, PBO), and Monte Carlo of a completed run.

The same services as `pineopt optimize`, `pineopt studies` and `pineopt montecarlo` and the
Optimize page: core.studies.sweep creates and runs a study, this server's StudyRunner runs it in
the background (202 + study id), core.studies.stats and core.studies.montecarlo compute.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import APIRouter, Query, Response

from api.context import Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.routes_backtests import completed, request_config
from api.study_schemas import (MonteCarloOut, MonteCarloRequest, ResumeRequest, StatsOut,
                               StudyAction, StudyDetail, StudyOut, StudyPage, SweepRequest,
                               TrialOut)
from core.studies import montecarlo, stats, study_store, sweep
from core.studies.background import StudyRunner

router = APIRouter(prefix="/api/studies", tags=["studies"], responses=ERROR_RESPONSES)
TRIAL_SORTS = ("n", "objective", "trades", "total_return", "sharpe_ratio", "max_drawdown")


def study_out(study: study_store.Study, trials: int, runner: StudyRunner) -> StudyOut:
    """The response model of a stored study."""
    return StudyOut(
        id=study.id, kind=study.kind, strategy_id=study.strategy_id,
        strategy_version=study.strategy_version, strategy_name=study.strategy_name,
        method=study.method, objective=study.objective, direction=study.direction,
        min_trades=study.min_trades, max_trials=study.max_trials,
        time_budget_s=study.time_budget_s, seed=study.seed, status=study.shown_status,
        error=study.error, trials=trials, space=study.space, constraints=study.constraints,
        config=study.config,
        created_at=None if study.created_at is None else str(study.created_at),
        finished_at=None if study.finished_at is None else str(study.finished_at),
        running_here=runner.running(study.id))


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _trial(row: dict[str, Any]) -> TrialOut:
    clean = {k: _value(v) for k, v in row.items()}
    return TrialOut(**{**clean, "error": clean.get("error") or "",
                       "reused": bool(clean.get("reused")),
                       "trades": None if clean.get("trades") is None else int(clean["trades"]),
                       "run_id": None if clean.get("run_id") is None else int(clean["run_id"])})


def _sorted(frame: pd.DataFrame, sort: str, direction: str) -> pd.DataFrame:
    if sort == "best":
        return frame.sort_values(["objective", "n"], ascending=[direction == "min", True],
                                 na_position="last")
    column = sort.removeprefix("-")
    if column not in TRIAL_SORTS:
        raise ApiError(422, "malformed_request", f"sort: {sort!r} is not a sort key; use best, "
                       f"{', '.join(TRIAL_SORTS)}, or one of them with a leading '-' "
                       "(descending).", field="sort")
    return frame.sort_values([column, "n"], ascending=[not sort.startswith("-"), True],
                             na_position="last")


def _action(response: Response, study_id: int, status: str, detail: str) -> StudyAction:
    response.headers["Location"] = f"/api/studies/{study_id}"
    return StudyAction(id=study_id, status=status, detail=detail)


@router.post("", status_code=202, response_model=StudyAction, summary="Start a sweep")
def start(request: SweepRequest, ctx: Ctx, response: Response) -> StudyAction:
    """`pineopt optimize` for a stored strategy: the study is checked and stored (400 names a
    bad range, constraint or objective), then its trials run in this server's background in
    sandbox batches: 202 with the study id; poll GET /api/studies/{id}."""
    version, config = request_config(ctx.settings, request.strategy_id, request.version,
                                     request.config)
    study_id = sweep.create(
        ctx.settings, strategy_id=request.strategy_id, config=config, specs=request.params,
        method=request.method, max_trials=request.trials, time_budget_s=request.time_budget_s,
        objective=request.objective, direction=request.direction,
        min_trades=request.min_trades, constraints=request.constraints, seed=request.seed,
        version=version.version)
    ctx.studies.start(study_id, workers=request.workers, batch_size=request.batch_size,
                      reuse=request.reuse)
    return _action(response, study_id, "running",
                   f"Study {study_id} started; poll GET /api/studies/{study_id}.")


@router.get("", response_model=StudyPage, summary="List studies")
def list_studies(ctx: Ctx, status: str = "", limit: int = Query(50, ge=1, le=500),
                 offset: int = Query(0, ge=0)) -> StudyPage:
    """Stored studies, newest first (``status``: running, completed, cancelled, failed,
    interrupted), as `pineopt studies list`."""
    rows = [(st, n) for st, n in study_store.list_studies(ctx.settings.db_path, limit=100_000)
            if not status or st.shown_status == status]
    items = [study_out(st, n, ctx.studies) for st, n in rows[offset:offset + limit]]
    return StudyPage(items=items, total=len(rows), limit=limit, offset=offset)


@router.get("/{study_id}", response_model=StudyDetail, summary="A study and its trials")
def show(study_id: int, ctx: Ctx, sort: str = Query("best", description=(
        "best (objective, best first), or n, objective, trades, total_return, sharpe_ratio, "
        "max_drawdown; a leading '-' sorts descending")),
         limit: int = Query(50, ge=1, le=10_000), offset: int = Query(0, ge=0)) -> StudyDetail:
    """The study and one page of its trials, as `pineopt studies show`."""
    study = study_store.get_study(ctx.settings.db_path, study_id)
    frame = study_store.trials_frame(ctx.settings.db_path, study_id)
    ranked = _sorted(frame, sort, study.direction)
    page = ranked.iloc[offset:offset + limit].to_dict(orient="records")
    best = study_store.best_trial_from(study, frame)
    return StudyDetail(study=study_out(study, len(frame), ctx.studies),
                       trials=[_trial(r) for r in page], total=len(frame), limit=limit,
                       offset=offset, sort=sort, best=None if best is None else int(best))


@router.get("/{study_id}/stats", response_model=StatsOut, summary="DSR and PBO")
def study_stats(study_id: int, ctx: Ctx) -> StatsOut:
    """The deflated Sharpe ratio of the best trial and the probability of backtest
    overfitting (CSCV); ``lines`` say why one is missing (e.g. too few trials)."""
    return StatsOut(**stats.study_statistics(ctx.settings.db_path, study_id))


@router.post("/{study_id}/resume", status_code=202, response_model=StudyAction,
             summary="Run only the missing trials")
def resume(study_id: int, ctx: Ctx, response: Response,
           request: ResumeRequest | None = None) -> StudyAction:
    """`pineopt studies resume`: run the trials an interrupted, cancelled or failed study lacks
    (stored ones are never run again). 409 while it is running."""
    request = request or ResumeRequest()
    ctx.studies.start(study_id, workers=request.workers, batch_size=request.batch_size)
    return _action(response, study_id, "running",
                   f"Study {study_id} resumed; poll GET /api/studies/{study_id}.")


@router.post("/{study_id}/cancel", status_code=202, response_model=StudyAction,
             summary="Cancel a running study")
def cancel(study_id: int, ctx: Ctx, response: Response) -> StudyAction:
    """Stop the study (``cancelling``: the running batches' sandboxes are stopped and their
    unfinished trials dropped; stored trials stay; the study ends ``cancelled``). An interrupted study is marked cancelled at once. 409 for a
    finished study or one running in another process."""
    status = ctx.studies.cancel(study_id)
    return _action(response, study_id, status,
                   f"Study {study_id} {status}; resume it with POST "
                   f"/api/studies/{study_id}/resume.")


@router.post("/montecarlo", response_model=MonteCarloOut, summary="Monte Carlo of a run")
def monte_carlo(request: MonteCarloRequest, ctx: Ctx) -> MonteCarloOut:
    """`pineopt montecarlo`: trade shuffle, trade bootstrap or stationary block bootstrap of a
    completed run, seeded. 404 unknown run, 409 a run without results, 400 a run with no
    trades to resample."""
    completed(ctx.settings, request.run_id)
    result = montecarlo.for_run(ctx.settings, request.run_id, method=request.method,
                                paths=request.paths, seed=request.seed, mean_block=request.block)
    out = montecarlo.summary(result, loss=request.loss, drawdown=request.drawdown)
    pct = {name: {str(p): v for p, v in values.items()}
           for name, values in out["percentiles"].items()}
    return MonteCarloOut(run_id=request.run_id, seed=request.seed, **{**out, "percentiles": pct})
