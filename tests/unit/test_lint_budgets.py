"""`make lint` fails on what it is meant to catch: ruff and mypy findings and the line budgets.

Each check runs on a small injected file in a temporary folder, with this repository's
pyproject.toml, so the real tree is never touched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import check_budgets

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"

BUDGETS = """
[tool.pineopt.budgets]
packages = ["pkg"]
module_lines = 20
function_lines = 5

[tool.pineopt.budgets.function_ceilings]
"pkg/old.py::Legacy.long" = 7
"pkg/gone.py::f" = 50
"""


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def test_ruff_fails_on_an_injected_defect(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""A module."""\n\nimport os\n\n\ndef f() -> int:\n    return undefined\n')
    out = _tool("ruff", "check", "--no-cache", "--config", str(CONFIG), str(bad))
    assert out.returncode == 1, out.stdout
    assert "F401" in out.stdout and "F821" in out.stdout


def test_mypy_fails_on_an_attribute_only_a_mixin_partner_has(tmp_path: Path) -> None:
    bad = tmp_path / "mixin.py"
    bad.write_text("class Part:\n    def total(self) -> int:\n        return self.items + 1\n")
    out = _tool("mypy", "--config-file", str(CONFIG), "--cache-dir", str(tmp_path / "cache"),
                str(bad))
    assert out.returncode == 1, out.stdout
    assert '"Part" has no attribute "items"  [attr-defined]' in out.stdout


def test_budgets_flag_new_excess_and_growth_but_allow_recorded_ceilings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(BUDGETS)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "ok.py").write_text(_function("short", 4))
    (pkg / "big.py").write_text("\n" * 21)
    (pkg / "new.py").write_text(_function("long", 5))
    (pkg / "old.py").write_text("class Legacy:\n" + _function("long", 6, indent="    "))
    errors, stale = check_budgets.check(tmp_path)
    assert errors == ["pkg/big.py: 21 lines, over the module budget of 20; split it",
                      "pkg/new.py::long: 6 lines, over the function budget of 5; split it"]
    assert stale == ["pkg/gone.py::f: listed as over budget but is gone; remove its ceiling "
                     "entry"]
    (pkg / "old.py").write_text("class Legacy:\n" + _function("long", 7, indent="    "))
    assert "grew past its recorded ceiling of 7" in check_budgets.check(tmp_path)[0][-1]
    assert check_budgets.main(["check_budgets", str(tmp_path)]) == 1


def test_the_repository_is_within_its_budgets() -> None:
    errors, stale = check_budgets.check(ROOT)
    assert errors == [] and stale == []
