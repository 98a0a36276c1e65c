"""Validation and the sandbox child agree on every builtin name Python has: a name validation
passes is one the child provides, and a name the child lacks is flagged (with its position and
a fix) before the run, never a NameError in it."""

from __future__ import annotations

import builtins
import textwrap

import pytest
from RestrictedPython import compile_restricted_exec

from core.strategies import validation
from sandbox import policy
from sandbox.child import _make_printer

# Every public builtin; '_'-prefixed names are refused by the private-name rule whatever the
# child has (validation is stricter there on purpose: security.md A3).
NAMES = sorted(n for n in dir(builtins) if not n.startswith("_"))
STRATEGY = textwrap.dedent("""\
    import pandas as pd
    from backtesting import Strategy

    probe = {name}


    def helper(x, n):
        return pd.Series(x).rolling(n).mean()


    class Demo(Strategy):
        def init(self):
            self.ma = self.I(helper, self.data.Close, 10)

        def next(self):
            if self.data.Close[-1] > self.ma[-1]:
                self.buy()
    """)


def child_provides(name: str) -> bool:
    """Whether `probe = NAME` runs under the child's restricted globals (False on a NameError
    or when RestrictedPython refuses to compile it)."""
    compiled = compile_restricted_exec(f"probe = {name}\n", filename="<strategy>")
    if compiled.errors:
        return False
    namespace = policy.restricted_globals(module_name="user_strategy", printer=_make_printer(100))
    try:
        exec(compiled.code, namespace)  # noqa: S102 - the child's own globals under test
    except NameError:
        return False
    return True


def validation_passes(name: str) -> bool:
    issues = validation.validate_python(STRATEGY.format(name=name))
    return not validation.errors_only(issues)


@pytest.mark.parametrize("name", NAMES)
def test_validation_agrees_with_the_child(name: str) -> None:
    assert validation_passes(name) == child_provides(name)


def test_both_sides_see_a_real_split() -> None:
    """The walk is not vacuous: some builtins are provided, some are not."""
    provided = [n for n in NAMES if child_provides(n)]
    assert "abs" in provided and "len" in provided
    assert "bytearray" not in provided and len(provided) < len(NAMES)


def test_a_missing_builtin_is_flagged_with_position_and_fix() -> None:
    source = STRATEGY.format(name="0").replace(
        "    return pd.Series", "    buf = bytearray(10**8)\n    return pd.Series")
    errors = validation.errors_only(validation.validate_python(source))
    assert [(e.rule, e.line, e.col) for e in errors] == [("builtin", 8, 11)]
    assert "'bytearray' is not available in the sandbox" in errors[0].message
    assert "use a list or a numpy array" in errors[0].message


def test_a_name_the_strategy_defines_itself_is_not_a_missing_builtin() -> None:
    source = STRATEGY.format(name="0").replace("probe = 0", "def hex(v):\n    return v\n\n\n"
                                               "probe = hex(1)")
    assert not validation.errors_only(validation.validate_python(source))
