"""Example strategies shipped in examples/ (offered in the UI)."""

from __future__ import annotations

from core.settings import REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "examples"


def default_python_source() -> str:
    """The SMA-cross example the editor starts with."""
    return (EXAMPLES_DIR / "sma_cross.py").read_text(encoding="utf-8")
