"""Run-time guards (security.md B1-B5): the sandbox refuses what validation refuses, dynamically."""

from __future__ import annotations

from typing import Any

import pytest
from RestrictedPython import compile_restricted_exec

from sandbox import policy
from sandbox.child import _make_printer


def run(source: str) -> dict[str, Any]:
    """Execute restricted code with the sandbox's globals (no AST validation in front)."""
    result = compile_restricted_exec(source, filename="<strategy>")
    assert not result.errors, result.errors
    namespace = policy.restricted_globals(module_name="user_strategy", printer=_make_printer(100))
    exec(result.code, namespace)  # noqa: S102 - the guards under test
    return namespace


@pytest.mark.parametrize(("source", "needle"), [
    ("import numpy as np\nout = np.f2py", "'f2py'"),
    ("import numpy as np\nout = np.char", "numpy.char"),
    ("import backtesting\nout = backtesting.backtesting", "backtesting.backtesting"),
    ("import pandas as pd\nout = pd.DataFrame().to_csv", "to_csv"),
    ("import pandas as pd\nout = pd.DataFrame().query", "query"),
    ("from pandas import tseries", "pandas.tseries"),
    ("import numpy as np\nout = np.fromregex", "numpy.fromregex is not allowed"),
    ("from numpy import genfromtxt", "genfromtxt"),
    ("import pandas as pd\nout = pd.show_versions", "pandas.show_versions is not allowed"),
    ("import pandas as pd\nout = pd.set_option", "pandas.set_option is not allowed"),
    ("import pandas as pd\nout = pd.options", "pandas.options is not allowed"),
    ("import backtesting\nout = backtesting.Pool", "backtesting.Pool is not allowed"),
    ("from backtesting.lib import FractionalBacktest", "FractionalBacktest"),
    ("from backtesting.lib import currentframe", "currentframe"),
    ("from backtesting import Backtest", "Backtest"),
    ("import os", "'os'"),
    ("import numpy as np\nnp.mean = max", "changing modules"),
    ("class A:\n    pass\nA.x = 1", "changing modules, classes"),
    ("import numpy as np\na = np.zeros(2)\na.shape = (2, 1)", "'shape'"),
    ("import datetime\nout = datetime.datetime.now().fold.real.imag.numerator.denominator.sys",
     "'sys'"),
])
def test_guards_refuse_at_run_time(source: str, needle: str) -> None:
    with pytest.raises(policy.PolicyViolation, match=needle):
        run(source)


@pytest.mark.parametrize("name", ["getattr", "setattr", "delattr", "type", "eval", "open",
                                  "globals", "vars", "id"])
def test_forbidden_builtins_are_absent(name: str) -> None:
    with pytest.raises(NameError):
        run(f"out = {name}")


def test_dynamic_attribute_names_are_checked_too() -> None:
    # Built at run time, so no static check could see it: the guarded getattr must.
    assert policy.attribute_allowed("mean")
    with pytest.raises(policy.PolicyViolation):
        policy._safe_getattr(1, "_" + "_class_" + "_")  # noqa: SLF001 - the guard itself


def test_legitimate_operations_still_work() -> None:
    ns = run(
        "import numpy as np\nimport pandas as pd\n"
        "a = np.zeros(3)\na[1] = 5.0\n"
        "df = pd.DataFrame({'x': [1, 2]})\ndf.loc[0, 'x'] = 9\ndf['y'] = 1\n"
        "rng = np.random.default_rng(1)\nvalues = sorted(zip([2, 1], [3, 4]))\n"
        "class Box:\n    pass\nbox = Box()\nbox.level = 3\n"
        "out = (a[1], int(df.x.sum()), box.level, values[0], pd.Series([1]).to_numpy()[0])\n")
    assert ns["out"] == (5.0, 11, 3, (1, 4), 1)


def test_trade_stops_can_move_but_nothing_else() -> None:
    from backtesting.backtesting import Trade

    guard = policy.restricted_globals(module_name="user_strategy", printer=None)["_write_"]
    trade = Trade.__new__(Trade)
    wrapper = guard(trade)
    with pytest.raises(policy.PolicyViolation, match="only .sl and .tp"):
        wrapper.size = 5


