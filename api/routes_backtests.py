"""/api/backtests: start (through this process's job manager and the sandbox), list, status,
cancel or delete, requeue, report, metrics, trades, charts, compare.

Starting a run is what the Backtest page does: core.runs.service.request_run (an identical request
returns the stored run) then JobManager.submit. Results come from core.analytics and reports.*.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.context import Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.run_schemas import (BacktestRequest, ChartsOut, CompareOut, CompareRequest, ConfigIn,
                             MetricOut, MetricsOut, RunAction, RunOut, RunPage)
from core.analytics import run_bundle as analytics, trade_stats
from core.runs import config_file, pine_run, service as runs
from core.strategies import crud as strategies
from core.errors import NotFoundError
from core.model import BacktestConfig, Language, RunRecord, RunStatus
from core.settings import Settings
from core.strategies.crud import StrategyVersion
from reports import chart_data, compare, export

router = APIRouter(prefix="/api/backtests", tags=["backtests"], responses=ERROR_RESPONSES)
REPORT_FORMATS = ("pdf", "html", "json", "csv", "parquet")
TRADE_FORMATS = {"csv": "csv", "parquet": "trades_parquet"}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def run_out(settings: Settings, run: RunRecord, *, reused: bool = False,
            log: bool = False) -> RunOut:
    """The response model of a stored run."""
    done = run.status is RunStatus.COMPLETED
    ret = runs.run_metrics(settings.db_path, run.id).get("total_return") if done else None
    deleted = run.strategy_id is None or run.strategy_id in strategies.deleted_ids(
        settings.db_path)
    return RunOut(id=run.id, status=run.status.value, progress=run.progress,
                  strategy_id=run.strategy_id, strategy_name=run.strategy_name,
                  strategy_version=run.strategy_version, strategy_deleted=deleted,
                  config=run.config.to_dict(), error=run.error or "", reused=reused,
                  run_hash=run.run_hash, data_sha=run.data_sha, created_at=str(run.created_at),
                  started_at=None if run.started_at is None else str(run.started_at),
                  finished_at=None if run.finished_at is None else str(run.finished_at),
                  duration_s=run.duration_s, total_return=_finite(ret),
                  log=run.log if log else None)


def completed(settings: Settings, run_id: int) -> None:
    """404 for an unknown run, 409 for one that has no results (yet)."""
    run = runs.get_run(settings.db_path, run_id)
    try:
        runs.require_completed(run)
    except NotFoundError as exc:
        raise ApiError(409, "conflict", f"{exc} Poll GET /api/backtests/{run_id} until its "
                       "status is completed.") from None


def request_config(settings: Settings, strategy_id: int, version: int | None,
                   config: ConfigIn) -> tuple[StrategyVersion, BacktestConfig]:
    """(the strategy version, the checked config): defaults < a Pine strategy's own
    strategy() capital and fees < the request's settings, as `pineopt backtest` builds it."""
    record = strategies.get(settings.db_path, strategy_id)
    ver = strategies.get_version(settings.db_path, strategy_id, version)
    own = pine_run.strategy_defaults(ver.source) if record.language is Language.PINE else {}
    mapping = config_file.merge(config_file.request_layers(own), config.layer())
    return ver, config_file.build_config(mapping)


@router.post("", status_code=202, response_model=RunOut, summary="Start a run",
             responses={200: {"model": RunOut, "description": "an identical run is stored"}})
def start(request: BacktestRequest, ctx: Ctx, response: Response) -> RunOut | JSONResponse:
    """Queue a backtest in this server's job manager (sandboxed like every run): 202 with the
    run id; poll GET /api/backtests/{id}. An identical request (same source, data and
    settings) returns the stored completed run with 200 and ``reused: true`` unless ``force``."""
    version, config = request_config(ctx.settings, request.strategy_id, request.version,
                                     request.config)
    run = runs.request_run(ctx.settings, strategy_id=request.strategy_id, config=config,
                           version=version.version, force=request.force)
    location = {"Location": f"/api/backtests/{run.id}"}
    if run.status.finished:
        body = run_out(ctx.settings, run, reused=True)
        return JSONResponse(body.model_dump(), status_code=200, headers=location)
    ctx.jobs.submit(run.id)
    response.headers.update(location)
    return run_out(ctx.settings, runs.get_run(ctx.settings.db_path, run.id))


@router.get("", response_model=RunPage, summary="List runs")
def list_runs(ctx: Ctx, status: str = "", strategy_id: int | None = None, symbol: str = "",
              timeframe: str = "", limit: int = Query(50, ge=1, le=500),
              offset: int = Query(0, ge=0)) -> RunPage:
    """Stored runs, newest first, filtered by status, strategy, symbol and timeframe.
    Example: `GET /api/backtests?status=completed&strategy_id=1`."""
    rows = [r for r in runs.list_runs(ctx.settings.db_path, limit=100_000)
            if (not status or r.status.value == status)
            and (strategy_id is None or r.strategy_id == strategy_id)
            and (not symbol or r.config.symbol == symbol)
            and (not timeframe or r.config.timeframe == timeframe)]
    return RunPage(items=[run_out(ctx.settings, r) for r in rows[offset:offset + limit]],
                   total=len(rows), limit=limit, offset=offset)


@router.get("/{run_id}", response_model=RunOut, summary="Status, progress, config, error")
def get_backtest(run_id: int, ctx: Ctx) -> RunOut:
    """One run with its log."""
    return run_out(ctx.settings, runs.get_run(ctx.settings.db_path, run_id), log=True)


