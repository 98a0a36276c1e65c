"""POST /api/cli: a `pineopt` command forwarded by the CLI to the owner of the store.

Only the CLI of this machine uses it: the caller must connect over loopback and send the
per-start token of PINEOPT_HOME/endpoint.json (readable by the store's owner only), whatever
PINEOPT_API_TOKEN is. The command runs here, in the owner, with this server's store and
settings; its output comes back exactly as the CLI would have printed it (clicmd.forward).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api import hooks
from api.context import Ctx
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import example
from api.guards import is_loopback
from core.runs import endpoint

router = APIRouter(prefix="/api", tags=["cli"], responses=ERROR_RESPONSES)
_log = logging.getLogger("pineopt.api")


class CliRequest(BaseModel):
    """A command line as typed (without `pineopt`) and the caller's working folder."""

    model_config = example({"argv": ["runs", "list", "--json"], "cwd": "/home/me/strategies"})
    argv: list[str] = Field(max_length=1000)
    cwd: str = Field(description="relative paths on the command line are taken from here")


class CliResult(BaseModel):
    """The command's exit code and its output in order: [stream, "text"|"bytes", data]
    (bytes base64: a file written to stdout with `-o -`)."""

    model_config = example({"exit_code": 0, "parts": [["stdout", "text", "id  status ...\n"]]})
    exit_code: int
    parts: list[list[str]]


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


@router.post("/cli", response_model=CliResult, summary="Run a forwarded CLI command",
             include_in_schema=True)
def run_cli(body: CliRequest, request: Request, ctx: Ctx) -> dict[str, Any]:
    """What `pineopt` does while this server owns the store: the command runs here and its
    output is replayed by the CLI. Needs the token of PINEOPT_HOME/endpoint.json."""
    check_owner_token(request, getattr(request.app.state, "owner_token", ""))
    runner = hooks.cli_runner()
    if runner is None:
        raise ApiError(503, "cli_unavailable", "This server was not started by the pineopt "
                       "command, so it cannot run CLI commands; start it with `pineopt api` or "
                       "`pineopt serve`.")
    try:
        return runner(body.argv, body.cwd, ctx.settings)
    except Exception:  # a bug of ours: the CLI shows one line, the server log the traceback
        _log.exception("forwarded command %s failed", body.argv[:2])
        return {"exit_code": 1, "parts": [["stderr", "text", "pineopt: the command failed in "
                                           "the server with an unexpected error; its log "
                                           "(PINEOPT_HOME/logs) has the details.\n"]]}
