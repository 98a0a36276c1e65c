"""The lookahead check's pure parts: where it cuts, and how a truncated run is compared with
the full run up to its cut (no sandbox)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.studies.lookahead import ORDER_COLUMNS, RunView, compare, cut_points

INDEX = pd.date_range("2024-01-01", periods=10, freq="h")


def _orders(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=ORDER_COLUMNS)


def _view(values: list[float], *orders: tuple) -> RunView:
    return RunView(indicators={"sma(C,3)": (12, np.array(values, dtype="float64"))},
                   orders=_orders(*orders))


NAN = float("nan")
BUY = (3, 1.0, NAN, NAN, NAN, NAN, False, 20)  # placed on bar 3 by line 20
CLOSE = (7, -1.0, NAN, NAN, NAN, NAN, True, 22)  # placed on bar 7 by line 22


def test_cuts_follow_the_trades_then_fill_evenly() -> None:
    assert cut_points(trade_bars=[100, 200, 300], n_bars=1000, cuts=3) == [101, 201, 301]
    sampled = cut_points(trade_bars=list(range(100, 900, 10)), n_bars=1000, cuts=4)
    assert len(sampled) == 4 and sampled[0] == 101 and sampled[-1] == 891
    spaced = cut_points(trade_bars=[], n_bars=1000, cuts=3)
    assert len(spaced) == 3 and all(15 <= n <= 999 for n in spaced)
    assert cut_points(trade_bars=[5, 999], n_bars=1000, cuts=2) == sorted(
        cut_points(trade_bars=[5, 999], n_bars=1000, cuts=2))  # both outside: evenly spaced


def test_a_run_without_lookahead_matches_up_to_its_cut() -> None:
    full = _view([NAN, NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], BUY, CLOSE)
    cut = _view([NAN, NAN, 1.0, 2.0, 3.0, 4.0], BUY)  # the close comes after the cut
    assert compare(full, cut, n_bars=6, index=INDEX) == []


def test_an_indicator_that_changes_with_later_bars_is_flagged_at_its_first_bar() -> None:
    full = _view([NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], BUY)
    cut = _view([NAN, 1.0, 2.0, 3.0, 4.5, NAN], BUY)  # repainted bar 4, missing bar 5
    (found,) = compare(full, cut, n_bars=6, index=INDEX)
    assert (found.kind, found.name, found.line) == ("indicator", "sma(C,3)", 12)
    assert found.bar == str(INDEX[4]) and found.cut == str(INDEX[5])
    assert (found.full, found.truncated) == ("4", "4.5")
    assert "line 12" in found.text()


def test_an_order_placed_differently_is_flagged() -> None:
    values = [1.0] * 10
    full = _view(values, BUY, CLOSE)
    cut = _view(values[:8], BUY)  # the full run closed on bar 7, the cut run did not
    (found,) = compare(full, cut, n_bars=8, index=INDEX)
    assert (found.kind, found.bar, found.line) == ("order", str(INDEX[7]), 22)
    assert found.full == f"close size=1 placed {INDEX[7]}" and found.truncated == "no order"
    assert "order #2 (line 22)" in found.text()


def test_an_order_only_the_truncated_run_placed_names_its_line() -> None:
    values = [1.0] * 10
    early = (2, -1.0, NAN, NAN, NAN, NAN, False, 31)  # a sell on bar 2 only with less data
    (found,) = compare(_view(values, BUY), _view(values[:6], early, BUY), n_bars=6, index=INDEX)
    assert (found.bar, found.line, found.name) == (str(INDEX[2]), 31, "#1")
    assert found.truncated.startswith("sell")


def test_the_line_alone_differing_is_not_lookahead() -> None:
    values = [1.0] * 10
    moved = (3, 1.0, NAN, NAN, NAN, NAN, False, 99)
    assert compare(_view(values, BUY), _view(values[:6], moved), n_bars=6, index=INDEX) == []


def test_float_noise_is_not_lookahead() -> None:
    full = _view([100.0 + k for k in range(10)])
    cut = _view([100.0 + k + 1e-12 for k in range(6)])
    assert compare(full, cut, n_bars=6, index=INDEX) == []


def test_a_recorded_line_outside_the_source_is_refused() -> None:
    import pytest

    from core.errors import SandboxError
    from core.studies.lookahead import _indicators
    from core.studies.lookahead import _orders as checked_orders

    orders = checked_orders(_orders_frame(BUY), 10, lines=20)
    assert orders["line"].tolist() == [20]
    with pytest.raises(SandboxError, match="outside the strategy's 19 lines"):
        checked_orders(_orders_frame(BUY), 10, lines=19)
    with pytest.raises(SandboxError, match="not a line of the strategy's 5"):
        _indicators(pd.DataFrame({"sma@6": [1.0, 2.0]}), lines=5)
    assert _indicators(pd.DataFrame({"sma@0": [1.0, 2.0]}), lines=5)["sma"][0] is None


def _orders_frame(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=ORDER_COLUMNS)
