"""One golden run pins every metric (tests/golden/metrics_golden.json).

If a definition changes on purpose, run `python scripts/regenerate_golden.py`, read the diff, and
re-run it with --accept; never edit the JSON by hand.
"""

from __future__ import annotations

import math

import pytest

from core.analytics import metrics, trade_stats
from scripts.regenerate_golden import diff
from tests.golden import golden_run


def test_every_metric_matches_the_golden_file() -> None:
    changes = diff(golden_run.stored(), golden_run.compute())
    assert not changes, "metric values changed (scripts/regenerate_golden.py):\n" + "\n".join(
        changes)


def test_the_golden_file_covers_every_metric_and_side() -> None:
    pinned = golden_run.stored()
    assert set(pinned) == set(trade_stats.SIDES)
    expected_all = set(metrics.METRICS) | set(trade_stats.TRADE_STATS) | set(
        trade_stats.EQUITY_STATS)
    assert set(pinned["all"]) == expected_all
    assert set(pinned["long"]) == set(pinned["short"]) == set(trade_stats.TRADE_STATS)


def test_golden_run_is_not_degenerate() -> None:
    pinned = golden_run.stored()["all"]
    assert pinned["total_trades"] >= 20
    assert pinned["max_drawdown"] > 0 and pinned["volatility"] > 0
    assert math.isfinite(pinned["sharpe_ratio"])


def test_diff_reports_changes() -> None:
    old = {"all": {"a": 1.0, "b": 2.0}}
    new = {"all": {"a": 1.0, "b": 2.5, "c": 3.0}}
    assert diff(old, new) == ["all.b: 2.0 -> 2.5", "all.c: (absent) -> 3.0"]
    assert diff(old, old) == []


@pytest.mark.parametrize("name", ["sharpe_ratio", "net_profit", "closed_profit_factor"])
def test_pinned_values_are_numbers_or_infinity(name: str) -> None:
    value = golden_run.stored()["all"][name]
    assert isinstance(value, float) or value in ("inf", "-inf", "nan")


def test_a_side_without_trades_pins_undefined_averages_as_nan() -> None:
    """The golden run is long-only: its Short column has no trade, so every average and ratio
    of it is undefined ("nan", shown "—"), while its sums and counts are 0."""
    short = golden_run.stored()["short"]
    assert short["total_closed_trades"] == 0.0 and short["net_profit"] == 0.0
    for name in ("percent_profitable", "closed_profit_factor", "avg_trade", "ratio_avg_win_loss",
                 "avg_winning_trade", "largest_losing_trade", "avg_bars_in_trades"):
        assert short[name] == "nan", name
