"""Every third-party package the app, the CLI and the API import is in requirements.txt.

`make run` installs requirements.txt only; CI also installs requirements-dev.txt, so a runtime
import satisfied by a test package (httpx once was: every forwarded CLI command crashed on a
fresh install) passes the suite and fails the user. `make bench` installs both files.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME = ["core", "sandbox", "api", "clicmd", "app_pages", "ui", "reports", "app.py", "cli.py"]
OURS = {"core", "sandbox", "api", "clicmd", "app_pages", "ui", "reports", "app", "cli", "bench", "tests",
        "scripts"}


def _files() -> list[Path]:
    found: list[Path] = []
    for name in RUNTIME:
        path = REPO / name
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def _top_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _pinned(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)", line.strip())
        if match and not line.lstrip().startswith("#"):
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def test_runtime_imports_are_runtime_requirements() -> None:
    pinned = _pinned(REPO / "requirements.txt")
    providers = metadata.packages_distributions()
    missing = {}
    for path in _files():
        for name in _top_imports(path) - OURS - set(sys.stdlib_module_names):
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(name, [])}
            if not dists & pinned:
                missing.setdefault(name, []).append(str(path.relative_to(REPO)))
    assert not missing, f"imported at run time but not in requirements.txt: {missing}"


def test_the_check_sees_a_dev_only_package() -> None:
    """httpx is a runtime requirement now; pytest is dev-only and must be caught."""
    pinned = _pinned(REPO / "requirements.txt")
    assert "httpx" in pinned and "pytest" not in pinned
    providers = metadata.packages_distributions()
    assert not {d.lower() for d in providers["pytest"]} & pinned
