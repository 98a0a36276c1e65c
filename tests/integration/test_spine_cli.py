"""The `pineopt` command as a user runs it: a real process, real store, real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


def pineopt(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with PINEOPT_HOME=home."""
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300, check=False)


def test_backtest_json_then_list_and_report(home: Path, tmp_path: Path) -> None:
    done = pineopt("backtest", str(EXAMPLE), "--symbol", "BTCUSDT", "--timeframe", "1h",
                   "--start", "2024-01-01", "--end", "2024-03-31", "--param", "fast=10",
                   "--json", home=home)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) >= {"run_id", "status", "metrics", "trades"}
    assert out["status"] == "completed"
    assert out["trades"] == out["metrics"]["total_trades"] > 0

    listed = pineopt("runs", "list", "--json", home=home)
    assert listed.returncode == 0
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [out["run_id"]]

    report = tmp_path / "r.html"
    made = pineopt("report", str(out["run_id"]), "--format", "html", "-o", str(report), home=home)
    assert made.returncode == 0, made.stderr
    assert "sma_cross" in report.read_text()

    again = pineopt("backtest", str(EXAMPLE), "--symbol", "BTCUSDT", "--timeframe", "1h",
                    "--start", "2024-01-01", "--end", "2024-03-31", "--param", "fast=10",
                    "--json", home=home)
    assert json.loads(again.stdout)["run_id"] == out["run_id"]  # identical request: stored run


def test_user_errors_exit_1_with_one_line(home: Path) -> None:
    cases = [
        (["--symbol", "NOPEUSDT", "--timeframe", "1h"], "No data for sample/spot/NOPEUSDT"),
        (["--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2031-01-01"], "stored data covers"),
        (["--symbol", "BTCUSDT", "--timeframe", "1h", "--param", "fsat=3"], "Did you mean 'fast'"),
        (["--symbol", "BTCUSDT", "--timeframe", "1h", "--param", "fast=1000"], "outside its range"),
        (["--symbol", "BTCUSDT", "--timeframe", "7h"], "Unknown timeframe"),
    ]
    for extra, message in cases:
        done = pineopt("backtest", str(EXAMPLE), *extra, home=home)
        assert done.returncode == 1, (extra, done.stderr)
        assert message in done.stderr, (extra, done.stderr)
        assert done.stderr.startswith("pineopt: ")
        assert "Traceback" not in done.stderr


def test_usage_error_exits_2(home: Path) -> None:
    done = pineopt("backtest", home=home)
    assert done.returncode == 2
    assert "usage:" in done.stderr
