"""Default steps of a sweep's ranges: whole numbers for int parameters, round steps for floats,
and a step the user writes always wins (CLI specs and the Optimize page's suggestions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from clicmd.backtest import parse_params
from core.strategies import params, crud as strategies
from core.errors import ConfigError
from core.model import Language, ParameterDef, StrategyMeta
from core.studies import space

REPO = Path(__file__).resolve().parents[2]
FAST = ParameterDef(name="fast", type="int", default=20, min=5, max=100)
HALF = ParameterDef(name="n", type="int", default=2, min=1, max=9, step=2.5)
STOP = ParameterDef(name="stop", type="float", default=0.02, min=0.005, max=0.1)
SOURCE = '''from backtesting import Strategy


class S(Strategy):
    fast = 20  # bars; range: 5..100
    stop = 0.02  # stop fraction; range: 0.005..0.1

    def init(self):
        pass

    def next(self):
        pass
'''


def _all_ints(values: tuple) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


@pytest.mark.parametrize(("param", "expected"), [
    (FAST, "5:100:10"),  # a tenth of 95 is 9.5: snapped to a whole 10
    (HALF, "1:9:2"),  # a declared 2.5 step of an int parameter snaps to 2
    (STOP, "0.005:0.1:0.01"),  # a tenth of 0.095, rounded to 0.01
])
def test_page_suggestion_steps(param: ParameterDef, expected: str) -> None:
    assert space.default_spec(param) == expected
    dim = space.dimension(param, expected)
    assert dim.values[0] == param.min
    assert param.type != "int" or _all_ints(dim.values)


def test_cli_ranges_without_a_step_use_whole_numbers_for_ints() -> None:
    defs = params.extract(SOURCE, Language.PYTHON)
    dims = {d.name: d for d in space.build(defs, parse_params(["fast=5:100", "stop=0.005:0.1"]))}
    assert dims["fast"].step == 1 and dims["fast"].values == tuple(range(5, 101))
    assert dims["stop"].step == pytest.approx(0.01)
    declared = {d.name: d for d in space.build(defs, {"fast": "", "stop": ""})}
    assert _all_ints(declared["fast"].values)
    assert space.build([HALF], {"n": ""})[0].values == (1, 3, 5, 7, 9)


def test_the_users_step_wins() -> None:
    dims = space.build(params.extract(SOURCE, Language.PYTHON),
                       parse_params(["fast=5:50:15", "stop=0.01:0.05:0.02"]))
    assert dims[0].values == (5, 20, 35, 50)
    assert dims[1].values == (0.01, 0.03, 0.05)


def test_a_dash_range_is_refused_saying_how_to_write_one() -> None:
    with pytest.raises(ConfigError) as refused:
        space.dimension(FAST, "5-30")
    text = str(refused.value)
    assert "--param fast=5-30: write a range as LOW:HIGH[:STEP] (e.g. 5:100:10)" in text
    assert "not a valid int" in text  # the coercion's own reason is kept


def test_optimize_page_prefills_whole_steps(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import make_settings

    strategies.save(make_settings(home).db_path, meta=StrategyMeta(name="Steps"), source=SOURCE)
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = {t.key.rsplit("_", 1)[-1]: t.value for t in at.text_input
             if t.key and t.key.startswith("opt_spec_")}
    assert shown == {"fast": "5:100:10", "stop": "0.005:0.1:0.01"}
