"""`pineopt serve` applies the repo's .streamlit/config.toml wherever it is started from:
Streamlit itself reads that file only from the folder it starts in."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from clicmd import serve
from core.settings import REPO_ROOT


def _shown(cwd: Path, flags: list[str]) -> str:
    """`streamlit config show` (the effective options) run in ``cwd`` with ``flags``."""
    done = subprocess.run([sys.executable, "-m", "streamlit", "config", "show", *flags],  # noqa: S603
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _effective(text: str, key: str) -> str | None:
    """The value `config show` gives ``key`` when it is set (None: a commented-out default)."""
    found = re.search(rf"^{key} = (.+)$", text, flags=re.MULTILINE)
    return found.group(1).strip('"') if found else None


def test_every_repo_option_holds_when_served_from_another_folder(tmp_path: Path) -> None:
    with (REPO_ROOT / ".streamlit" / "config.toml").open("rb") as handle:
        options = {key: value for section in tomllib.load(handle).values()
                   for key, value in section.items()}
    assert options["showErrorDetails"] == "type"  # the promise this protects
    bare = _shown(tmp_path, [])
    assert _effective(bare, "showErrorDetails") is None  # Streamlit's default: full tracebacks
    served = _shown(tmp_path, serve.config_flags())
    checked = 0
    for key, value in options.items():
        shown = _effective(served, key)
        if shown is None and f"{key} =" not in served:
            continue  # a hidden option `config show` does not list (runner.postScriptGC)
        expected = str(value).lower() if isinstance(value, bool) else str(value)
        assert shown == expected, (key, shown, expected)
        checked += 1
    assert checked >= 6, checked


def test_the_serve_command_carries_the_flags() -> None:
    argv = serve.command(8501)
    flags = serve.config_flags()
    assert argv[5:5 + len(flags)] == flags and "--client.showErrorDetails" in flags
