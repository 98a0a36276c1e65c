"""POST /api/cli: a `pineopt` command forwarded by the CLI to the owner of the store.

Only the CLI of this machine uses it: the caller must connect over loopback and send the
per-start token of PINEOPT_HOME/endpoint.json (readable by the store's owner only), whatever
PINEOPT_API_TOKEN is. The command runs here, in the owner, with this server's store and
settings; its output comes back exactly as the CLI would have printed it (clicmd.forward):
streamed part by part as it is written when the caller accepts application/x-ndjson (the CLI
does: a forwarded backtest shows its progress), else in one JSON reply at the end.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api import hooks
from api.context import AppContext, Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import example
from api.guards import is_loopback
from core.runs import endpoint

router = APIRouter(prefix="/api", tags=["cli"], responses=ERROR_RESPONSES)
_log = logging.getLogger("pineopt.api")


class CliRequest(BaseModel):
    """A command line as typed (without `pineopt`), the caller's working folder and whether
    its stderr is a terminal."""

    model_config = example({"argv": ["runs", "list", "--json"], "cwd": "/home/me/strategies",
                            "tty": False})
    argv: list[str] = Field(max_length=1000)
    cwd: str = Field(description="relative paths on the command line are taken from here")
    tty: bool = Field(False, description="the caller's stderr is a terminal: progress bars "
                                         "are drawn (as control parts)")


class CliResult(BaseModel):
    """The command's exit code and its output in order: [stream, "text"|"bytes", data]
    (bytes base64: a file written to stdout with `-o -`)."""

    model_config = example({"exit_code": 0, "parts": [["stdout", "text", "id  status ...\n"]]})
    exit_code: int
    parts: list[list[str]]


STREAM_EXAMPLE = ('{"part": ["stderr", "control", "\\r"]}\n'
                  '{"part": ["stderr", "text", "[###...] 10.0%"]}\n'
                  '{"part": ["stdout", "text", "run 7: completed"]}\n{"exit_code": 0}\n')


def check_owner_token(request: Request, owner_token: str) -> None:
    """403 unless the caller is on loopback with the endpoint file's token; says what to do."""
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        raise ApiError(403, "forbidden", "Commands are forwarded only from this machine "
                       "(loopback); use the REST endpoints from elsewhere.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not owner_token or scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), owner_token.encode()):
        raise ApiError(403, "forbidden",
                       "The token does not match the one this server wrote to "
                       f"{endpoint.FILE_NAME} in its PINEOPT_HOME at start (the file is from "
                       "another start, or was edited, or PINEOPT_HOME points elsewhere). "
                       "Restart the server to rewrite the file, or, if no server should own "
                       f"this store, delete {endpoint.FILE_NAME} and run the command again.")


FAILED = ["stderr", "text", "pineopt: the command failed in the server with an unexpected "
          "error; its log (PINEOPT_HOME/logs) has the details.\n"]
NDJSON = "application/x-ndjson"
_DONE = object()


@router.post("/cli", response_model=CliResult, summary="Run a forwarded CLI command",
             include_in_schema=True,
             responses={200: {"content": {NDJSON: {"example": STREAM_EXAMPLE}},
                              "description": "JSON, or with `Accept: application/x-ndjson` "
                                             "one line per part as it is written, then "
                                             "`{\"exit_code\": N}`"}})
def run_cli(body: CliRequest, request: Request, ctx: Ctx) -> Any:
    """What `pineopt` does while this server owns the store: the command runs here and its
    output is replayed by the CLI. Needs the token of PINEOPT_HOME/endpoint.json. With
    `Accept: application/x-ndjson` the output streams as it is written (the CLI shows
    progress); otherwise one JSON reply at the end."""
    check_owner_token(request, getattr(request.app.state, "owner_token", ""))
    runner = hooks.cli_runner()
    if runner is None:
        raise ApiError(503, "cli_unavailable", "This server was not started by the pineopt "
                       "command, so it cannot run CLI commands; start it with `pineopt api` or "
                       "`pineopt serve`.")
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(_stream(runner, body, ctx), media_type=NDJSON)
    return _run(runner, body, ctx)


def _run(runner: hooks.CliRunner, body: CliRequest, ctx: AppContext,
         listener: Callable[[list[str]], None] | None = None) -> dict[str, Any]:
    try:
        return runner(body.argv, body.cwd, ctx.settings, tty=body.tty, listener=listener)
    except Exception:  # a bug of ours: the CLI shows one line, the server log the traceback
        _log.exception("forwarded command %s failed", body.argv[:2])
        if listener is not None:
            listener(FAILED)
        return {"exit_code": 1, "parts": [FAILED]}


def _stream(runner: hooks.CliRunner, body: CliRequest, ctx: AppContext) -> Iterator[bytes]:
    """The command runs on its own thread; each part is sent as soon as it is written. A
    caller that goes away does not stop it (as with the JSON reply)."""
    parts: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def work() -> None:
        result: dict[str, Any] = {"exit_code": 1}
        try:
            result = _run(runner, body, ctx, listener=parts.put)
        finally:
            parts.put(_DONE)
            parts.put(int(result["exit_code"]))

    threading.Thread(target=work, name="pineopt-cli", daemon=True).start()
    while (part := parts.get()) is not _DONE:
        yield (json.dumps({"part": part}) + "\n").encode()
    yield (json.dumps({"exit_code": parts.get()}) + "\n").encode()
