"""`pineopt serve`: the Streamlit app on 127.0.0.1, and with --api-port the HTTP API beside it
(two processes over the same store; when either ends, the other is stopped)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Any

from core.settings import REPO_ROOT


def add_parser(sub: Any) -> None:
    """Register `pineopt serve`."""
    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8501")))
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT") or 0) or None,
                   help="also serve the HTTP API on this port (`pineopt api`; same --address, "
                        "loopback only without PINEOPT_API_TOKEN)")
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


def handle(args: argparse.Namespace) -> int:
    """Replace this process with streamlit, or run streamlit and the API side by side."""
    from clicmd.common import settings

    settings()
    argv = command(args.port, args.address)
    if not args.api_port:
        os.execv(argv[0], argv)  # noqa: S606 - fixed argv, no shell
    children = [subprocess.Popen(api_command(args.api_port, args.address)),  # noqa: S603
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
