"""The child's runtime folder holds only child-side code (sandbox.command.RUNTIME_FILES)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sandbox.command import ensure_runtime, sandbox_python
from tests.conftest import make_settings

HOST_ONLY = ("core/store.py", "core/migrations.py", "core/market", "core/runs", "core/strategies",
             "core/analytics", "core/studies", "core/pine/syntax", "core/pine/translation",
             "core/settings.py", "core/model.py", "sandbox/runner.py", "sandbox/command.py",
             "sandbox/selftest.py")


def _settings(tmp_path: Path):
    return make_settings(tmp_path / "home", pineopt_jobs_root=str(tmp_path / "jobs"))


def _built(tmp_path: Path) -> Path:
    (tmp_path / "jobs").mkdir(exist_ok=True)
    return ensure_runtime(_settings(tmp_path))


def test_the_runtime_folder_contains_only_child_side_code(tmp_path: Path) -> None:
    runtime = _built(tmp_path)
    shipped = sorted(str(p.relative_to(runtime)) for p in runtime.rglob("*.py"))
    assert "sandbox/child.py" in shipped and "core/engine/backtest.py" in shipped
    assert "core/pine/runtime.py" in shipped and "core/sizing.py" in shipped
    leaked = [p for p in shipped if any(p == h or p.startswith(h + "/") for h in HOST_ONLY)]
    assert leaked == []
    assert all(p.startswith(("core/engine/", "core/pine/emulation/")) or p in (
        "core/__init__.py", "core/sizing.py", "core/pine/__init__.py", "core/pine/runtime.py")
        or p.startswith("sandbox/") for p in shipped)


def test_the_child_side_imports_from_the_runtime_folder_alone(tmp_path: Path) -> None:
    """Import every child-side module with the sandbox's own interpreter (which has no PineOpt
    installed) and only the runtime folder on the path: a module the child needs but the
    runtime lacks fails here, not in a run."""
    runtime = _built(tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import core.engine.backtest, "
            "core.engine.batch, core.pine.runtime, sandbox.child, sandbox.probe; "
            "import core.engine.backtest as m; print(m.__file__)")
    out = subprocess.run([sandbox_python(_settings(tmp_path)), "-I", "-c", code, str(runtime)], capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip().startswith(str(runtime))
