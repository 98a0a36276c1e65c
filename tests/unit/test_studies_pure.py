"""Studies without the sandbox: the constraint language, the search space, DSR and PBO.

DSR/PSR/PBO values are checked against numbers worked out by hand (see each test's comments),
using only the standard library's normal distribution, not the code under test.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from core.errors import ConfigError
from core.model import ParameterDef
from core.studies import constraints, space, stats


# --- constraints -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "params", "expected"), [
    ("fast < slow", {"fast": 5, "slow": 20}, True),
    ("fast < slow", {"fast": 20, "slow": 20}, False),
    ("fast * 2 <= slow and stop < 0.1", {"fast": 10, "slow": 20, "stop": 0.05}, True),
    ("fast * 2 <= slow and stop < 0.1", {"fast": 11, "slow": 20, "stop": 0.05}, False),
    ("5 <= fast < slow", {"fast": 4, "slow": 20}, False),
    ("5 <= fast < slow", {"fast": 5, "slow": 20}, True),
    ("not (fast == slow) or mode == 'long'", {"fast": 3, "slow": 3, "mode": "long"}, True),
    ("not (fast == slow) or mode == 'long'", {"fast": 3, "slow": 3, "mode": "short"}, False),
    ("-fast + slow % 7 > 0", {"fast": 1, "slow": 9}, True),
    ("use_filter == true", {"use_filter": True}, True),
    ("slow / (fast - 5) > 1", {"fast": 5, "slow": 9}, False),  # division by zero: not satisfied
])
def test_constraint_language(text: str, params: dict, expected: bool) -> None:
    assert constraints.parse(text, params).holds(params) is expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('x')", "fast.__class__ < 3", "fast < slow)", "(fast < slow",
    "fast <", "", "fast ; slow", "[fast] < slow", "lambda: 1", "fast < slow if 1 else 2",
])
def test_constraint_refuses_anything_else(text: str) -> None:
    with pytest.raises(ConfigError, match="Constraint"):
        constraints.parse(text, ["fast", "slow"])


def test_constraint_unknown_name_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown parameter 'fsat'.*fast, slow"):
        constraints.parse("fsat < slow", ["fast", "slow"])


# --- search space ------------------------------------------------------------------------------

FAST = ParameterDef(name="fast", type="int", default=20, min=5, max=100)
SLOW = ParameterDef(name="slow", type="int", default=60, min=20, max=300)
STOP = ParameterDef(name="stop", type="float", default=0.02, min=0.005, max=0.1, step=0.005)
MODE = ParameterDef(name="mode", type="str", default="long", options=("long", "short", "both"))
FLAG = ParameterDef(name="flag", type="bool", default=True)


def test_dimensions_from_specs_and_declarations() -> None:
    dims = space.build([FAST, SLOW, STOP, MODE, FLAG], {
        "fast": "5:50:5", "slow": "20:200:10", "stop": "", "mode": "long,short", "flag": ""})
    by = {d.name: d.values for d in dims}
    assert by["fast"] == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    assert len(by["slow"]) == 19 and by["slow"][-1] == 200
    assert by["stop"][0] == 0.005 and by["stop"][-1] == 0.1 and len(by["stop"]) == 20
    assert by["mode"] == ("long", "short")
    assert by["flag"] == (False, True)
    assert space.size(dims) == 10 * 19 * 20 * 2 * 2


@pytest.mark.parametrize(("spec", "match"), [
    ("1:50:5", "outside its range"), ("50:5:5", "empty"), ("5:50:0", "positive"),
    ("a:b", "numbers"), ("5:50:5:1", "LOW:HIGH"),
])
def test_bad_ranges_are_refused(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        space.build([FAST], {"fast": spec})


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ConfigError, match="Unknown parameter 'fsat'"):
        space.build([FAST], {"fsat": "5:10"})


def test_grid_respects_constraints_in_fixed_order() -> None:
    dims = space.build([FAST, SLOW], {"fast": "10:30:10", "slow": "20:40:10"})
    rule = constraints.parse("fast < slow")
    got = [(p["fast"], p["slow"]) for p in space.grid(dims, [rule])]
    assert got == [(10, 20), (10, 30), (10, 40), (20, 30), (20, 40), (30, 40)]


def test_random_plan_is_seeded_distinct_and_constrained() -> None:
    dims = space.build([FAST, SLOW], {"fast": "5:100:1", "slow": "20:300:1"})
    rule = constraints.parse("fast * 3 < slow")
    first = space.random_plan(dims, [rule], n=200, seed=7)
    assert first == space.random_plan(dims, [rule], n=200, seed=7)
    assert first != space.random_plan(dims, [rule], n=200, seed=8)
    assert len({space.key(p) for p in first}) == 200
    assert all(p["fast"] * 3 < p["slow"] for p in first)


# --- deflated Sharpe ratio ---------------------------------------------------------------------

def test_psr_matches_hand_computation() -> None:
    # r = [0.01, -0.01, 0.02, 0.0]: mean 0.005; deviations ±0.005, ±0.015 -> sum of squares
    # 5e-4, sd (ddof=1) = sqrt(5e-4/3); SR = 0.005/sd = 0.3872983. Third moment 0 -> skew 0.
    # m2 = 5e-4/4 = 1.25e-4, m4 = (2*0.005^4 + 2*0.015^4)/4 = 2.5625e-8 -> kurtosis 1.64.
    r = np.array([0.01, -0.01, 0.02, 0.0])
    sr = 0.005 / math.sqrt(5e-4 / 3)
    assert stats.sharpe(r) == pytest.approx(sr, rel=1e-12)
    z = sr * math.sqrt(3) / math.sqrt(1 - 0 * sr + (1.64 - 1) / 4 * sr * sr)
    assert stats.psr(r, 0.0) == pytest.approx(NormalDist().cdf(z), rel=1e-9)
    assert stats.psr(r, 0.1) == pytest.approx(
        NormalDist().cdf((sr - 0.1) * math.sqrt(3) / math.sqrt(1 + 0.16 * sr * sr)), rel=1e-9)


def test_expected_max_sharpe_matches_hand_computation() -> None:
    # N = 10, V = 0.01: SR0 = 0.1 * ((1 - g) * z(0.9) + g * z(1 - 1/(10 e)))
    g = 0.5772156649015329
    nd = NormalDist()
    expected = 0.1 * ((1 - g) * nd.inv_cdf(0.9) + g * nd.inv_cdf(1 - 1 / (10 * math.e)))
    assert stats.expected_max_sharpe(10, 0.01) == pytest.approx(expected, rel=1e-9)
    assert stats.expected_max_sharpe(1, 0.01) == 0.0


def test_dsr_deflates_by_the_number_of_trials() -> None:
    r = np.array([0.01, -0.01, 0.02, 0.0])
    srs = np.array([0.1, 0.3, 0.2])  # sample variance (ddof=1) = 0.01
    one = stats.deflated_sharpe(r, srs[:1], n_trials=1)
    assert one.sr0 == 0.0 and one.dsr == pytest.approx(one.psr)
    many = stats.deflated_sharpe(r, srs, n_trials=10)
    assert many.variance == pytest.approx(0.01)
    assert many.sr0 == pytest.approx(stats.expected_max_sharpe(10, 0.01))
    sr = 0.005 / math.sqrt(5e-4 / 3)
    z = (sr - many.sr0) * math.sqrt(3) / math.sqrt(1 + 0.16 * sr * sr)
    assert many.dsr == pytest.approx(NormalDist().cdf(z), rel=1e-9)
    assert many.dsr < one.dsr


# --- probability of backtest overfitting -------------------------------------------------------

def _blocks(*per_block: list[float]) -> np.ndarray:
    """Rows for each block: a block's value v gives returns [v + 0.001, v - 0.001] (sd > 0)."""
    return np.array([[v + s for v in block] for block in per_block for s in (0.001, -0.001)])