def test_no_module_objects_in_builtins() -> None:
    import types

    names = policy.restricted_globals(module_name="m", printer=None)["__builtins__"]
    assert not [k for k, v in names.items() if isinstance(v, types.ModuleType)]
    assert not set(names) & (policy.FORBIDDEN_NAMES - {"__import__"})


@pytest.mark.parametrize(("requirement", "ok"), [
    ("pandas>=2.0", True), ("TA-Lib", True), ("numpy", True), ("requests", False),
    ("os", False), ("torch[cpu]", False),
])
def test_dependency_allowed(requirement: str, ok: bool) -> None:
    assert policy.dependency_allowed(requirement) is ok


def test_library_c_code_may_reimport_its_own_loaded_internals() -> None:
    """ndarray.mean() imports numpy._core._methods from C through the strategy's builtins (with
    a list fromlist); strategy import statements (tuple or None) and other modules stay refused."""
    assert run("import numpy as np\nout = np.arange(4.0).mean()")["out"] == 1.5
    guarded = policy._guarded_import  # noqa: SLF001 - the guard itself
    assert guarded("numpy._core._methods", None, None, [], 0).__name__ == "numpy._core._methods"
    for name, fromlist in (("numpy._core._methods", ()), ("numpy._core._methods", None),
                           ("os", []), ("os.path", []), ("sandbox.policy", [])):
        with pytest.raises(policy.PolicyViolation):
            guarded(name, None, None, fromlist, 0)


def test_module_names_are_denied_by_default() -> None:
    # Listed names pass; a name the library has but nobody reviewed does not; submodules on the
    # module allow-list pass; our own runtime exposes exactly its __all__.
    assert policy.module_name_allowed("numpy", "mean")
    assert policy.module_name_allowed("numpy", "random")
    assert policy.module_name_allowed("backtesting.lib", "crossover")
    assert policy.module_name_allowed("core.pine.runtime", "ta_sma")
    assert not policy.module_name_allowed("numpy", "fromregex")
    assert not policy.module_name_allowed("numpy", "a_function_added_next_year")
    assert not policy.module_name_allowed("pandas", "show_versions")
    assert not policy.module_name_allowed("core.pine.runtime", "np")
    assert not policy.module_name_allowed("os", "path")


def test_every_listed_name_exists_and_is_not_a_file_helper() -> None:
    import importlib

    from sandbox.policy_names import MODULE_NAMES

    for module, names in MODULE_NAMES.items():
        loaded = importlib.import_module(module)
        missing = sorted(n for n in names if not hasattr(loaded, n))
        assert missing == [], f"{module}: {missing}"
        assert all(policy.attribute_allowed(n) for n in names), module


# --- the guard's caches: a cached allow decision never lets anything new through ---------------

def test_cached_decisions_still_refuse_and_still_check_values() -> None:
    ns = run("import numpy as np\na = np.zeros(3)\n")
    read, arr, np_module = ns["_getattr_"], ns["a"], ns["np"]
    for _ in range(3):  # allowed reads, repeated: served from the cache
        assert read(arr, "shape") == (3,)
        assert read(np_module, "mean") is not None
    for name in ("tofile", "_data", "__class__"):  # the same class, refused names: still refused
        with pytest.raises(policy.PolicyViolation):
            read(arr, name)
    with pytest.raises(policy.PolicyViolation, match="numpy.f2py|f2py"):
        read(np_module, "f2py")


def test_value_check_is_not_skipped_for_a_type_seen_before() -> None:
    import types

    holder = types.SimpleNamespace(value=1.5)
    guarded = policy.restricted_globals(module_name="user_strategy",
                                        printer=_make_printer(100))["_getattr_"]
    assert guarded(holder, "value") == 1.5  # float: inert, cached
    holder.value = types  # same (class, name), now a module off the allow-list
    with pytest.raises(policy.PolicyViolation, match="module 'types'"):
        guarded(holder, "value")
    holder.value = __import__("os").system  # a function of a denied module
    with pytest.raises(policy.PolicyViolation, match="not allowed"):
        guarded(holder, "value")


def test_inert_types_exclude_anything_that_can_pose_as_a_class() -> None:
    import types

    class Liar:
        @property
        def __class__(self) -> type:  # noqa: PLE0237 - what an instance could fake
            return type

    assert policy._inert_type(float) and policy._inert_type(list)
    for cls in (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, Liar):
        assert not policy._inert_type(cls)
