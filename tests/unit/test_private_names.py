"""Single-underscore names: allowed on the strategy's own objects, refused where they reach the
sandbox's guards or backtesting.py's internals, the same way in validation and at run time."""

from __future__ import annotations

import pytest
from backtesting import Strategy
from backtesting.lib import SignalStrategy, TrailingStrategy

from core.strategies import validation
from sandbox import child, names, policy

HEADER = "from backtesting import Strategy\n"


def _strategy(init: str, next_: str = "pass", prelude: str = "") -> str:
    return (HEADER + prelude + "\nclass S(Strategy):\n    def init(self):\n        "
            + init.replace("\n", "\n        ") + "\n\n    def next(self):\n        "
            + next_.replace("\n", "\n        ") + "\n")


@pytest.mark.parametrize(("source", "where"), [
    (_strategy("self._done = False", "if not self._done:\n    self._done = True"), "attribute"),
    (_strategy("_n = 3\nself.n = _n"), "local name"),
    (_strategy("self.n = _helper(2)", prelude="def _helper(x):\n    return x * 2\n"), "function"),
    (_strategy("self.k = S._k", prelude="").replace("class S(Strategy):\n",
                                                    "class S(Strategy):\n    _k = 1\n"),
     "class attribute"),
])
def test_own_private_names_validate_and_run(source: str, where: str) -> None:
    assert validation.validate_python(source) == [], where
    cls = child.load_strategy_class(source)
    assert cls.__name__ == "S"


@pytest.mark.parametrize(("snippet", "needle"), [
    ("self._broker._cash = 1", "'._broker' is not allowed: it is backtesting.py's own private"),
    ("x = self._data", "'._data' is not allowed"),
    ("x = self._indicators", "'._indicators' is not allowed"),
    ("x = self._params", "'._params' is not allowed"),
    ("x = self.data._Data__df", "double underscore"),
    ("x = self.__class__", "double underscore"),
    ("x = self.data._arrays", "open only on your own objects"),
    ("x = self.position._size", "open only on your own objects"),
    ("_getattr_ = min", "reserved for the sandbox's own guards"),
    ("_print = min", "reserved for the sandbox's own guards"),
    ("_tmp0 = 1", "reserved for the sandbox's own guards"),
])
def test_framework_privates_and_guard_names_stay_refused(snippet: str, needle: str) -> None:
    issues = validation.validate_python(_strategy(snippet))
    assert any(needle in i.message and i.line == 5 for i in issues), issues


@pytest.mark.parametrize("snippet", ["self._broker._cash = 1", "x = self._data",
                                     "x = self.data._Data__df", "_getattr_ = min"])
def test_the_sandbox_compiler_refuses_them_too(snippet: str) -> None:
    with pytest.raises(policy.PolicyViolation, match="invalid"):
        child.load_strategy_class(_strategy(snippet))


def test_run_time_reads_private_attributes_of_own_objects_only() -> None:
    getter = policy._make_getattr("user_strategy")  # noqa: SLF001 - the guard itself
    own = type("Mine", (Strategy,), {"__module__": "user_strategy", "_k": 1, "init": None,
                                      "next": None})
    assert getter(own, "_k") == 1
    library = type("Frame", (dict,), {"__module__": "user_strategy", "_k": 2})
    with pytest.raises(policy.PolicyViolation, match="'_k'"):
        getter(library(), "_k")  # a user class built on a library class: closed
    with pytest.raises(policy.PolicyViolation, match="'_broker'"):
        getter(own, "_broker")


def test_reserved_list_covers_every_private_strategy_attribute() -> None:
    """Every '_' attribute backtesting.py gives a Strategy class or instance is refused."""
    import warnings

    import numpy as np
    import pandas as pd
    from backtesting import Backtest

    class Trailing(TrailingStrategy):
        def init(self) -> None:
            super().init()

    class Signal(SignalStrategy):
        def init(self) -> None:
            super().init()
            self.set_signal(self.data.Close > 0, self.data.Close < 0)

    close = 100 + np.arange(120.0)
    data = pd.DataFrame({"Open": close, "High": close + 1, "Low": close - 1, "Close": close},
                        index=pd.date_range("2024-01-01", periods=120, freq="D"))
    found = {n for c in (Strategy, SignalStrategy, TrailingStrategy) for n in dir(c)}
    for cls in (Trailing, Signal):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found |= set(vars(Backtest(data, cls).run()["_strategy"]))
    private = {n for n in found if n.startswith("_")}
    assert {"_broker", "_data", "_indicators", "_params"} <= private
    for name in private:
        assert names.refusal(name) is not None, name
