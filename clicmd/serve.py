"""`pineopt serve`: the Streamlit app on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from core.settings import REPO_ROOT


def add_parser(sub: Any) -> None:
    """Register `pineopt serve`."""
    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8501")))
    p.add_argument("--address", default="127.0.0.1")
    p.set_defaults(handler=handle)


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The streamlit command line (also used by the Dockerfile test)."""
    return [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
            "--server.headless", "true", "--server.address", address, "--server.port", str(port),
            "--browser.gatherUsageStats", "false"]


def handle(args: argparse.Namespace) -> int:
    """Replace this process with streamlit."""
    from clicmd.common import settings

    settings()
    argv = command(args.port, args.address)
    os.execv(argv[0], argv)  # noqa: S606 - fixed argv, no shell
    return 0
