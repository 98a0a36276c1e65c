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


FORMS = [
    "import talib.abstract", "import talib.abstract as ab", "from talib import abstract",
    "from talib import abstract as ab", "from talib.abstract import SMA", "import talib",
    "from numpy import random", "import numpy.random as npr", "from scipy import stats",
    "from scipy import signal", "from ta import trend", "from backtesting import Strategy",
    "from backtesting.lib import SignalStrategy", "from backtesting.lib import TrailingStrategy",
    "from backtesting import lib", "from backtesting import Backtest", "from numpy import f2py",
    "from numpy import ctypeslib", "from scipy import io", "from pandas import io",
    "import scipy.io", "from talib import stream",
]
AGREEMENT = """
import json, sys
sys.path.insert(0, {root!r})
from sandbox import child, policy
child.install_import_guard()
verdicts = {{}}
for form in {forms!r}:
    source = form + "\\nfrom backtesting import Strategy\\nclass S(Strategy):\\n" \\
        "    def init(self):\\n        pass\\n\\n    def next(self):\\n        pass\\n"
    try:
        child.load_strategy_class(source)
        verdicts[form] = True
    except policy.PolicyViolation:
        verdicts[form] = False
print(json.dumps(verdicts))
"""


def test_validation_and_the_sandbox_agree_on_every_import_form() -> None:
    """`from talib import abstract` used to validate and then fail with ImportError at run time:
    each form must be refused by both or allowed by both (and then actually import)."""
    import json

    from core.strategies import validation

    program = AGREEMENT.format(root=str(REPO_ROOT), forms=FORMS)
    done = subprocess.run([sys.executable, "-I", "-c", program], capture_output=True, text=True,
                          timeout=300, check=True)
    at_run_time = json.loads(done.stdout.strip().splitlines()[-1])
    body = "\nclass S(Strategy):\n    def init(self):\n        pass\n\n    def next(self):\n" \
           "        pass\n"
    for form in FORMS:
        issues = validation.validate_python(form + "\nfrom backtesting import Strategy\n" + body)
        assert (not issues) == at_run_time[form], (form, issues)
    assert at_run_time["from talib import abstract"]
    assert not at_run_time["from backtesting import lib"]
