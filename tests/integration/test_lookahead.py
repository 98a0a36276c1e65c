"""The lookahead check through the real sandbox: a strategy that peeks at the next bar is
flagged with its bar, indicator and line; the bundled Python and Pine examples pass; every user
error of `pineopt lookahead` gets one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.model import BacktestConfig, Language
from core.settings import Settings
from core.studies import lookahead
from tests.conftest import REPO

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-03-31")
PEEK = '''import pandas as pd
from backtesting import Strategy


def next_close(values):
    """Tomorrow's close, known today: lookahead."""
    return pd.Series(values).shift(-1)


class Peek(Strategy):
    def init(self):
        self.tomorrow = self.I(next_close, self.data.Close)

    def next(self):
        if self.tomorrow[-1] > self.data.Close[-1]:
            if not self.position:
                self.buy()
        elif self.position:
            self.position.close()
'''


def _check(settings: Settings, source: str, language: Language = Language.PYTHON,
           cuts: int = 3) -> lookahead.Report:
    prepared = lookahead.prepare(settings, name="test", source=source, language=language,
                                 config=CONFIG)
    return lookahead.check(settings, prepared, cuts=cuts)


def test_a_strategy_peeking_at_the_next_bar_is_flagged(settings: Settings) -> None:
    report = _check(settings, PEEK)
    assert not report.passed and len(report.cuts) == 3
    flagged = [f for f in report.findings if f.kind == "indicator"]
    assert {f.cut for f in flagged} == set(report.cuts)  # every cut shows it
    first = flagged[0]
    assert first.name == "next_close(C)" and first.line == 12
    # at the last bar the truncated run closes (no tomorrow): that order names its line
    assert {f.line for f in report.findings if f.kind == "order"} <= {17, 19}
    assert first.bar == first.cut and first.truncated == "NaN"  # the last bar has no tomorrow


PEEK_ORDERS = '''import numpy as np
from backtesting import Strategy


class PeekOrders(Strategy):
    def init(self):
        close = np.asarray(self.data.Close)
        self.up_next = np.append(close[1:] > close[:-1], False)  # the next bar's move

    def next(self):
        i = len(self.data) - 1
        if self.up_next[i] and not self.position:
            self.buy()
        elif not self.up_next[i] and self.position:
            self.position.close()
'''


def test_orders_placed_with_the_next_bar_are_flagged_with_their_line(settings: Settings) -> None:
    report = _check(settings, PEEK_ORDERS, cuts=4)
    assert not report.passed and report.indicators == []
    assert report.findings and {f.kind for f in report.findings} == {"order"}
    assert {f.line for f in report.findings} <= {13, 15} and all(f.line for f in report.findings)
    assert all(f.bar == f.cut for f in report.findings)  # the last bar's order differs
    assert all(f"(line {f.line})" in f.text() for f in report.findings)


PINE_FUTURE = """//@version=5
strategy("Peek at the end", overlay=true)
fast = ta.sma(close, 10)
plot(fast, "Fast MA")
plot(last_bar_index - bar_index, "Bars left")
if bar_index == last_bar_index - 40
    strategy.entry("L", strategy.long)
if bar_index == last_bar_index - 20
    strategy.close("L")
"""


def test_a_pine_script_using_the_last_bar_is_flagged_with_its_pine_lines(
        settings: Settings) -> None:
    report = _check(settings, PINE_FUTURE, Language.PINE, cuts=3)
    flagged = {(f.kind, f.name, f.line) for f in report.findings}
    assert ("indicator", "plot Bars left", 5) in flagged
    assert all(f.name != "plot Fast MA" for f in report.findings)
    orders = [f for f in report.findings if f.kind == "order"]
    assert orders and {f.line for f in orders} <= {7, 9}


@pytest.mark.parametrize("example", ["sma_cross.py", "macd_trend.py", "donchian_atr.py",
                                     "pine/moving_avg_2line_cross.pine", "pine/supertrend.pine"])
def test_bundled_examples_pass(settings: Settings, example: str) -> None:
    path = REPO / "examples" / example
    language = Language.PINE if path.suffix == ".pine" else Language.PYTHON
    report = _check(settings, path.read_text(), language, cuts=2)
    assert report.passed, [f.text() for f in report.findings]
    assert report.orders > 0
    assert language is Language.PINE or report.indicators


PLOTTING = """//@version=5
strategy("Plot demo", overlay=true)
fast = ta.sma(close, 10)
slow = ta.sma(close, 30)
plot(fast, title="Fast MA")
plot(slow, "Slow MA")
plot(last_bar_index - bar_index, "Bars left")
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("L")
"""


def test_pine_plots_are_compared_and_last_bar_index_is_flagged(settings: Settings) -> None:
    honest = _check(settings, PLOTTING.replace('plot(last_bar_index - bar_index, "Bars left")\n',
                                               ""), Language.PINE, cuts=2)
    assert honest.passed, [f.text() for f in honest.findings]
    assert honest.indicators == ["plot Fast MA", "plot Slow MA"]
    peeking = _check(settings, PLOTTING, Language.PINE, cuts=2)
    assert {f.name for f in peeking.findings} == {"plot Bars left"}
    assert all(f.bar == CONFIG.start + " 00:00:00" for f in peeking.findings)  # from bar 0


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), "lookahead", *args], env=env,
                          text=True, capture_output=True, check=False, cwd=REPO)


def test_cli_reports_lookahead_with_exit_3_and_json(home: Path, tmp_path: Path) -> None:
    peek = tmp_path / "peek.py"
    peek.write_text(PEEK)
    done = _cli(home, str(peek), "--symbol", "BTCUSDT", "--timeframe", "4h", "--start",
                "2024-01-01", "--end", "2024-02-29", "--cuts", "2", "--json")
    assert done.returncode == 3, done.stderr
    out = json.loads(done.stdout)
    assert out["passed"] is False and out["findings"][0]["line"] == 12
    assert all(f["line"] in (12, 17, 19) for f in out["findings"])
    text = _cli(home, str(peek), "--symbol", "BTCUSDT", "--timeframe", "4h", "--start",
                "2024-01-01", "--end", "2024-02-29", "--cuts", "2")
    assert text.returncode == 3 and "next_close(C) (line 12)" in text.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--cuts", "0"], "between 1 and 50"),
    (["--symbol", "NOPEUSDT"], "NOPEUSDT"),
    (["--start", "2024-01-01", "--end", "2024-01-02"], "at least 30"),
    (["--param", "fsat=3"], "fsat"),
])
def test_cli_user_errors_are_one_clear_line(home: Path, args: list[str], needle: str) -> None:
    base = {"--symbol": "BTCUSDT", "--timeframe": "4h", "--start": "2024-01-01",
            "--end": "2024-02-29"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flags = [x for pair in base.items() for x in pair if pair[0] != "--param"]
    flags += ["--param", base["--param"]] if "--param" in base else []
    done = _cli(home, str(REPO / "examples" / "sma_cross.py"), *flags)
    assert done.returncode == 1, done.stdout
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_refuses_an_invalid_strategy_with_its_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom backtesting import Strategy\n\n\nclass S(Strategy):\n"
                   "    def init(self):\n        pass\n\n    def next(self):\n        pass\n")
    done = _cli(home, str(bad), "--symbol", "BTCUSDT", "--timeframe", "4h")
    assert done.returncode == 1 and "does not validate" in done.stderr
    assert "line 1" in done.stderr.lower() or "1:" in done.stderr