@router.delete("/{run_id}", response_model=RunAction, summary="Cancel or delete")
def delete_backtest(run_id: int, ctx: Ctx) -> RunAction:
    """A queued or running run is cancelled (a running one stops within about a second); a
    finished run is deleted with its results. 409 when the run runs in another process."""
    run = runs.get_run(ctx.settings.db_path, run_id)
    if run.status.finished:
        runs.delete_run(ctx.settings.db_path, run_id)
        return RunAction(id=run_id, status=run.status.value, deleted=True,
                         detail=f"Run {run_id} and its results were deleted.")
    if not ctx.jobs.cancel(run_id):
        raise ApiError(409, "conflict", f"Run {run_id} is {run.status.value} in another process "
                       "(the app or a CLI command); cancel it there, or wait until it ends.")
    now = runs.get_run(ctx.settings.db_path, run_id)
    return RunAction(id=run_id, status=now.status.value, deleted=False,
                     detail=f"Run {run_id} is being cancelled; it ends as cancelled.")


@router.post("/{run_id}/requeue", response_model=RunAction, status_code=202,
             summary="Queue an interrupted, cancelled, timed-out or failed run again")
def requeue(run_id: int, ctx: Ctx) -> RunAction:
    """The Backtest page's Re-queue: the same inputs, run again in this process."""
    ctx.jobs.requeue(run_id)
    run = runs.get_run(ctx.settings.db_path, run_id)
    return RunAction(id=run_id, status=run.status.value, deleted=False,
                     detail=f"Run {run_id} was queued again.")


def _file(settings: Settings, run_id: int, kind: str, content: bytes) -> Response:
    return Response(content, media_type=export.mime(kind), headers={
        "Content-Disposition": f'attachment; filename="{export.file_name(run_id, kind)}"'})


FILE_RESPONSES = {200: {"description": "the file", "content": {
    "application/pdf": {"example": "%PDF-1.4 ..."}, "text/html": {"example": "<!DOCTYPE html>"},
    "text/csv": {"example": "n,side,tag,exit_reason,entry_time,..."},
    "application/json": {"example": {"run_id": 7, "config": {}, "metrics": {}}}}}}


@router.get("/{run_id}/report", response_class=Response, responses=FILE_RESPONSES,
            summary="PDF report (?format=html for the quantstats tearsheet)")
def report(run_id: int, ctx: Ctx, format: str = Query(  # noqa: A002 - the public name
        "pdf", pattern="^(pdf|html|json|csv|parquet)$",
        description="pdf; html (tearsheet); json (whole run); csv (trades); parquet (equity)")
           ) -> Response:
    """`pineopt report RUN_ID --format ...` as a download."""
    completed(ctx.settings, run_id)
    content = export.report_bytes(ctx.settings, run_id, format)
    return _file(ctx.settings, run_id, format, content)


@router.get("/{run_id}/metrics", response_model=MetricsOut, summary="Metrics with definitions")
def metrics(run_id: int, ctx: Ctx) -> MetricsOut:
    """Every metric (All, Long, Short) with label, unit, definition and the app's text."""
    completed(ctx.settings, run_id)
    by_kind = analytics.load(ctx.settings, run_id).metrics
    rows = []
    for name, value in by_kind.get("all", {}).items():
        info = trade_stats.describe(name)
        rows.append(MetricOut(name=name, label=info.label, unit=info.unit,
                              definition=info.definition, value=_finite(value),
                              text=trade_stats.format_value(name, value),
                              long=_finite(by_kind.get("long", {}).get(name)),
                              short=_finite(by_kind.get("short", {}).get(name))))
    costs = {k: _finite(v) for k, v in runs.run_cost_split(ctx.settings.db_path, run_id).items()}
    return MetricsOut(run_id=run_id, metrics=rows, costs=costs)


@router.get("/{run_id}/trades", summary="Trade list (JSON; ?format=csv|parquet)",
            responses=FILE_RESPONSES)
def trades(run_id: int, ctx: Ctx, format: str = Query(  # noqa: A002 - the public name
        "json", pattern="^(json|csv|parquet)$")) -> Response:
    """Each trade with side, prices, size (coins), P&L (USDT), return, run-up and drawdown."""
    completed(ctx.settings, run_id)
    bundle = analytics.load(ctx.settings, run_id)
    if format == "json":
        return JSONResponse({"run_id": run_id,
                             "trades": export.run_document(bundle)["trades"]})
    kind = TRADE_FORMATS[format]
    maker = export.trades_csv if format == "csv" else export.trades_parquet
    return _file(ctx.settings, run_id, kind, maker(bundle))


@router.get("/{run_id}/charts", response_model=ChartsOut, summary="Chart data")
def charts(run_id: int, ctx: Ctx) -> ChartsOut:
    """Equity vs buy and hold, drawdown, monthly and yearly returns, rolling ratios and the
    trade distribution, as records."""
    completed(ctx.settings, run_id)
    return ChartsOut(**chart_data.chart_data(analytics.load(ctx.settings, run_id)))


@router.post("/compare", response_model=CompareOut, summary="2-10 runs side by side")
def compare_runs(request: CompareRequest, ctx: Ctx) -> CompareOut:
    """`pineopt compare --json`: metrics per run, the best run per metric, correlation of daily
    returns and the settings that differ."""
    for run_id in request.run_ids:
        completed(ctx.settings, run_id)
    bundles = compare.load_runs(ctx.settings, request.run_ids)
    values = compare.values_table(bundles)
    corr = compare.correlation(bundles).round(12)
    return CompareOut(
        runs=[b.run.id for b in bundles],
        metrics={c: {n: _finite(values.at[n, c]) for n in values.index} for c in values.columns},
        best=compare.best_columns(values),
        correlation={c: {r: _finite(v) for r, v in col.items()}
                     for c, col in corr.to_dict().items()},
        config_differences=compare.config_differences(bundles).to_dict(orient="records"))
