"""/api/data: list, import, download, quality (and repairs), export, symbols.

The same services as the Data page and `pineopt data`: core.market.importers, core.market.download,
core.market.quality, core.market.export, core.market.catalogue. Responses carry the CLI's --json fields.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.context import Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import example
from core.market import export as data_export, download, importers, catalogue as market_data, quality
from core.market.layouts import ColumnMapping

router = APIRouter(prefix="/api/data", tags=["data"], responses=ERROR_RESPONSES)
DATASET_EXAMPLE = {"exchange": "sample", "market": "spot", "symbol": "BTCUSDT",
                   "timeframe": "1h", "first": "2022-01-01 00:00:00",
                   "last": "2024-12-31 23:00:00", "bars": 26304, "missing_bars": 0,
                   "synthetic": True, "quality": "ok"}
IMPORT_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "CSV, Parquet, JSON or zip (Binance, ccxt, generic), 100 MB max"},
        "exchange": {"type": "string"}, "market": {"type": "string", "enum": ["spot", "perp"]},
        "symbol": {"type": "string"}, "timeframe": {"type": "string"},
        "map": {"type": "string", "description": "time=COL,open=COL,... when detection is "
                                                 "unsure"}}},
    "example": {"file": "BTCUSDT-1h-2024-01-01.csv", "exchange": "binance"}}}}}


class DownloadIn(BaseModel):
    """`pineopt data download` settings."""

    model_config = example({"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h",
                            "since": "2024-01-01", "until": "2024-01-31"})
    exchange: str = "binance"
    symbol: str
    market: Literal["", "spot", "perp"] = Field("", description="default: from the symbol")
    timeframe: Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"] = "1h"
    since: str = ""
    until: str = ""


class RepairIn(BaseModel):
    """Repairs to apply to one stored dataset."""

    model_config = example({"symbol": "BTCUSDT", "timeframe": "1h", "repairs": ["ohlc"]})
    symbol: str
    timeframe: str
    exchange: str = ""
    market: Literal["", "spot", "perp"] = ""
    repairs: list[Literal[tuple(quality.REPAIRS)]] = Field(  # type: ignore[misc]
        min_length=1, description="; ".join(f"{k}: {v}" for k, v in quality.REPAIRS.items()))


@router.get("", summary="Stored datasets",
            responses={200: {"content": {"application/json": {"example": [DATASET_EXAMPLE]}}}})
def list_data(ctx: Ctx) -> list[dict[str, Any]]:
    """Every stored (exchange, market, symbol, timeframe) with coverage and quality badge."""
    db = ctx.settings.db_path
    badges = quality.saved_badges(db)
    return [{"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
             "timeframe": d.timeframe, "first": str(d.first), "last": str(d.last),
             "bars": d.bars, "missing_bars": d.missing_bars, "synthetic": d.synthetic,
             "quality": badges.get((d.exchange, d.market, d.symbol, d.timeframe), "unchecked")}
            for d in market_data.list_datasets(db)]


def _report(report: importers.ImportReport) -> dict[str, Any]:
    return {"file": report.file, "members": list(report.members), "notes": list(report.notes),
            "summary": report.summary,
            "datasets": [{"kind": d.kind, "exchange": d.exchange, "market": d.market,
                          "symbol": d.symbol, "timeframe": d.timeframe, "rows": d.rows,
                          "new_rows": d.new_rows, "first": d.first, "last": d.last,
                          "quality": d.quality.to_dict() if d.quality else None}
                         for d in report.datasets]}


@router.post("/import", status_code=201, openapi_extra=IMPORT_BODY, summary="Import a file",
             responses={201: {"content": {"application/json": {"example": {
                 "file": "BTCUSDT-1h-2024-01-01.csv", "members": ["BTCUSDT-1h-2024-01-01.csv"],
                 "notes": [], "summary": "binance/spot/BTCUSDT 1h: 24 rows (24 new) ...",
                 "datasets": []}}}}})
async def import_data(request: Request, ctx: Ctx) -> dict[str, Any]:
    """All or nothing per file; a malformed file is refused with what to fix (400)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "Send the data file as multipart/form-data "
                       "in the field 'file'.")
    form = await request.form(max_files=1, max_fields=20)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(422, "malformed_request", "file: missing. Send the data file in the "
                       "multipart field 'file'.", field="file")
    data = await upload.read()
    text = {k: str(form.get(k) or "") for k in ("exchange", "market", "symbol", "timeframe", "map")}
    target = importers.Target(exchange=text["exchange"], market=text["market"],
                              symbol=text["symbol"], timeframe=text["timeframe"])
    mapping = ColumnMapping.parse(text["map"]) if text["map"] else None
    report = await run_in_threadpool(importers.import_bytes, ctx.settings.db_path,
                                     Path(upload.filename or "upload.csv").name, data,
                                     target=target, mapping=mapping)
    return _report(report)


