"""Shared test helpers: sample bars, running a .pine file or a hand-written twin through the
engine exactly as the sandbox child does, and comparing trade lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from backtesting import Strategy

from core.engine import backtest as engine
from core.market import catalogue as market_data
from core.pine.translation.api import translate
from core.sizing import coins
from core.strategies.validation import validate_python
from sandbox.child import load_strategy_class

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "pine"
CASH = 1_000_000.0


def load_bars(settings: object, start: str = "2023-01-01", end: str = "2023-03-01") -> pd.DataFrame:
    """Hourly BTCUSDT sample bars from the test store."""
    return market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                  symbol="BTCUSDT", timeframe="1h", start=start, end=end)


def with_gaps(bars: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """The bars with opens moved away from the previous close (gaps), ranges widened to match."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    shift = rng.normal(0, 0.004, len(out)) * out["Close"].to_numpy()
    out["Open"] = out["Open"] + shift
    out["High"] = out[["High", "Open"]].max(axis=1)
    out["Low"] = out[["Low", "Open"]].min(axis=1)
    return out


def engine_settings(commission: float = 0.0) -> engine.EngineSettings:
    """Engine settings for Pine fidelity runs as core.runs.pine_run sets them: exact fractional coins
    (lot step 1e-8), mirror mode, trades open at the end closed at the last close."""
    return engine.EngineSettings(cash_usdt=CASH, commission=commission, lot_step_coins=1e-8,
                                 mirror=True, finalize_at_close=True)


def run_source(source: str, bars: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
    """Translate, load under the sandbox guards, run through core.engine; the trades."""
    translation = translate(source)
    assert validate_python(translation.python_source) == []
    cls = load_strategy_class(translation.python_source)
    commission = translation.strategy_settings["commission"]
    return engine.run(cls, bars, engine_settings(commission), params=params or {}).trades


def run_example(name: str, bars: pd.DataFrame) -> pd.DataFrame:
    """Trades of examples/pine/<name>.pine on ``bars``."""
    return run_source((EXAMPLES / f"{name}.pine").read_text(), bars)


def run_twin(cls: type, bars: pd.DataFrame) -> pd.DataFrame:
    """Trades of a hand-written Strategy on ``bars`` through the same engine."""
    return engine.run(cls, bars, engine_settings()).trades


def assert_same_trades(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same entries and exits bar for bar, same prices and sizes."""
    assert len(want) > 0, "the twin made no trades: the comparison would prove nothing"
    assert len(got) == len(want), f"{len(got)} trades vs the twin's {len(want)}"
    for column in ("EntryBar", "ExitBar"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
    for column in ("EntryPrice", "ExitPrice"):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   want[column].to_numpy(dtype=float), rtol=1e-9)
    # sizes: equal up to one 1e-8 lot step (equity sums differ in the last float bits)
    np.testing.assert_allclose(got["Size"].to_numpy(dtype=float),
                               want["Size"].to_numpy(dtype=float), rtol=0, atol=2.1e-8)


def size_of(qty: float) -> object:
    """backtesting.py size for a coin quantity (whole numbers stay ints)."""
    whole = round(qty)
    return int(whole) if whole >= 1 and abs(qty - whole) < 1e-9 else coins(qty * (1 + 1e-12))


class TwinBase(Strategy):
    """Helpers for hand-written twins: Pine's market entry with reversal and pyramiding 0."""

    def enter(self, side: int, qty: float = 1.0) -> None:
        """Pine strategy.entry at market: refused when already in ``side``; reverses otherwise."""
        pos = self.position.size
        if pos * side > 0:
            return
        total = qty + abs(pos)
        (self.buy if side > 0 else self.sell)(size=size_of(total))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Full-length Open, High, Low, Close as floats (call in init)."""
        d = self.data
        return tuple(np.asarray(x, dtype=float) for x in (d.Open, d.High, d.Low, d.Close))

    @property
    def i(self) -> int:
        """Index of the current bar."""
        return len(self.data) - 1
