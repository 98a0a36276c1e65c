"""The layout's import contracts (scripts/dev/import_contracts.py) hold, and each one fails when
a forbidden import is added to a copy of the tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from sandbox.command import RUNTIME_FILES
from scripts.dev import import_contracts


def test_the_repository_keeps_every_contract() -> None:
    assert import_contracts.check(REPO_ROOT, RUNTIME_FILES) == []


def test_every_runtime_entry_exists_and_the_child_entry_is_shipped() -> None:
    assert all((REPO_ROOT / entry).exists() for entry in RUNTIME_FILES)
    shipped = import_contracts.runtime_modules(RUNTIME_FILES, REPO_ROOT)
    assert {"sandbox.child", "core.engine.backtest", "core.pine.runtime", "core.sizing"} <= shipped


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of our Python modules to break on purpose."""
    for package in import_contracts.OUR_PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            dest = tmp_path / path.relative_to(REPO_ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    for name in import_contracts.OUR_MODULES:
        shutil.copyfile(REPO_ROOT / name, tmp_path / name)
    assert import_contracts.check(tmp_path, RUNTIME_FILES) == []
    return tmp_path


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_the_child_side_may_not_import_the_store(tree: Path) -> None:
    _append(tree / "core/engine/risk.py", "def leak():\n    from core import store\n    return store")
    problems = import_contracts.check(tree, RUNTIME_FILES)
    assert len(problems) == 1
    assert problems[0].startswith("child side: core.engine.risk")
    assert "core.store" in problems[0] and "never see" in problems[0]


def test_the_child_side_may_not_import_unshipped_code(tree: Path) -> None:
    _append(tree / "core/pine/emulation/lib.py", "from core.pine.syntax.lexer import tokenize")
    problems = import_contracts.check(tree, RUNTIME_FILES)
    assert problems == [p for p in problems if "not shipped" in p] and len(problems) == 1
    assert "core.pine.emulation.lib" in problems[0] and "core.pine.syntax.lexer" in problems[0]


def test_core_may_not_import_streamlit(tree: Path) -> None:
    _append(tree / "core/analytics/metrics.py", "import streamlit as st")
    assert import_contracts.check(tree, RUNTIME_FILES) == [
        f"no streamlit: core.analytics.metrics (line "
        f"{len((tree / 'core/analytics/metrics.py').read_text().splitlines())}) imports streamlit"]


def test_pages_may_not_import_the_store(tree: Path) -> None:
    page = next((tree / "app_pages").glob("*.py"))
    _append(page, "from core.store import connect")
    problems = import_contracts.check(tree, RUNTIME_FILES)
    assert len(problems) == 1 and problems[0].startswith("no store in pages/ui: app_pages.")


def test_an_import_cycle_is_found_even_through_a_function_local_import(tree: Path) -> None:
    # core.store imports core.errors at its top; a function-local import back closes a cycle
    _append(tree / "core/errors.py", "def late():\n    from core import store\n    return store")
    problems = import_contracts.check(tree, RUNTIME_FILES)
    assert len(problems) == 1 and problems[0].startswith("import cycle: ")
    assert "core.errors -> core.store" in problems[0] and "core.store -> core.errors" in problems[0]


def test_a_type_only_import_makes_no_cycle(tree: Path) -> None:
    _append(tree / "core/errors.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                     "    from core import store")
    assert import_contracts.check(tree, RUNTIME_FILES) == []
