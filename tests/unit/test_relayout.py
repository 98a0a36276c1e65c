"""scripts/dev/relayout.py rewrites code written against the old flat core/ names, and running
it again changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.settings import REPO_ROOT
from scripts.dev import relayout

OLD = '''"""Uses core/metrics.py and core.run_notes."""
from core import engine, metrics, runs, store
from core.pine import nodes as n, translate
from core.runs import execute, run_limits
import core.runs


def f(monkeypatch):
    from core import progress as progress_files
    monkeypatch.setattr("core.runs.execute", None)
    monkeypatch.setattr("core.pine.translate", None)
    code = "from core import importers\\nprint(1)"
    return engine.run, core.runs.get_run, progress_files, code
'''

NEW = '''"""Uses core/analytics/metrics.py and core.runs.notes."""
from core.engine import backtest as engine
from core.analytics import metrics
from core.runs import service as runs
from core import store
from core.pine.syntax import nodes as n
from core.pine.translation.api import translate
from core.runs.service import execute, run_limits
import core.runs.service


def f(monkeypatch):
    from core.runs import progress as progress_files
    monkeypatch.setattr("core.runs.service.execute", None)
    monkeypatch.setattr("core.pine.translation.api.translate", None)
    code = "from core.market import importers\\nprint(1)"
    return engine.run, core.runs.service.get_run, progress_files, code
'''


def _rewrite(text: str) -> str:
    text = relayout.rewrite_imports(text, relayout.module_map())
    return relayout.rewrite_text(text, relayout.text_patterns())


def test_old_names_are_rewritten_and_a_second_pass_changes_nothing() -> None:
    assert _rewrite(OLD) == NEW
    assert _rewrite(NEW) == NEW


def test_the_new_layout_names_every_module_that_exists() -> None:
    for old, new in relayout.MOVES:
        assert (REPO_ROOT / new).is_file(), new
        assert old.endswith("__init__.py") or not (REPO_ROOT / old).exists(), old


def test_the_tree_is_already_relaid_out() -> None:
    out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts/dev/relayout.py"), "--check",
                          "--root", str(REPO_ROOT)], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "relayout: nothing to do", out.stdout


def test_same_name_packages_keep_old_attributes_apart_from_submodules() -> None:
    for package in relayout.SAME_NAME:
        assert not relayout.old_attrs(package) & relayout.new_submodules(package)
    assert Path(relayout.SELF).name == "relayout.py"
