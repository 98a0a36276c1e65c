"""Each validation rule refuses a hostile source and accepts a legitimate one (security.md A1-A7).
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.strategies import validation
from core.model import Severity

HEADER = "import numpy as np\nimport pandas as pd\nfrom backtesting import Strategy\n"
BODY = textwrap.dedent("""
    class Demo(Strategy):
        fast = 10  # fast length; range: 2..50

        def init(self):
            self.ma = self.I(helper, self.data.Close, self.fast)

        def next(self):
            if self.data.Close[-1] > self.ma[-1]:
                self.buy()
    """)


def strategy(snippet: str) -> str:
    """A complete valid strategy with ``snippet`` defining helper() at module level."""
    return HEADER + textwrap.dedent(snippet) + BODY


GOOD_HELPER = "def helper(x, n):\n    return pd.Series(x).rolling(n).mean()\n"

# (rule, hostile snippet, legitimate snippet): each rule with a failing and a passing case.
CASES = [
    ("import", "import os\n" + GOOD_HELPER, "import math\n" + GOOD_HELPER),
    ("import", "import subprocess as sp\n" + GOOD_HELPER, "import datetime as dt\n" + GOOD_HELPER),
    ("import", "from os import path\n" + GOOD_HELPER, "from math import sqrt\n" + GOOD_HELPER),
    ("import", "from . import x\n" + GOOD_HELPER, "from numpy import random\n" + GOOD_HELPER),
    ("import", "from math import *\n" + GOOD_HELPER, "from math import floor\n" + GOOD_HELPER),
    ("import", "from backtesting import Backtest\n" + GOOD_HELPER,
     "from backtesting.lib import crossover\n" + GOOD_HELPER),
    ("import", "from numpy import f2py\n" + GOOD_HELPER,
     "from numpy import linalg\n" + GOOD_HELPER),
    ("import", "from backtesting.lib import currentframe\n" + GOOD_HELPER,
     "from backtesting.lib import resample_apply\n" + GOOD_HELPER),
    ("import", "import importlib\n" + GOOD_HELPER, "import re\n" + GOOD_HELPER),
    ("name", "x = __import__('math')\n" + GOOD_HELPER, "x = abs(-1)\n" + GOOD_HELPER),
    ("attribute", "x = np.f2py\n" + GOOD_HELPER, "x = np.float64\n" + GOOD_HELPER),
    ("attribute", "x = pd.io\n" + GOOD_HELPER, "x = pd.Series\n" + GOOD_HELPER),
    ("module-attribute", "import backtesting\nx = backtesting.backtesting\n" + GOOD_HELPER,
     "import backtesting\nx = backtesting.Strategy\n" + GOOD_HELPER),
    ("module-attribute", "x = np.char\n" + GOOD_HELPER,
     "x = np.random.default_rng\n" + GOOD_HELPER),
    ("attribute", "def helper(x, n):\n    return pd.DataFrame({'a': x}).query('a > 1')\n",
     "def helper(x, n):\n    frame = pd.DataFrame({'a': x})\n    return frame[frame.a > 1]\n"),
    ("attribute", "def helper(x, n):\n    return pd.DataFrame({'a': x}).eval('a + 1')\n",
     "def helper(x, n):\n    return pd.DataFrame({'a': x}).a + 1\n"),
    ("attribute", "def helper(x, n):\n    pd.Series(x).to_csv('out.csv')\n    return x\n",
     "def helper(x, n):\n    return pd.Series(x).to_numpy()\n"),
    ("attribute", "x = pd.read_csv\n" + GOOD_HELPER, "x = pd.to_datetime\n" + GOOD_HELPER),
    ("attribute", "x = np.load\n" + GOOD_HELPER, "x = np.mean\n" + GOOD_HELPER),
    ("attribute", "x = '{0}'.format(1)\n" + GOOD_HELPER, "x = f'{1:.2f}'\n" + GOOD_HELPER),
    ("attribute", "x = (1).__class__\n" + GOOD_HELPER, "x = (1).real\n" + GOOD_HELPER),
    ("name", "x = eval('1')\n" + GOOD_HELPER, "x = int('1')\n" + GOOD_HELPER),
    ("name", "f = open\n" + GOOD_HELPER, "f = min\n" + GOOD_HELPER),
    ("name", "x = getattr(np, 'mean')\n" + GOOD_HELPER, "x = np.mean\n" + GOOD_HELPER),
    ("name", "x = globals()\n" + GOOD_HELPER, "x = dict()\n" + GOOD_HELPER),
    ("name", "def __hidden():\n    pass\n" + GOOD_HELPER,
     "def _hidden():\n    pass\n" + GOOD_HELPER),
    ("name", "_write_ = list\n" + GOOD_HELPER, "_rows = list\n" + GOOD_HELPER),
    ("name", "def helper(x, n, type=1):\n    return x\n",
     "def helper(x, n, kind=1):\n    return x\n"),
    ("name", "import math as vars\n" + GOOD_HELPER, "import math as m\n" + GOOD_HELPER),
    ("decorator", "@eval\ndef helper(x, n):\n    return x\n", GOOD_HELPER),
    ("decorator", "def wrap(f):\n    return f\n@wrap\ndef helper(x, n):\n    return x\n",
     "def wrap(f):\n    return f\nhelper = wrap(lambda x, n: x)\n"),
    ("dunder-string", "x = 'a__class__'\n" + GOOD_HELPER, "x = 'a_b'\n" + GOOD_HELPER),
    ("dunder-string", "x = b'__'\n" + GOOD_HELPER, "x = b'_'\n" + GOOD_HELPER),
    ("import-store", "np.mean = max\n" + GOOD_HELPER, "mean = max\n" + GOOD_HELPER),
    ("import-store", "Strategy.buy = None\n" + GOOD_HELPER, "buy = None\n" + GOOD_HELPER),
    ("import-store", "pd.options.display.width = 3\n" + GOOD_HELPER,
     "width = 3\n" + GOOD_HELPER),
    ("restricted", "def helper(x, n):\n    x[0] += 1\n    return x\n",
     "def helper(x, n):\n    x[0] = x[0] + 1\n    return x\n"),
]


@pytest.mark.parametrize(("rule", "bad", "good"), CASES)
def test_rule_refuses_hostile_and_accepts_legitimate(rule: str, bad: str, good: str) -> None:
    bad_issues = validation.validate_python(strategy(bad))
    assert rule in {i.rule for i in bad_issues}, bad_issues
    assert all(i.line > 0 and i.message for i in bad_issues if i.rule == rule)
    assert validation.validate_python(strategy(good)) == []


def test_docstrings_may_mention_dunders() -> None:
    source = strategy('def helper(x, n):\n    """Mentions __init__ in prose."""\n    return x\n')
    assert validation.validate_python(source) == []


def test_syntax_error_has_line_and_column() -> None:
    issues = validation.validate_python(strategy("def helper(x, n:\n    return x\n"))
    assert [(i.rule, i.line) for i in issues] == [("syntax", 4)]
    assert issues[0].col > 0 and "Syntax error" in issues[0].message


def test_attribute_issue_points_at_the_attribute() -> None:
    issue = validation.validate_python(strategy("x = np.f2py\n" + GOOD_HELPER))[0]
    assert (issue.line, issue.col) == (4, 8)


def test_attribute_chain_into_a_dangerous_submodule() -> None:
    source = strategy("x = np.f2py.subprocess.run\n" + GOOD_HELPER)
    attrs = {i.message.split("'")[1] for i in validation.validate_python(source)}
    assert {".f2py", ".subprocess"} <= attrs


@pytest.mark.parametrize("source", [
    "x = 1\n",
    HEADER + "class A:\n    pass\n",
])
def test_no_strategy_class(source: str) -> None:
    assert "strategy-class" in {i.rule for i in validation.validate_python(source)}


def test_two_runnable_strategy_classes_ask_which_one() -> None:
    other = BODY.replace("class Demo(Strategy)", "class Other(Strategy)")
    source = strategy(GOOD_HELPER) + other
    issues = [i for i in validation.validate_python(source) if i.rule == "strategy-class"]
    assert len(issues) == 1
    assert "Demo (line 7)" in issues[0].message and "Other (line 17)" in issues[0].message
    assert "Which one should run?" in issues[0].message


def test_a_subclass_of_the_strategy_is_the_one_that_runs() -> None:
    source = strategy(GOOD_HELPER) + "\nclass Other(Demo):\n    fast = 12\n"
    assert validation.validate_python(source) == []


def test_missing_next_method() -> None:
    source = strategy(GOOD_HELPER).replace("def next(self):", "def step(self):")
    issues = validation.validate_python(source)
    assert [i.rule for i in issues] == ["strategy-methods"]
    assert "next()" in issues[0].message


def test_next_with_extra_arguments_is_a_warning() -> None:
    source = strategy(GOOD_HELPER).replace("def next(self):", "def next(self, bar):")
    issues = validation.validate_python(source)
    assert [(i.rule, i.severity) for i in issues] == [("strategy-methods", Severity.WARNING)]
    assert validation.errors_only(issues) == []


def test_declared_dependencies_off_the_allow_list_are_named() -> None:
    source = strategy(GOOD_HELPER)
    assert validation.validate_python(source, dependencies=["pandas>=2", "TA-Lib", "ta"]) == []
    issues = validation.validate_python(source, dependencies=["requests", "numpy", "torch==2"])
    assert [i.rule for i in issues] == ["dependencies"]
    assert "requests, torch==2" in issues[0].message


@pytest.mark.parametrize(("source", "rule"), [
    ("x = " + "-" * 5000 + "1\n", "complexity"),
    ("x = " + "[" * 130 + "]" * 130 + "\n", "complexity"),
    ("x = " + "(" * 300 + "1" + ")" * 300 + "\n", "syntax"),
    ("x = 1\n" * 2_000_000, "size"),
    ("", "empty"),
    ("x = 1\r y = 2\n", "newline"),
    ("x = 1\x00\n", "binary"),
])
def test_hostile_input_gives_an_issue_not_a_crash(source: str, rule: str) -> None:
    issues = validation.validate_python(source)
    assert [i.rule for i in issues] == [rule]


def test_every_shipped_example_validates(example_sources: dict[str, str]) -> None:
    bad = {name: validation.validate_python(src) for name, src in example_sources.items()}
    assert {name: issues for name, issues in bad.items() if issues} == {}


def test_ace_annotations_are_zero_based() -> None:
    issues = validation.validate_python(strategy("x = np.f2py\n" + GOOD_HELPER))
    assert validation.ace_annotations(issues) == [
        {"row": 3, "column": 7, "type": "error", "text": issues[0].message}]


@pytest.fixture(scope="module")
def example_sources() -> dict[str, str]:
    """Every shipped Python example by key."""
    from core.strategies import examples

    return {e.key: e.source for e in examples.list_examples()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("()[]{}-+*:=.\n 'x_#\\\"\r\t\x00é1"), max_size=400))
def test_validation_never_raises_on_arbitrary_text(text: str) -> None:
    issues = validation.validate_python(text)
    assert all(isinstance(i.line, int) and i.message for i in issues)


@pytest.mark.parametrize(("text", "line"), [
    ("*1", 1),                                      # found by Hypothesis on a fresh machine
    ("x = 1\n*a, = 1\nf(**k, *a)\n", 3),
    ("def f():\n    nonlocal q\n", 2),
    ("return 1\n", 1),
    ("x = 1\nbreak\n", 2),
    ("def f(a, a):\n    pass\n", 1),
])
def test_compiler_stage_errors_are_issues_with_a_line(text: str, line: int) -> None:
    issues = validation.validate_python(text)
    syntax = [i for i in issues if i.rule == "syntax"]
    assert syntax and syntax[0].line == line, issues


def test_long_but_flat_expressions_are_fine() -> None:
    terms = " + ".join(f"n{i}" for i in range(110))  # a 110-deep left-nested BinOp
    source = strategy(f"def helper(x, n):\n    n0 = n\n    return x + 0 * ({terms})\n")
    assert "complexity" not in {i.rule for i in validation.validate_python(source)}
