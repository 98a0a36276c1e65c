"""/api/strategies: upload, list, details, update, soft delete, validate, export.

Each route calls the services the Strategies page and `pineopt strategies` call: core.strategies.files
checks uploads, core.strategies saves versions, core.strategies.library lists, core.strategies.validation
checks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError as ModelError

from api.context import Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import (Deleted, Issue, ParamInfo, SourceCheck, StrategyCreate, StrategyDetail,
                         StrategyPage, StrategyRow, StrategyUpdate, TranslationOut, ValidateRequest,
                         ValidationOut, VersionInfo)
from core.strategies import files, params, crud as strategies, library as strategy_library, validation
from core.errors import PineOptError
from core.model import Language, StrategyMeta
from core.settings import Settings

router = APIRouter(prefix="/api", tags=["strategies"], responses=ERROR_RESPONSES)
SUFFIX = {Language.PYTHON: ".py", Language.PINE: ".pine"}
SORTS = ("updated_at", "-updated_at", "name", "-name", "id", "-id", "last_return",
         "-last_return")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": ".py or .pine, 10 MB max"},
        "name": {"type": "string", "description": "default: the file name without extension"}}},
        "example": {"file": "sma_cross.py", "name": "sma cross"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/StrategyCreate"}}}}}


def detail(settings: Settings, strategy_id: int) -> StrategyDetail:
    """Everything `pineopt strategies show --json` prints, plus the latest source."""
    record = strategies.get(settings.db_path, strategy_id)
    hist = strategies.history(settings.db_path, strategy_id)
    latest = hist[0]
    meta = record.meta
    return StrategyDetail(
        id=record.id, name=meta.name, language=record.language.value,
        description=meta.description, author=meta.author, version_label=meta.version,
        tags=list(meta.tags), timeframes=list(meta.timeframes), assets=list(meta.assets),
        dependencies=list(meta.dependencies), deleted=record.deleted, version=latest.version,
        valid=latest.valid, issues=[Issue(**i) for i in validation.issues_to_json(latest.issues)],
        parameters=[ParamInfo(name=p.name, type=p.type, default=p.default, min=p.min, max=p.max,
                              description=p.description)
                    for p in params.extract(latest.source, record.language)],
        versions=[VersionInfo(version=h.version, sha256=h.sha256, message=h.message,
                              valid=h.valid, created_at=str(h.created_at)) for h in hist],
        source=latest.source)


def _meta(base: StrategyMeta, given: Any) -> StrategyMeta:
    """``base`` with every metadata field the request set."""
    changes = {"name": given.name, "description": given.description, "author": given.author,
               "version": given.version_label,
               **{k: tuple(getattr(given, k)) if getattr(given, k) is not None else None
                  for k in ("tags", "timeframes", "assets", "dependencies")}}
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})


async def _upload_request(request: Request) -> tuple[StrategyMeta, files.StrategyFile]:
    """Read a multipart file or a JSON body into metadata and a checked source."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "malformed_request", "file: missing. Send the strategy as the "
                           "multipart field 'file' (a .py or .pine file).", field="file")
        data = await upload.read()
        checked = files.decode_upload(upload.filename or "upload", data)
        name = str(form.get("name") or "").strip() or (upload.filename or "upload").rsplit(".")[0]
        return StrategyMeta(name=name), checked
    if kind != "application/json":
        raise ApiError(415, "unsupported_media_type", f"Content-Type {kind or 'none'} is not "
                       "accepted here; send multipart/form-data with a 'file' field, or "
                       "application/json {name, source, language}.")
    try:
        given = StrategyCreate.model_validate_json(await request.body())
    except ModelError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "malformed_request", f"{where}: {first['msg']}. Fix this field and "
                       "send the request again; /api/docs shows the expected body.",
                       field=where) from None
    language = Language(given.language)
    checked = files.decode_upload(f"{given.name}{SUFFIX[language]}", given.source.encode())
    return _meta(StrategyMeta(name=given.name.strip()), given), checked


@router.post("/strategies/upload", status_code=201, response_model=StrategyDetail,
             openapi_extra=UPLOAD_BODY, summary="Upload a .py/.pine file or JSON source")
async def upload(request: Request, ctx: Ctx, response: Response) -> StrategyDetail:
    """Save the source as a strategy (a new version when the name exists). An invalid source is
    saved too, as invalid, with its issues; running it is refused until it validates."""
    meta, checked = await _upload_request(request)
    db = ctx.settings.db_path
    sid, _version = await run_in_threadpool(
        strategies.save_by_name, db, meta=meta, source=checked.source, language=checked.language)
    response.headers["Location"] = f"/api/strategies/{sid}"
    return await run_in_threadpool(detail, ctx.settings, sid)


