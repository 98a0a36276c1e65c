"""Engine speed: PineOpt's crypto broker vs plain backtesting.py, in-process, one year of 1m bars.

`run()` returns rows {"name", "seconds", "baseline_seconds", "ratio", "target"} for the lead's
bench table. Both sides run the same SMA-cross strategy on the same 525,600 synthetic 1-minute
bars; times are the best of ``REPEATS`` alternating runs (the machine is shared). The target is
a ratio of at most 1.15 (engine / plain backtesting.py).
Run directly: `python bench/engine_bench.py`.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BARS = 525_600  # one year of 1-minute bars
REPEATS = 2
TARGET_RATIO = 1.15


def bars(n: int = BARS, seed: int = 1) -> pd.DataFrame:
    """A random-walk BTC-like year of 1-minute OHLCV bars."""
    rng = np.random.default_rng(seed)
    close = 60_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) * 1.0005,
                         "Low": np.minimum(open_, close) * 0.9995, "Close": close, "Volume": 1.0},
                        index=pd.date_range("2024-01-01", periods=n, freq="1min"))


def strategy() -> type:
    """SMA 50/200 cross, long and short, full size: a typical minute-bar workload."""
    from backtesting import Strategy
    from backtesting.lib import crossover

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 50)
            self.slow = self.I(sma, self.data.Close, 200)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    return SmaCross


def _plain(data: pd.DataFrame, cls: type) -> float:
    from backtesting import Backtest

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, cls, cash=10_000_000, finalize_trades=True).run()
    return time.perf_counter() - start


def _engine(data: pd.DataFrame, cls: type, settings: dict, funding: pd.Series | None) -> float:
    from core.engine import backtest as engine

    start = time.perf_counter()
    engine.run(cls, data, engine.EngineSettings(**settings), funding=funding,
               progress=lambda _done, _total: None)
    return time.perf_counter() - start


def cases(data: pd.DataFrame) -> list[tuple[str, dict, pd.Series | None]]:
    """(name, engine settings, funding) per row."""
    from core.runs import costs

    plain = {"cash_usdt": 10_000_000}
    perp = {**plain, "maker_fee_rate": 0.0002, "taker_fee_rate": 0.0005, "slippage_bps": 2,
            "lot_step_coins": 0.001, "min_notional_usdt": 5, "perp": True, "margin": 0.5,
            "maintenance_margin_rate": 0.004, "liquidation_fee_rate": 0.005,
            "max_daily_loss": 0.5}
    funding = costs.constant_funding(index=data.index, rate_8h=0.0001)
    return [("engine 525,600 1m bars, realism off (parity)", plain, None),
            ("engine 525,600 1m bars, perp 2x fees slippage funding daily-loss rule", perp,
             funding)]


def run() -> list[dict]:
    """Bench rows: engine seconds vs plain backtesting.py seconds on the same bars."""
    data = bars()
    cls = strategy()
    rows = []
    for name, settings, funding in cases(data):
        base, mine = [], []
        for _ in range(REPEATS):
            base.append(_plain(data, cls))
            mine.append(_engine(data, cls, settings, funding))
        rows.append({"name": name, "seconds": round(min(mine), 3),
                     "baseline_seconds": round(min(base), 3),
                     "ratio": round(min(mine) / min(base), 3), "target": f"<= {TARGET_RATIO}"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
