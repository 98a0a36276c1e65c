"""The engine golden: the engine's trades, equity and risk events with realism on are pinned.

If engine behaviour changes on purpose, run `python scripts/regenerate_engine_golden.py`, read
the diff, and re-run it with --accept; never edit the CSV files by hand.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.golden import engine_golden


@pytest.fixture(scope="module")
def fresh() -> dict[str, pd.DataFrame]:
    """This run's frames, read back through CSV like the pinned ones."""
    texts = engine_golden.as_csv(engine_golden.run())
    return {name: pd.read_csv(io.StringIO(text), keep_default_na=False)
            for name, text in texts.items()}


@pytest.mark.parametrize("name", ["trades", "equity", "events"])
def test_engine_output_matches_the_pinned_csv(fresh: dict[str, pd.DataFrame], name: str) -> None:
    pinned = pd.read_csv(engine_golden.paths()[name], keep_default_na=False)
    pd.testing.assert_frame_equal(fresh[name], pinned, check_exact=False, rtol=1e-9, atol=1e-9,
                                  obj=f"{name} (scripts/regenerate_engine_golden.py shows the diff)")


def test_the_golden_run_exercises_every_realism_setting() -> None:
    trades = pd.read_csv(engine_golden.TRADES_CSV, keep_default_na=False)
    reasons = set(trades["ExitReason"])
    assert {"signal", "take_profit", "liquidation"} <= reasons
    assert (trades["Size"] < 0).any() and (trades["Size"] > 0).any()  # longs and shorts
    assert (trades["Funding"] != 0).sum() > len(trades) // 2  # perp: funding paid and received
    assert (trades.loc[trades["ExitReason"] == "signal", "Slippage"] > 0).all()  # market fills
    assert (trades["Commission"] > 0).all()
    events = pd.read_csv(engine_golden.EVENTS_CSV, keep_default_na=False)
    assert {"default_take_profit", "liquidation"} <= set(events["rule"])


def test_the_pinned_equity_covers_every_bar_of_the_run() -> None:
    equity = pd.read_csv(engine_golden.EQUITY_CSV, index_col="time", parse_dates=["time"])
    assert equity.index[0] == pd.Timestamp(engine_golden.START)
    assert equity.index[-1] == pd.Timestamp("2022-12-31 20:00")
    assert equity["equity"].iloc[0] == engine_golden.SETTINGS["cash_usdt"]