@router.get("/strategies", response_model=StrategyPage, summary="List the library")
def list_strategies(ctx: Ctx, search: str = "", language: Literal["python", "pine"] | None = None,
                    tag: str = "", status: Literal["valid", "invalid"] | None = None,
                    sort: Literal[SORTS] = "-updated_at",  # type: ignore[valid-type]
                    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
                    ) -> StrategyPage:
    """Live strategies filtered like the library page (search words in name, author, tags...).
    Example: `GET /api/strategies?language=pine&status=valid&sort=name&limit=20`."""
    rows = strategy_library.library(ctx.settings.db_path, search=search, tag=tag or None,
                                    status=status, language=Language(language) if language
                                    else None)
    key = sort.lstrip("-")
    rows.sort(key=lambda r: (getattr(r, key) is None, getattr(r, key) or 0) if key ==
              "last_return" else getattr(r, key), reverse=sort.startswith("-"))
    items = [StrategyRow(id=r.id, name=r.name, language=r.language.value, author=r.author,
                         version=r.version, tags=list(r.tags), timeframes=list(r.timeframes),
                         assets=list(r.assets), status=r.status, updated_at=str(r.updated_at),
                         last_return=r.last_return) for r in rows[offset:offset + limit]]
    return StrategyPage(items=items, total=len(rows), limit=limit, offset=offset)


@router.get("/strategies/{strategy_id}", response_model=StrategyDetail, summary="Details")
def get_strategy(strategy_id: int, ctx: Ctx) -> StrategyDetail:
    """Metadata, parameters, the latest version's validation and source, every version.
    Deleted strategies stay readable (``deleted: true``)."""
    return detail(ctx.settings, strategy_id)


@router.put("/strategies/{strategy_id}", response_model=StrategyDetail, summary="Update")
def put_strategy(strategy_id: int, change: StrategyUpdate, ctx: Ctx) -> StrategyDetail:
    """Replace metadata fields and/or the source; a changed source becomes a new version
    (validated and stored even when invalid, like the editor's Save)."""
    db = ctx.settings.db_path
    record = strategies.get(db, strategy_id)
    if record.deleted:
        raise ApiError(409, "conflict", f"Strategy {strategy_id} was deleted; its runs stay "
                       "readable but it cannot be edited. Upload the source as a new strategy.")
    source = strategies.get_version(db, strategy_id).source if change.source is None else (
        files.decode_upload(f"strategy{SUFFIX[record.language]}", change.source.encode()).source)
    strategies.save(db, meta=_meta(record.meta, change), source=source, language=record.language,
                    strategy_id=strategy_id, message=change.message)
    return detail(ctx.settings, strategy_id)


@router.delete("/strategies/{strategy_id}", response_model=Deleted, summary="Soft delete")
def delete_strategy(strategy_id: int, ctx: Ctx) -> Deleted:
    """Remove the strategy from the library; its versions and runs stay readable."""
    strategies.delete(ctx.settings.db_path, strategy_id)
    return Deleted(id=strategy_id, deleted=True, detail=f"Strategy {strategy_id} left the "
                   "library; its past runs stay readable.")


def _checked(source: str, language: Language, dependencies: tuple[str, ...] = (),
             version: int | None = None) -> ValidationOut:
    issues = validation.validate_source(source, language, dependencies=dependencies)
    return ValidationOut(valid=not validation.errors_only(issues), version=version,
                         issues=[Issue(**i) for i in validation.issues_to_json(issues)])


@router.post("/strategies/{strategy_id}/validate", response_model=ValidationOut,
             summary="Validate a stored version")
def validate_strategy(strategy_id: int, ctx: Ctx, request: ValidateRequest | None = None
                      ) -> ValidationOut:
    """Static checks (nothing runs): every issue with line, column and the fix. 200 either
    way; ``valid`` says whether the version may run."""
    db = ctx.settings.db_path
    record = strategies.get(db, strategy_id)
    ver = strategies.get_version(db, strategy_id, request.version if request else None)
    return _checked(ver.source, record.language, record.meta.dependencies, ver.version)


@router.get("/strategies/{strategy_id}/export", summary="Download a version's source",
            response_class=Response,
            responses={200: {"content": {"text/plain": {"example": "from backtesting import"}}}})
def export_strategy(strategy_id: int, ctx: Ctx, version: int | None = None) -> Response:
    """The source file of a version (default: latest), as `pineopt strategies export`."""
    name, data = strategies.export(ctx.settings.db_path, strategy_id, version)
    return Response(data, media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/validate", response_model=ValidationOut, tags=["tools"],
             summary="Validate source without saving it")
def validate_source(check: SourceCheck) -> ValidationOut:
    """`pineopt validate FILE`: the same checks on text that is not stored."""
    files.decode_upload(f"source{SUFFIX[Language(check.language)]}", check.source.encode())
    return _checked(check.source, Language(check.language))


@router.post("/translate", response_model=TranslationOut, tags=["tools"],
             summary="Translate Pine Script to Python")
def translate(check: SourceCheck) -> TranslationOut:
    """`pineopt translate FILE.pine`: the readable Python a Pine strategy runs as. A construct
    that cannot be translated is a 422 with its line."""
    from core.pine.translation import api as pine

    if check.language != "pine":
        raise PineOptError("Only Pine Script is translated; send language 'pine'.")
    result = pine.translate(check.source)
    return TranslationOut(python_source=result.python_source,
                          parameters=[p.name for p in result.params])

