"""process_orders_on_close=true (pine.md R1): market orders fill at the signal bar's close."""

from __future__ import annotations

from core.engine import backtest as engine
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.pine.translation.api import translate
from sandbox.child import load_strategy_class
from tests.unit.pine.harness import (CASH, assert_same_trades, load_bars, run_twin, with_gaps)
from tests.unit.pine.test_fidelity_market import MA2LineTwin

SOURCE = '''//@version=5
strategy("MA2 on close", overlay=true, process_orders_on_close=true)
fast = ta.sma(close, 9)
slow = ta.sma(close, 18)
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.entry("S", strategy.short)
'''


def _run_on_close(bars):  # noqa: ANN001, ANN202 - test helper
    cls = load_strategy_class(translate(SOURCE).python_source)
    settings = engine.EngineSettings(cash_usdt=CASH, lot_step_coins=1e-8, trade_on_close=True)
    return engine.run(cls, bars, settings).trades


def test_market_orders_fill_at_the_signal_close_on_gapped_bars(settings) -> None:  # noqa: ANN001
    bars = with_gaps(load_bars(settings))  # opens differ from the previous close
    got = _run_on_close(bars)
    twin_settings = engine.EngineSettings(cash_usdt=CASH, lot_step_coins=1e-8,
                                          trade_on_close=True)
    want = engine.run(MA2LineTwin, bars, twin_settings).trades
    assert_same_trades(got, want)
    closes = bars["Close"].to_numpy()
    assert (got["EntryPrice"].to_numpy() == closes[got["EntryBar"].to_numpy()]).all()
    default = run_twin(MA2LineTwin, bars)  # next-open fills: different prices
    assert not (default["EntryPrice"].to_numpy()[:5] == got["EntryPrice"].to_numpy()[:5]).all()


def test_pipeline_runs_a_process_orders_on_close_strategy(settings) -> None:  # noqa: ANN001
    from core.runs import service as runs
    from core.strategies import crud as strategies

    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="ooc"), source=SOURCE,
                             language=Language.PINE)
    run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30",
        cash_usdt=CASH))
    assert run.status is RunStatus.COMPLETED, run.error
    trades = runs.run_trades(settings.db_path, run.id)
    assert len(trades) > 0
