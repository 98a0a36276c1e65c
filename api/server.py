"""Serve the API with uvicorn (`pineopt api`), on loopback only unless a token is set."""

from __future__ import annotations

import ipaddress
import os
import sys

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_host(host: str, token: str) -> tuple[str, str]:
    """(host to bind, the line to print at start). Without a token only loopback is served."""
    if token:
        return host, f"PineOpt API on http://{host}:{{port}}/api (bearer token required; docs at " \
                     "/api/docs)"
    note = ("PINEOPT_API_TOKEN is not set: the API listens on 127.0.0.1 only and needs no token. "
            "Set PINEOPT_API_TOKEN to serve other hosts.")
    if not is_loopback(host):
        note += f" (--host {host} was not used.)"
        host = LOOPBACK
    return host, f"PineOpt API on http://{host}:{{port}}/api — {note}"


def serve(*, host: str, port: int) -> None:
    """Build the app for the environment's settings and run uvicorn until stopped."""
    import uvicorn

    from api.app import create_app
    from core.settings import load_settings

    token = os.environ.get("PINEOPT_API_TOKEN", "").strip()
    host, line = bind_host(host, token)
    print(line.format(port=port), file=sys.stderr, flush=True)
    app = create_app(load_settings(), token=token)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=10)
