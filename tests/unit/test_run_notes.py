"""core.runs.notes: the warnings a finished run carries (CLI lines, Results banners, JSON)."""

from __future__ import annotations

import pandas as pd

from core.model import BacktestConfig, MarginModel
from core.runs import notes


SPOT = BacktestConfig(symbol="BTCUSDT", timeframe="1h", margin=MarginModel(spot_margin=False))


def test_shorts_on_spot_without_margin_are_named_with_the_fix() -> None:
    spot = SPOT
    assert notes.spot_short_note(spot, 1) == (
        "1 short trade was taken on spot data without margin: a Pine strategy sells short on "
        "any symbol, as on TradingView, but a spot account cannot sell what it does not hold. "
        "Run it on perp data (Backtest page: Data; CLI: --market perp) for shorts an exchange "
        "would take, with their funding.")
    assert notes.spot_short_note(spot, 12).startswith("12 short trades were taken")


def test_no_short_note_where_the_shorts_are_possible_or_absent() -> None:
    assert notes.spot_short_note(SPOT, 0) is None
    margin = BacktestConfig(symbol="BTCUSDT", timeframe="1h", margin=MarginModel(spot_margin=True))
    assert notes.spot_short_note(margin, 5) is None
    perp = BacktestConfig(symbol="BTCUSDT", timeframe="1h", market="perp")
    assert notes.spot_short_note(perp, 5) is None


def test_refusals_and_open_trades_each_get_one_sentence() -> None:
    lines = notes.warnings_for({"orders_rejected_short_not_allowed": 28.0,
                                "orders_rejected_below_min_notional": 1.0,
                                "open_trades_at_end": 1.0, "fees_paid": 12.0})
    assert lines[0].startswith("28 short entries were refused: spot market without margin")
    assert lines[1].startswith("1 order was refused: below the symbol's minimum notional")
    assert lines[2].startswith("1 trade was still open at the end and left open")
    assert notes.warnings_for({"fees_paid": 3.0}) == []


def test_range_note_only_when_a_bar_or_more_is_missing() -> None:
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-12-01",
                            end="2025-03-31")
    first, last = pd.Timestamp("2024-12-01 00:00"), pd.Timestamp("2024-12-31 23:00")
    assert "cover only 2024-12-01 00:00 to 2024-12-31 23:00 UTC" in notes.range_note(
        config, first, last)
    whole = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-12-01",
                           end="2024-12-31")
    assert notes.range_note(whole, first, last) is None


def test_run_warnings_counts_the_short_column_closed_and_open() -> None:
    """Results and `pineopt backtest` take a run's warnings from here: the refusals of its cost
    split, then its shorts on spot (closed and still open, from the Short column)."""
    by_kind = {"short": {"total_closed_trades": 2.0, "total_open_trades": 1.0}}
    lines = notes.run_warnings(SPOT, {"orders_rejected_risk_halt": 1.0}, by_kind)
    assert lines[0].startswith("1 order was refused: placed while a risk rule halted")
    assert lines[1].startswith("3 short trades were taken on spot data without margin")
    assert notes.run_warnings(SPOT, {}, {"short": {"total_closed_trades": 0.0}}) == []
