"""Parameter extraction from the comment convention, and checking of chosen values."""

from __future__ import annotations

import pytest

from core.strategies import params, validation
from core.errors import ConfigError
from core.model import BacktestConfig, Language, ParameterDef

SOURCE = '''
from backtesting import Strategy


class Demo(Strategy):
    fast = 20  # Fast MA length; range: 5..100
    stop = 0.02  # Stop distance as a fraction; range: 0.005..0.1; step: 0.005
    mode = "long"  # Direction; options: long, short, both
    use_filter = True  # Only trade with the trend
    offset = -3  # Shift; range: -10..10
    window: int = 7
    levels = [1, 2]  # not a scalar literal: not a parameter
    _private = 1

    def init(self):
        pass

    def next(self):
        pass
'''


def test_extraction_types_defaults_bounds_descriptions() -> None:
    defs = {p.name: p for p in params.extract(SOURCE, Language.PYTHON)}
    assert list(defs) == ["fast", "stop", "mode", "use_filter", "offset", "window"]
    assert defs["fast"] == ParameterDef(name="fast", type="int", default=20, min=5, max=100,
                                        description="Fast MA length")
    assert (defs["stop"].type, defs["stop"].step, defs["stop"].max) == ("float", 0.005, 0.1)
    assert defs["mode"].options == ("long", "short", "both") and defs["mode"].type == "str"
    assert defs["use_filter"].type == "bool" and defs["use_filter"].description
    assert (defs["offset"].default, defs["offset"].min) == (-3, -10)
    assert defs["window"].default == 7 and defs["window"].min is None


def test_unparsable_or_classless_source_has_no_parameters() -> None:
    assert params.extract_python("def f(:\n") == []
    assert params.extract_python("x = 1\n") == []


def _def(**kw: object) -> ParameterDef:
    return ParameterDef(**{"name": "fast", "type": "int", "default": 20, "min": 5, "max": 100,
                           **kw})


@pytest.mark.parametrize(("param", "raw", "value"), [
    (_def(), "30", 30), (_def(), 30.0, 30),
    (_def(type="float", default=0.5, min=0.0, max=1.0), "0.25", 0.25),
    (_def(type="bool", default=True, min=None, max=None), "no", False),
    (_def(type="str", default="a", min=None, max=None, options=("a", "b")), "b", "b"),
])
def test_coerce_accepts_valid_values(param: ParameterDef, raw: object, value: object) -> None:
    assert params.coerce(param, raw) == value


@pytest.mark.parametrize(("param", "raw", "needle"), [
    (_def(), "abc", "not a valid int (whole number); the default is 20"),
    (_def(), "20.5", "not a valid int"),
    (_def(), "500", "outside its range 5..100"),
    (_def(max=None), "1", "outside its minimum 5"),
    (_def(type="float", default=0.5), "nan", "not a valid float"),
    (_def(type="bool", default=True, min=None, max=None), "maybe", "true/false"),
    (_def(type="str", default="a", min=None, max=None, options=("a", "b")), "c", "not one of a, b"),
])
def test_coerce_explains_bad_values(param: ParameterDef, raw: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        params.coerce(param, raw)


def test_checked_config_suggests_the_close_name() -> None:
    config = BacktestConfig(params={"fsat": "10"})
    with pytest.raises(ConfigError, match="Did you mean 'fast'"):
        params.checked_config(config, SOURCE, Language.PYTHON)
    ok = params.checked_config(BacktestConfig(params={"fast": "10"}), SOURCE, Language.PYTHON)
    assert ok.params == {"fast": 10}


def test_default_outside_its_declared_range_is_a_warning() -> None:
    source = "\n".join(line for line in SOURCE.splitlines()
                       if "window" not in line and "_private" not in line)
    issues = validation.validate_python(source.replace("fast = 20  #", "fast = 200  #"))
    assert [(i.rule, i.severity.value, i.line) for i in issues] == [("parameter", "warning", 6)]
    fast = params.extract_python(source.replace("fast = 20  #", "fast = 200  #"))[0]
    assert (fast.min, fast.max) == (5, 200)  # widened so the Backtest form can show the default


def test_parameters_of_the_class_that_runs_include_inherited_ones() -> None:
    """A subclass overriding only some parameters (and a SignalStrategy subclass renamed as
    Strategy) exposes the class the lab runs, its parents' values overridden by its own."""
    from core.strategies import params as parameters

    source = ("from backtesting import Strategy\n\n\nclass Cross(Strategy):\n    fast = 10\n"
              "    slow = 30\n\n    def init(self):\n        pass\n\n    def next(self):\n"
              "        pass\n\n\nclass Quick(Cross):\n    fast = 5\n    band = 0.5\n")
    found = {p.name: p.default for p in parameters.extract_python(source)}
    assert found == {"fast": 5, "slow": 30, "band": 0.5}
    renamed = ("from backtesting.lib import SignalStrategy as Strategy\n\n\nclass S(Strategy):\n"
               "    n = 20\n\n    def init(self):\n        pass\n")
    assert [p.name for p in parameters.extract_python(renamed)] == ["n"]
