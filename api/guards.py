"""What every request passes before a route runs: the bearer token and the body size limit.

Auth: when PINEOPT_API_TOKEN is set, every /api route except the health check and the docs
needs ``Authorization: Bearer <token>``; the token is compared in constant time. Without a token
the server listens on loopback only (api.server), so only this machine can call it.

Body size: the limit is enforced before the body is read: a declared Content-Length over the
limit is refused at once, and a body without one is counted while it streams and refused as soon
as it passes the limit (nothing more is read).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from api.errors import ApiError, body
from core.market.decompress import UPLOAD_MAX_MB
from core.strategies.files import MAX_UPLOAD_BYTES

OPEN_PATHS = frozenset({"/api/health", "/api/docs", "/api/openapi.json"})
CLI_PATH = "/api/cli"
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # form boundaries and fields around one file
DATA_UPLOAD_BYTES = UPLOAD_MAX_MB * 1024 * 1024  # the app's one cap for data files (Data page)
STRATEGY_PATHS = ("/api/strategies", "/api/validate", "/api/translate")
# The strategy file limit plus room for the form around it (a JSON body's escapes count
# against the same limit); the decoded source is then checked with the app's own message.
STRATEGY_BODY_BYTES = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
OTHER_BODY_BYTES = 1024 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def body_limit(path: str) -> int:
    """Largest request body (bytes) a path accepts."""
    if path.startswith("/api/data/import"):
        return DATA_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
    if path.startswith(STRATEGY_PATHS):
        return STRATEGY_BODY_BYTES
    return OTHER_BODY_BYTES


def human_size(size: float) -> str:
    """Bytes as KB below 1 MB, else MB (one decimal)."""
    return f"{size / 1024:.0f} KB" if size < 2**20 else f"{size / 2**20:.1f} MB"


def too_large(size: int | None, limit: int) -> ApiError:
    """413 with the app's wording: the size, the limit and what to do."""
    seen = f"is {human_size(size)}" if size is not None else "is larger than that"
    return ApiError(413, "too_large",
                    f"The request body {seen}; the limit here is {human_size(limit)} (strategy "
                    f"files: {human_size(MAX_UPLOAD_BYTES)}, data files: "
                    f"{human_size(DATA_UPLOAD_BYTES)}). Remove unused code or data from the "
                    "file, or split it.",
                    headers={"Connection": "close"})  # the rest of the body is never read


class BodyLimit:
    """ASGI middleware: refuse bodies over body_limit(path) without reading them whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            err = too_large(int(declared), limit)
            await JSONResponse(body(err.error, err.detail), status_code=413,
                               headers=err.headers)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(None, limit)
            return message

        await self.app(scope, counted, send)


class TokenCheck:
    """A route dependency: the bearer token, when the server has one. The per-start token of
    the endpoint file (core.runs.endpoint) is accepted too; /api/cli checks that one itself."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        """Raise 401 without a bearer token and 403 with a wrong one."""
        path = request.url.path
        if not self._token or path in OPEN_PATHS or path == CLI_PATH:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(401, "unauthorized",
                           "This API needs a bearer token: send the header 'Authorization: "
                           "Bearer <token>' with the value of PINEOPT_API_TOKEN on the server.",
                           headers={"WWW-Authenticate": "Bearer"})
        owner = getattr(request.app.state, "owner_token", "").encode()
        sent = given.strip().encode()
        server_ok = hmac.compare_digest(sent, self._token)
        owner_ok = bool(owner) and hmac.compare_digest(sent, owner)
        if not (server_ok or owner_ok):
            raise ApiError(403, "forbidden",
                           "The bearer token does not match this server's PINEOPT_API_TOKEN; "
                           "send the token the server was started with (ask its operator).",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
