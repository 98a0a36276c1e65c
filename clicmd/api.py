"""`pineopt api [--host --port]`: the HTTP API (FastAPI on uvicorn)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from api.server import DEFAULT_PORT, LOOPBACK


def add_parser(sub: Any) -> None:
    """Register `pineopt api`."""
    p = sub.add_parser("api", help="serve the HTTP API (docs at /api/docs)",
                       description="Without PINEOPT_API_TOKEN the API listens on 127.0.0.1 only; "
                                   "with it, every request needs 'Authorization: Bearer TOKEN'.")
    p.add_argument("--host", default=LOOPBACK)
    p.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", DEFAULT_PORT)))
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from api.server import serve

    serve(host=args.host, port=args.port)
    return 0