@router.post("/download", summary="Download bars with ccxt", responses={200: {"content": {
    "application/json": {"example": {"exchange": "binance", "symbol": "BTCUSDT",
                                     "new_bars": 720, "pages": 1}}}}})
def download_data(request: DownloadIn, ctx: Ctx) -> dict[str, Any]:
    """Incremental, paginated, retried; waits until done (perps also fetch funding)."""
    hint = market_data.split_symbol(request.symbol)[3]
    result = download.download(ctx.settings.db_path, download.DownloadRequest(
        exchange=request.exchange, market=request.market or hint or "spot",
        symbol=request.symbol, timeframe=request.timeframe, since=request.since,
        until=request.until), base_url=download.base_url_from_env())
    return {"exchange": result.exchange, "market": result.market, "symbol": result.symbol,
            "ccxt_symbol": result.ccxt_symbol, "timeframe": result.timeframe,
            "new_bars": result.new_bars, "pages": result.pages, "new_funding": result.new_funding,
            "first": result.first, "last": result.last, "resumed": result.resumed,
            "summary": result.summary}


def _dataset(ctx: Ctx, symbol: str, timeframe: str, exchange: str, market: str) -> Any:
    return data_export.find_dataset(ctx.settings.db_path, symbol=symbol, timeframe=timeframe,
                                    exchange=exchange, market=market)


@router.get("/quality", summary="Quality report", responses={200: {"content": {
    "application/json": {"example": {"symbol": "BTCUSDT", "bars": 26304, "issues": []}}}}})
def quality_report(ctx: Ctx, symbol: str, timeframe: str, exchange: str = "",
                   market: str = "") -> dict[str, Any]:
    """Gaps, duplicates, OHLC inconsistencies, zero-volume runs, outliers (nothing changed)."""
    d = _dataset(ctx, symbol, timeframe, exchange, market)
    key = {"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
           "timeframe": d.timeframe}
    return {**key, **quality.dataset_report(ctx.settings.db_path, **key).to_dict(),
            "repaired": ""}


@router.post("/quality/repair", summary="Apply repairs", responses={200: {"content": {
    "application/json": {"example": {"symbol": "BTCUSDT", "bars": 26303, "issues": [],
                                     "repaired": "ohlc: 3 bars fixed"}}}}})
def quality_repair(request: RepairIn, ctx: Ctx) -> dict[str, Any]:
    """`pineopt data quality --repair ...`: the report after the repairs, and what changed."""
    d = _dataset(ctx, request.symbol, request.timeframe, request.exchange, request.market)
    key = {"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
           "timeframe": d.timeframe}
    result = quality.repair(ctx.settings.db_path, fixes=list(request.repairs), **key)
    return {**key, **result.after.to_dict(), "repaired": result.summary}


@router.get("/export", summary="Bars as CSV or Parquet", response_class=Response,
            responses={200: {"content": {"text/csv": {
                "example": "time,open,high,low,close,volume\n2024-01-01T00:00:00Z,..."}}}})
def export_data(ctx: Ctx, symbol: str, timeframe: str, exchange: str = "", market: str = "",
                start: str = "", end: str = "",
                format: str = Query("csv", pattern="^(csv|parquet)$")  # noqa: A002
                ) -> Response:
    """`pineopt data export`: bars (resampled to ``timeframe`` if needed) in the range."""
    d = _dataset(ctx, symbol, timeframe, exchange, market)
    with tempfile.TemporaryDirectory(prefix="pineopt-export-") as tmp:
        path = Path(tmp) / f"bars-{timeframe}.{format}"  # no user text in file names
        data_export.export_ohlcv(ctx.settings.db_path, path, exchange=d.exchange,
                                 market=d.market, symbol=d.symbol, timeframe=timeframe,
                                 start=start, end=end)
        content = path.read_bytes()
    media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{path.name}"'})


@router.get("/symbols", summary="Search the symbols catalogue", responses={200: {"content": {
    "application/json": {"example": [{"exchange": "sample", "market": "spot",
                                      "symbol": "BTCUSDT", "lot_step": 1e-05}]}}}})
def symbols(ctx: Ctx, query: str = "", exchange: str = "", market: str = "",
            refresh: bool = False) -> list[dict[str, Any]]:
    """Catalogue rows matching ``query``; ``refresh`` first loads the exchange's market list."""
    if refresh:
        download.refresh_markets(ctx.settings.db_path, exchange or "binance",
                                 base_url=download.base_url_from_env())
    return [{"exchange": i.exchange, "market": i.market, "symbol": i.symbol,
             "ccxt_symbol": i.ccxt_symbol, "tick_size": i.tick_size, "lot_step": i.lot_step,
             "min_notional": i.min_notional, "source": i.source}
            for i in market_data.list_symbols(ctx.settings.db_path, query=query,
                                              exchange=exchange, market=market)]
