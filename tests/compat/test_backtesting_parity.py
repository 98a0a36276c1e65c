"""backtesting.py's own idioms run unchanged through the lab under backtesting.py semantics and
give backtesting.py's numbers: through validation, the firejail sandbox, the host's result
checks and the store, every trade equals plain ``Backtest(data, cls, cash, commission).run()``
on the same bars, and the equity curve matches within 1e-6.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest

from core.runs import config_file, service as runs, semantics
from core.market import catalogue as market_data
from core.strategies import crud as strategies, validation
from core.model import RunStatus, StrategyMeta
from core.settings import Settings
from tests.compat.patterns import PATTERNS, Pattern

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CASH = 100_000.0
COMMISSION = 0.002
WINDOW = {"exchange": "sample", "market": "spot", "symbol": "ETHUSDT", "timeframe": "1d",
          "start": "2022-01-01", "end": "2024-12-31"}


def _plain(pattern: Pattern, data: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """The pattern run by plain backtesting.py, as its user would, on the same bars, and the
    warnings it emitted (its broker reports orders cancelled for want of margin only there)."""
    namespace: dict = {}
    exec(compile(pattern.source, pattern.name, "exec"), namespace)  # noqa: S102 - our patterns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # recorded, never raised: its notices and pandas'
        stats = Backtest(data, namespace[pattern.run_class], cash=CASH,
                         commission=COMMISSION).run()
    return stats, [f"{w.category.__name__}: {w.message}" for w in caught]


def _lab(settings: Settings, pattern: Pattern) -> runs.RunRecord:
    mapping = config_file.merge({**WINDOW, "cash_usdt": CASH},
                                semantics.defaults("backtesting", commission=COMMISSION))
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name=pattern.name),
                             source=pattern.source)
    return runs.run_sync(settings, strategy_id=sid, config=config_file.build_config(mapping))


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.name for p in PATTERNS])
def test_pattern_gives_backtesting_py_trades_and_equity(settings: Settings,
                                                        pattern: Pattern) -> None:
    assert validation.validate_python(pattern.source) == []
    run = _lab(settings, pattern)
    assert run.status is RunStatus.COMPLETED, run.error
    data = market_data.load_ohlcv(settings.db_path, **WINDOW)
    want, said = _plain(pattern, data)
    cancelled = sum("insufficient margin" in message for message in said)
    trades = want["_trades"]
    stored = runs.run_trades(settings.db_path, run.id)
    assert len(trades) > 3 and len(stored) == len(trades)
    for ours, theirs in (("size", "Size"), ("entry_bar", "EntryBar"), ("exit_bar", "ExitBar"),
                         ("entry_price", "EntryPrice"), ("exit_price", "ExitPrice"),
                         ("pnl", "PnL"), ("commission", "Commission")):
        np.testing.assert_array_equal(stored[ours].to_numpy(dtype="float64"),
                                      trades[theirs].to_numpy(dtype="float64"), err_msg=ours)
    for ours, theirs in (("entry_time", "EntryTime"), ("exit_time", "ExitTime")):
        assert list(pd.to_datetime(stored[ours])) == list(pd.to_datetime(trades[theirs])), ours
    equity = runs.run_equity(settings.db_path, run.id).to_numpy()
    expected = want["_equity_curve"]["Equity"].to_numpy()
    assert abs(equity[-1] - want["Equity Final [$]"]) <= 1e-6
    np.testing.assert_allclose(equity, expected, rtol=0, atol=1e-6)
    open_at_end = len(want["_strategy"].trades)
    split = runs.run_cost_split(settings.db_path, run.id)
    assert split.get("open_trades_at_end", 0) == open_at_end
    assert split["orders_rejected"] == split.get("orders_rejected_insufficient_margin", 0)
    assert split["orders_rejected"] == cancelled
    assert "Warning" not in run.log and "deprecated" not in run.log, run.log


def test_the_patterns_exercise_open_trades_cancellations_and_the_pandas_deprecation(
        settings: Settings) -> None:
    """What the parity test checks must occur: a trade open at the end (finalize_trades=False),
    an order backtesting.py cancels, and the deprecated pandas call backtesting.py 0.6.6 makes
    under pandas 3.1 (which the lab's run logs must never show)."""
    data = market_data.load_ohlcv(settings.db_path, **WINDOW)
    runs_ = [_plain(p, data) for p in PATTERNS]
    assert any(len(stats["_strategy"].trades) for stats, _ in runs_)
    said = [message for _, messages in runs_ for message in messages]
    assert any("insufficient margin" in m for m in said)
    assert any(m.startswith("Pandas4Warning") and "deprecated" in m for m in said)
