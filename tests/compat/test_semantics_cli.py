"""`pineopt backtest` as a backtesting.py user runs it: refused orders are never silent, and
``--semantics backtesting`` gives backtesting.py's own figures for its Quick Start strategy."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from backtesting import Backtest

from core.market import catalogue as market_data
from core.settings import load_settings
from tests.integration.test_spine_cli import pineopt

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

QUICK_START = '''from backtesting import Strategy
from backtesting.lib import crossover
from backtesting.test import SMA


class SmaCross(Strategy):
    n1 = 10
    n2 = 20

    def init(self):
        close = self.data.Close
        self.sma1 = self.I(SMA, close, self.n1)
        self.sma2 = self.I(SMA, close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()
'''
WINDOW = ["--symbol", "BTCUSDT", "--timeframe", "1d", "--start", "2022-01-01", "--end",
          "2024-12-31", "--cash", "10000000", "--commission", "0.002"]


@pytest.fixture
def quick_start(tmp_path: Path) -> Path:
    path = tmp_path / "sma_cross_quickstart.py"
    path.write_text(QUICK_START)
    return path


def test_default_crypto_run_says_how_many_shorts_were_refused(home: Path,
                                                              quick_start: Path) -> None:
    done = pineopt("backtest", str(quick_start), *WINDOW, "--json", home=home)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    refused = int(out["costs"]["orders_rejected_short_not_allowed"])
    assert refused > 5
    assert out["warnings"][0] == (f"{refused} short entries were refused: spot market without "
                                  "margin — enable margin (Backtest page: Margin; CLI: "
                                  "--spot-margin) or use a perp.")
    text = pineopt("backtest", str(quick_start), *WINDOW, home=home)
    assert f"  warning: {refused} short entries were refused" in text.stdout.splitlines()[1]
    assert "deprecat" not in done.stderr + text.stderr + text.stdout


def test_backtesting_semantics_give_backtesting_py_figures(home: Path, quick_start: Path) -> None:
    done = pineopt("backtest", str(quick_start), *WINDOW, "--semantics", "backtesting", "--json",
                   home=home)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    data = market_data.load_ohlcv(load_settings({"PINEOPT_HOME": str(home)}).db_path,
                                  exchange="sample", market="spot", symbol="BTCUSDT",
                                  timeframe="1d", start="2022-01-01", end="2024-12-31")
    namespace: dict = {}
    exec(compile(QUICK_START, "quick_start", "exec"), namespace)  # noqa: S102 - our source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = Backtest(data, namespace["SmaCross"], cash=10_000_000, commission=0.002).run()
    assert out["trades"] == want["# Trades"] > 20
    assert out["metrics"]["total_return"] == pytest.approx(want["Return [%]"] / 100, abs=1e-12)
    assert out["costs"]["orders_rejected"] == 0
    held = len(want["_strategy"].trades)
    assert out["costs"].get("open_trades_at_end", 0) == held
    assert any("still open at the end" in w for w in out["warnings"]) == bool(held)
    assert "deprecat" not in done.stderr


def test_backtesting_semantics_refuse_perpetuals_with_the_fix(home: Path,
                                                              quick_start: Path) -> None:
    done = pineopt("backtest", str(quick_start), *WINDOW, "--semantics", "backtesting",
                   "--market", "perp", home=home)
    assert done.returncode == 1
    assert "needs market spot" in done.stderr and done.stderr.startswith("pineopt: ")
