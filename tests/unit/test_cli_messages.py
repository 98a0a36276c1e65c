"""Messages and text output of the CLI as a user reads them: a Pine error's position said
once, the Pine slippage refusal, the metric table's one value column, counts as integers, and a
closed pipe (`| head`) ending the command quietly."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from clicmd import common
from core.errors import ConfigError
from core.model import BacktestConfig
from core.runs import pine_run

REPO = Path(__file__).resolve().parents[2]
BAD_PINE = ('//@version=5\nstrategy("bad")\nplot(ta.sma((close, 10))\n')


def test_pine_error_says_its_position_once(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad.pine"
    bad.write_text(BAD_PINE)
    assert cli.main(["validate", str(bad)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"{bad}:3:") and ": error: " in line
    assert "line 3" not in line and "col " not in line


def test_pine_slippage_refusal_is_one_clear_sentence() -> None:
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h")
    config = dataclasses.replace(config, costs=dataclasses.replace(config.costs,
                                                                   slippage_bps=5.0))
    with pytest.raises(ConfigError) as caught:
        pine_run.check_config(config)
    assert str(caught.value) == (
        "A Pine strategy takes slippage and risk rules from its own source, as on TradingView: "
        "slippage in basis points (--slippage-bps 5) would be ignored: remove --slippage-bps "
        "(Backtest page: set it to 0) and put strategy(slippage=N) (N in ticks) in the script "
        "instead.")


def test_metric_lines_share_one_value_column_and_counts_are_integers() -> None:
    pairs = [("Total return", "12.00%"), ("Expectancy (mean trade return)", "0.28%"),
             ("liquidations", common.split_text("liquidations", 0.0)),
             ("orders rejected", common.split_text("orders_rejected", 3.0)),
             ("orders rejected margin", common.split_text("orders_rejected_margin", 2.0)),
             ("fees paid", common.split_text("fees_paid", 1.5))]
    lines = common.labelled(pairs)
    starts = {line.index(value) for line, (_, value) in zip(lines, pairs, strict=True)}
    assert len(starts) == 1
    assert [line.split()[-1] for line in lines[2:]] == ["0", "3", "2", "1.5000"]


def _closed_pipe_run(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout a pipe whose reader has already gone (as after `| head`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, str(REPO / "cli.py"), *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, check=False, cwd=REPO)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("argv", [["validate", "examples/sma_cross.py"],
                                  ["runs", "list", "--json"]])
def test_a_reader_that_left_ends_the_command_quietly(home: Path, argv: list[str]) -> None:
    done = _closed_pipe_run(*argv)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
