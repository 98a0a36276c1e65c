"""Spine figures: a small run submitted -> stored, and 525,600 minute bars end to end.

Each is compared with plain backtesting.py run in-process on the same data and settings.
"""

from __future__ import annotations

import warnings

import pandas as pd

from bench.common import best_of, minute_bars, row, store_bars, temp_settings
from core.market import catalogue as market_data
from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import REPO_ROOT, Settings

SOURCE = (REPO_ROOT / "examples" / "sma_cross.py").read_text()


def _plain(data: pd.DataFrame, *, cash: float, commission: float) -> None:
    from backtesting import Backtest
    from sandbox.child import load_strategy_class

    cls = load_strategy_class(SOURCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, cls, cash=cash, commission=commission, finalize_trades=True).run()


def _ours(settings: Settings, sid: int, config: BacktestConfig) -> None:
    run = runs.run_sync(settings, strategy_id=sid, config=config, force=True)
    if run.status is not RunStatus.COMPLETED:
        raise RuntimeError(f"bench run failed: {run.status.value}: {run.error}")


def run() -> list[dict[str, object]]:
    """Measure both spine figures."""
    out = []
    with temp_settings() as settings:
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=SOURCE)
        small = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                               end="2024-12-31", cash_usdt=1_000_000.0, commission=0.001)
        data = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                      symbol="BTCUSDT", timeframe="1h", start=small.start,
                                      end=small.end)
        ours = best_of(lambda: _ours(settings, sid, small))
        base = best_of(lambda: _plain(data, cash=1_000_000.0, commission=0.001))
        out.append(row("S1 1y of 1h bars: submit -> stored (firejail)", ours, baseline=base,
                       target="<= 1.0 s"))
        minutes = minute_bars()
        store_bars(settings, minutes, symbol="BENCHUSDT", timeframe="1m")
        big = BacktestConfig(exchange="bench", symbol="BENCHUSDT", timeframe="1m",
                             cash_usdt=1_000_000.0, commission=0.001)
        ours_big = best_of(lambda: _ours(settings, sid, big), repeat=1)
        base_big = best_of(lambda: _plain(minutes, cash=1_000_000.0, commission=0.001), repeat=1)
        out.append(row("S2 525,600 1m bars end to end (firejail)", ours_big, baseline=base_big,
                       target="<= 1.15x"))
    return out


if __name__ == "__main__":
    for r in run():
        print(r)
