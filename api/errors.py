"""Errors as JSON ``{error, detail, field, line}`` with the status code that fits.

The message (``detail``) is the text the app and the CLI show for the same problem; ``error`` is
a short machine-readable kind. Services raise PineOptError subclasses; the API-only cases (auth,
body size, a run in the wrong state) raise ApiError.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core.errors import (ConfigError, DataError, NotFoundError, PineOptError,
                         SandboxUnavailableError, TranslationError, ValidationError)
from core.store import StoreLockedError
from core.studies.background import StudyConflictError


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(description="kind: not_found, invalid_request, validation_failed, "
                                   "conflict, too_large, unauthorized, forbidden, busy, ...")
    detail: str = Field(description="what is wrong and how to fix it (the app's and CLI's text)")
    field: str | None = Field(None, description="the request field at fault, if one is")
    line: int | None = Field(None, description="1-based source line, for strategy errors")

    model_config = {"json_schema_extra": {"examples": [{
        "error": "not_found", "detail": "Run 99 does not exist; `pineopt runs list` shows the ids.",
        "field": None, "line": None}]}}


class ApiError(Exception):
    """An error the API itself detects (auth, size, state); carries its status and kind."""

    def __init__(self, status: int, error: str, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        super().__init__(detail)


# Most specific first: the first matching class decides the status and kind.
_STATUS: tuple[tuple[type[PineOptError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (StudyConflictError, 409, "conflict"),
    (ValidationError, 422, "validation_failed"),
    (TranslationError, 422, "translation_failed"),
    (SandboxUnavailableError, 503, "sandbox_unavailable"),
    (StoreLockedError, 503, "busy"),
    (ConfigError, 400, "invalid_config"),
    (DataError, 400, "invalid_data"),
    (PineOptError, 400, "invalid_request"),
)


def _line(exc: PineOptError) -> int | None:
    if isinstance(exc, TranslationError):
        return exc.line or None
    if isinstance(exc, ValidationError):
        return next((i.line for i in exc.issues if i.line), None)
    return None


def body(error: str, detail: str, *, field: str | None = None,
         line: int | None = None) -> dict[str, Any]:
    """The JSON error document."""
    return ErrorBody(error=error, detail=detail, field=field, line=line).model_dump()


def _pineopt_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PineOptError)  # noqa: S101 - registered for this class only
    status, kind = next((s, k) for cls, s, k in _STATUS if isinstance(exc, cls))
    return JSONResponse(body(kind, str(exc), line=_line(exc)), status_code=status)


def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for this class only
    return JSONResponse(body(exc.error, exc.detail, field=exc.field), status_code=exc.status,
                        headers=exc.headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _malformed(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this class only
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "is malformed"}
    where = _field_name(tuple(first.get("loc", ())))
    message = str(first.get("msg", "is malformed"))
    if first.get("type") == "json_invalid":  # loc holds a character offset, not a field
        where = "body"
        message = f"is not valid JSON ({first.get('ctx', {}).get('error', message)})"
    more = len(exc.errors()) - 1
    detail = (f"{where}: {message}. Fix this field and send the request again; "
              "/api/docs shows the expected body." + (f" ({more} more problem(s).)" if more
                                                       else ""))
    return JSONResponse(body("malformed_request", detail, field=where), status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into ErrorBody responses."""
    app.add_exception_handler(PineOptError, _pineopt_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _malformed)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "a bad setting or value (the message names it and the fix)"),
        (401, "no bearer token (PINEOPT_API_TOKEN is set on the server)"),
        (403, "a wrong bearer token"),
        (404, "unknown id"),
        (409, "the resource is in the wrong state for this request"),
        (413, "the body is over the upload limit"),
        (422, "a malformed body, or a strategy that does not validate"),
    )}
