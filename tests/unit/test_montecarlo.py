"""Monte Carlo paths on tiny inputs whose outcomes can be listed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.studies import montecarlo as mc


def test_shuffle_keeps_the_final_return_and_moves_the_drawdown() -> None:
    # trades -50 %, +20 %, -50 %: every order ends at 0.5 * 0.5 * 1.2 = 0.3 (return -0.7).
    # Orders (-,-,+) and (+,-,-) fall 75 % from their peak; (-,+,-) falls 70 % (peak 1).
    out = mc.trade_shuffle(np.array([-0.5, 0.2, -0.5]), paths=300, seed=1, years=1.0)
    assert out.final_return == pytest.approx(np.full(300, -0.7))
    assert set(np.round(out.max_drawdown, 12)) == {0.7, 0.75}
    assert out.prob_loss(0.5) == 1.0 and out.prob_loss(0.8) == 0.0
    assert out.prob_drawdown(0.72) == pytest.approx((out.max_drawdown > 0.72).mean())
    assert 0 < out.prob_drawdown(0.72) < 1
    assert out.cagr == pytest.approx(np.full(300, -0.7))  # one year: CAGR = total return


def test_bootstrap_draws_with_replacement() -> None:
    # two trades +10 % / -10 %, two draws: 1.1^2, 1.1 * 0.9, 0.9^2 -> 0.21, -0.01, -0.19
    out = mc.trade_bootstrap(np.array([0.1, -0.1]), paths=400, seed=2, years=2.0)
    assert set(np.round(out.final_return, 12)) == {0.21, -0.01, -0.19}
    share = (np.round(out.final_return, 12) == -0.01).mean()
    assert 0.4 < share < 0.6  # the mixed outcome has probability 1/2
    assert out.cagr == pytest.approx(np.sqrt(1 + out.final_return) - 1)


def test_block_bootstrap_of_constant_returns_and_seeding() -> None:
    flat = mc.block_bootstrap(np.full(10, 0.01), paths=50, seed=3, mean_block=3, years=0.5)
    assert flat.final_return == pytest.approx(np.full(50, 1.01 ** 10 - 1))
    assert flat.max_drawdown == pytest.approx(np.zeros(50))
    r = np.array([0.02, -0.01, 0.03, -0.04, 0.01, 0.0, 0.02, -0.02])
    a = mc.block_bootstrap(r, paths=100, seed=4, mean_block=2, years=1.0)
    b = mc.block_bootstrap(r, paths=100, seed=4, mean_block=2, years=1.0)
    c = mc.block_bootstrap(r, paths=100, seed=5, mean_block=2, years=1.0)
    assert np.array_equal(a.paths, b.paths) and not np.array_equal(a.paths, c.paths)


def test_stationary_indices_continue_blocks() -> None:
    rng = np.random.default_rng(0)
    idx = mc.stationary_indices(1000, paths=20, mean_block=10, rng=rng)
    steps = np.diff(idx, axis=1)
    continued = ((steps == 1) | (steps == -999)).mean()
    assert 0.85 < continued < 0.95  # a new block starts with probability 1/10
    with pytest.raises(ValueError, match="at least 1 day"):
        mc.stationary_indices(10, paths=1, mean_block=0.5, rng=rng)


def test_trade_fractions_use_the_equity_before_entry() -> None:
    equity = pd.Series([100.0, 110.0, 120.0, 90.0])
    trades = pd.DataFrame({"entry_bar": [0, 2], "pnl": [10.0, -30.0]})
    # trade 1 entered on bar 0: initial cash 100; trade 2 on bar 2: equity of bar 1 = 110
    assert mc.trade_fractions(trades, equity, 100.0) == pytest.approx([0.1, -30 / 110])


def test_percentiles_and_fan() -> None:
    out = mc.trade_bootstrap(np.array([0.1, -0.1, 0.05]), paths=200, seed=9, years=1.0)
    pct = out.percentiles()
    assert pct["final_return"][50] == pytest.approx(np.percentile(out.final_return, 50))
    assert list(pct) == ["final_return", "max_drawdown", "cagr"]
    fan = out.fan()
    assert fan.shape == (4, 5) and (fan["q5"] <= fan["q95"]).all() and fan["q50"].iloc[0] == 1.0
