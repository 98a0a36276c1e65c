"""A run requested without dates (API body or CLI without --start/--end) stores the range it
used, the first and last day of its bars, never empty strings."""

from __future__ import annotations

from core.market import catalogue as market_data
from core.model import BacktestConfig, StrategyMeta
from core.runs import service as runs
from core.settings import Settings
from core.strategies import crud as strategies


def test_undated_request_stores_the_range_it_used(settings: Settings, sma_source: str) -> None:
    sid, _v = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                      source=sma_source)
    bars = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                  symbol="BTCUSDT", timeframe="1h")
    run = runs.request_run(settings, strategy_id=sid,
                           config=BacktestConfig(symbol="BTCUSDT", timeframe="1h"))
    stored = runs.get_run(settings.db_path, run.id).config
    assert (stored.start, stored.end) == (f"{bars.index[0]:%Y-%m-%d}",
                                          f"{bars.index[-1]:%Y-%m-%d}")
    dated = runs.request_run(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-01-31"))
    assert (dated.config.start, dated.config.end) == ("2024-01-01", "2024-01-31")
