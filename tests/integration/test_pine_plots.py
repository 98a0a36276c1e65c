"""Pine plot() series: recorded in the sandbox, checked by the parent, stored, drawn in Results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.market import catalogue as market_data
from core.runs import pine_run, service as runs
from core.strategies import crud as strategies
from core.errors import SandboxError
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from ui import services

REPO = Path(__file__).resolve().parents[2]
PLOTTING = '''//@version=5
strategy("Plot demo", overlay=true)
fast = ta.sma(close, 10)
slow = ta.sma(close, 30)
plot(fast, title="Fast MA", color=color.blue)
plot(slow, "Slow MA")
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("L")
'''
CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30")


def test_plots_are_stored_with_the_run_and_drawn(settings: Settings) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="plots"), source=PLOTTING,
                             language=Language.PINE)
    run = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.COMPLETED, run.error
    plots = runs.run_plots(settings.db_path, run.id)
    assert list(plots.columns) == ["Fast MA", "Slow MA"]
    close = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                   symbol="BTCUSDT", timeframe="4h", start=CONFIG.start,
                                   end=CONFIG.end)["Close"]
    expected = close.rolling(10).mean().dropna()
    assert np.allclose(plots["Fast MA"].dropna().to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert plots["Slow MA"].first_valid_index() == close.index[29]  # ta.sma warm-up: n-1 bars

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_RUN] = run.id
    at.session_state["results_tab"] = "Price"  # plot() series are drawn on the Price tab
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("plot() series" in m.value for m in at.markdown)


def test_forged_plots_are_rejected(tmp_path: Path) -> None:
    data = pd.DataFrame({"Close": [1.0, 2.0, 3.0]},
                        index=pd.date_range("2024-01-01", periods=3, freq="1h"))
    (tmp_path / "plots.parquet").write_bytes(b"not parquet")
    with pytest.raises(SandboxError, match="plots.parquet is not a valid Parquet file"):
        pine_run.read_plots(tmp_path, data)
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(tmp_path / "plots.parquet")
    with pytest.raises(SandboxError, match="3 bars"):
        pine_run.read_plots(tmp_path, data)
    pd.DataFrame({"x": [1.0, np.inf, 2.0]}).to_parquet(tmp_path / "plots.parquet")
    with pytest.raises(SandboxError, match="finite"):
        pine_run.read_plots(tmp_path, data)
    pd.DataFrame({f"p{i}": [1.0] * 3 for i in range(40)}).to_parquet(tmp_path / "plots.parquet")
    with pytest.raises(SandboxError, match="at most 32"):
        pine_run.read_plots(tmp_path, data)
