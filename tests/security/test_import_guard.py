"""The run-time import hook: imports made by the strategy's own frames must be on the
allow-list, whatever route they take; libraries keep importing their internals.

The hook patches builtins, so each check runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.settings import REPO_ROOT

PROGRAM = """
import sys
sys.path.insert(0, {root!r})
from sandbox import child, policy
child.install_import_guard()
code = compile({source!r}, child.STRATEGY_FILENAME, "exec")
try:
    exec(code, {{"__builtins__": __builtins__}})
except policy.PolicyViolation as exc:
    print("refused:", exc)
else:
    print("allowed")
"""


def _run(source: str) -> str:
    program = PROGRAM.format(root=str(REPO_ROOT), source=source)
    done = subprocess.run([sys.executable, "-I", "-c", program], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("source", [
    "import os",
    "import subprocess",
    "from os import path",
    "__import__('socket')",
    "import importlib",
    "import numpy.f2py",
])
def test_strategy_frames_cannot_import_off_the_allow_list(source: str) -> None:
    assert _run(source).startswith("refused: import of")


def test_allowed_imports_and_library_internals_still_work() -> None:
    # pandas imports dozens of its own (non-allow-listed) modules while loading.
    assert _run("import math\nimport pandas as pd\npd.Series([1, 2]).rolling(2).mean()") == \
        "allowed"
