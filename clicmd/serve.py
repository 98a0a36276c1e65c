"""`pineopt serve`: the Streamlit app on 127.0.0.1:8501 and the HTTP API on 8000 (--port,
--api-port), both in this one process: it owns the store (issue #18).

The API starts first, on a background thread (api.owner): it claims PINEOPT_HOME, listens,
writes PINEOPT_HOME/endpoint.json, migrates the store once, and from then on `pineopt` commands
go through it instead of opening the store (clicmd.forward). Then Streamlit runs in the main
thread; its pages use the same store instance, JobManager and sandbox pool (ui.services). When
Streamlit stops (SIGTERM, SIGINT) the API stops, the jobs shut down and the file is removed.
When the API port is taken, a free one is used (said on stderr; the file says which)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tomllib
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


def config_flags() -> list[str]:
    """Every option of the repo's .streamlit/config.toml as a command-line flag. Streamlit reads
    that file only from the folder it starts in: started anywhere else, the app would run with
    Streamlit's defaults (full tracebacks shown to users among them)."""
    with (REPO_ROOT / ".streamlit" / "config.toml").open("rb") as handle:
        sections = tomllib.load(handle)
    flags = []
    for section, options in sections.items():
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{key}", text]
    return flags


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The streamlit command line (also used by the Dockerfile test)."""
    return [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"), *config_flags(),
            "--server.address", address, "--server.port", str(port)]


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
    """Own the store with the API on a background thread, then run Streamlit here until it
    stops (SIGTERM/SIGINT); the API stops with it."""
    from api import owner
    from api.server import bind_host
    from core import logs
    from core.settings import load_settings
    from ui import serving

    token = os.environ.get("PINEOPT_API_TOKEN", "").strip()
    host, line = bind_host(args.address, token)
    settings = load_settings()
    logs.configure(settings)
    started = owner.start(settings, host=host, port=api_port(args.api_port, host), token=token)
    print(line.format(port=started.endpoint.port), file=sys.stderr, flush=True)
    try:
        serving.run(command(args.port, args.address)[3:])
    finally:
        owner.stop()
    return 0
