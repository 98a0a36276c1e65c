"""`pineopt serve`: the Streamlit app on 127.0.0.1:8501 and the HTTP API beside it on 8000
(--port, --api-port; two processes over the same store; when either ends, the other is stopped).

The API is what makes the running app the owner the CLI reaches: once listening it writes
PINEOPT_HOME/endpoint.json, and `pineopt` commands go through it instead of opening the store
(clicmd.forward). When the API port is taken, a free one is used (the file says which)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from core.settings import REPO_ROOT

DEFAULT_API_PORT = 8000


def add_parser(sub: Any) -> None:
    """Register `pineopt serve`."""
    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8501")))
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--api-port", type=int,
                   default=int(os.environ.get("API_PORT") or DEFAULT_API_PORT),
                   help="serve the HTTP API on this port (default 8000 or API_PORT; 0 or a "
                        "taken port: a free one, written to PINEOPT_HOME/endpoint.json; same "
                        "--address, loopback only without PINEOPT_API_TOKEN)")
    p.set_defaults(handler=handle)


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The streamlit command line (also used by the Dockerfile test)."""
    return [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
            "--server.headless", "true", "--server.address", address, "--server.port", str(port),
            "--browser.gatherUsageStats", "false"]


def api_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The `pineopt api` command line `serve --api-port` starts beside the app."""
    return [sys.executable, str(REPO_ROOT / "cli.py"), "api", "--host", address, "--port",
            str(port)]


def api_port(requested: int, address: str) -> int:
    """``requested`` when it can be bound, else 0 (uvicorn takes a free port), said on stderr."""
    if requested == 0:
        return 0
    host = "127.0.0.1" if address in ("0.0.0.0", "") else address  # noqa: S104 - a name
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, requested))
        except OSError:
            print(f"pineopt serve: API port {requested} is taken; the API listens on a free "
                  "port instead (PINEOPT_HOME/endpoint.json names it).", file=sys.stderr)
            return 0
    return requested


def handle(args: argparse.Namespace) -> int:
    """Run streamlit and the API side by side until either ends (or SIGTERM/SIGINT)."""
    from clicmd.common import settings

    settings()
    argv = command(args.port, args.address)
    children = [subprocess.Popen(api_command(api_port(args.api_port, args.address),  # noqa: S603
                                             args.address)),
                subprocess.Popen(argv)]  # noqa: S603 - fixed argv, no shell

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)  # blocks until a child ends; no reaping
    stop(0, None)
    codes = [child.wait() for child in children]  # stopped by us (SIGTERM) counts as a clean end
    failed = [code if code > 0 else 128 - code for code in codes
              if code not in (0, -signal.SIGTERM)]
    return failed[0] if failed else 0
