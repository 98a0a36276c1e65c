"""Serve the API with uvicorn (`pineopt api`), on loopback only unless a token is set."""

from __future__ import annotations

import os
import socket
import sys

from api.guards import is_loopback
from core.errors import PineOptError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8000


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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening (``port`` 0: a free port). Bound before the
    store is opened, so the endpoint file can name the port at once: a CLI command sent while
    the server still starts waits in the listen backlog instead of opening the store."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PineOptError(f"The API cannot listen on {host}:{port} ({exc.strerror}); choose "
                           "another port with --port (or API_PORT), or 0 for a free one.") \
            from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(*, host: str, port: int) -> None:
    """Run the API until stopped; while it runs, it owns the store. It listens first, then
    publishes PINEOPT_HOME/endpoint.json (host, port, a per-start token) for the CLI, then
    opens the store, and removes the file when it stops. ``port`` 0 = a free port."""
    import uvicorn

    from api.app import create_app
    from core.runs import endpoint
    from core.settings import load_settings

    token = os.environ.get("PINEOPT_API_TOKEN", "").strip()
    host, line = bind_host(host, token)
    settings = load_settings()
    lock = endpoint.claim(settings.home)  # held until this process ends
    sock = listening_socket(host, port)
    bound = int(sock.getsockname()[1])
    ep = endpoint.publish(settings.home, host=host, port=bound)
    try:
        app = create_app(settings, token=token, owner=ep)
        print(line.format(port=bound), file=sys.stderr, flush=True)
        config = uvicorn.Config(app, host=host, port=bound, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=10)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        endpoint.withdraw(settings.home, ep)
        sock.close()
        os.close(lock)