def test_pbo_is_one_when_the_in_sample_winner_always_loses_out_of_sample() -> None:
    # S = 2: splits {block 1 IS, block 2 OOS} and the reverse. Trial 0 wins block 1, trial 1
    # wins block 2, so the IS winner is the OOS worst: rank 1 of 2, w = 1/3, lambda = ln(1/2).
    m = _blocks([0.01, -0.01], [-0.01, 0.01])
    o = stats.pbo_cscv(m, blocks=2)
    assert o.splits == 2 and o.pbo == 1.0
    assert o.logits == pytest.approx([math.log(0.5), math.log(0.5)])


def test_pbo_is_zero_when_one_trial_wins_everywhere() -> None:
    # trial 0 best in both blocks: IS winner ranks 2 of 2 OOS, w = 2/3, lambda = ln 2 > 0.
    m = _blocks([0.01, -0.01], [0.02, 0.0])
    o = stats.pbo_cscv(m, blocks=2)
    assert o.pbo == 0.0 and o.logits == pytest.approx([math.log(2), math.log(2)])


def test_pbo_counts_splits_of_four_blocks() -> None:
    # S = 4 -> C(4, 2) = 6 splits. Trial 0 wins blocks 1-2, trial 1 wins blocks 3-4 (by the same
    # margin). IS {1,2} or {3,4}: the IS winner loses OOS (lambda < 0); the 4 mixed splits tie in
    # sample (argmax takes trial 0) and tie out of sample (ranks 1.5, w = 0.5, lambda = 0).
    m = _blocks([0.01, -0.01], [0.01, -0.01], [-0.01, 0.01], [-0.01, 0.01])
    o = stats.pbo_cscv(m, blocks=4)
    assert o.splits == 6
    assert sorted(o.logits) == pytest.approx([math.log(0.5)] * 2 + [0.0] * 4, abs=1e-9)
    assert o.pbo == 1.0


def test_pbo_says_when_it_cannot_be_computed() -> None:
    with pytest.raises(ValueError, match="at least 2 trials"):
        stats.pbo_cscv(np.zeros((40, 1)))
    with pytest.raises(ValueError, match="at least 32 daily returns"):
        stats.pbo_cscv(np.zeros((20, 3)), blocks=16)
    with pytest.raises(ValueError, match="even"):
        stats.pbo_cscv(np.zeros((40, 3)), blocks=3)
