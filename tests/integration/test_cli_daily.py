"""The CLI's daily-use contract: --version, `-o -`, status on stderr, one-line errors (JSON with
--json), an unusable PINEOPT_HOME, `runs list` filters, `runs show`, one metric set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120, check=False)


def test_version_and_unusable_home(tmp_path: Path) -> None:
    version = _run("--version", home=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("pineopt ")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for home, problem in ((a_file, "is a file, not a folder"),
                          (a_file / "sub", "cannot be created")):
        done = _run("runs", "list", home=home)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"PINEOPT_HOME={home} {problem}" in done.stderr
        assert "point PINEOPT_HOME at a writable folder" in done.stderr
        as_json = _run("runs", "list", "--json", home=home)
        assert problem in json.loads(as_json.stdout)["error"]


def _backtest(fast: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli.main(["backtest", str(EXAMPLE), "--symbol", "BTCUSDT", "--timeframe", "4h",
                     "--start", "2024-01-01", "--end", "2024-06-30", "--param", f"fast={fast}",
                     "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_runs_filters_show_report_stdout_and_one_metric_set(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _backtest("10", capsys), _backtest("12", capsys)

    assert cli.main(["report", str(first["run_id"]), "--format", "json", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)  # the document alone on stdout; the status line on stderr
    assert err.startswith("wrote stdout (") and "json" in err
    assert set(report["metrics"]) == set(first["metrics"])
    assert report["metrics"]["total_return"] == first["metrics"]["total_return"]

    assert cli.main(["runs", "list", "--json", "--limit", "1"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == [second["run_id"]]
    assert listed[0]["params_changed"] == {"fast": 12}
    assert cli.main(["runs", "list", "--json", "--status", "crashed"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli.main(["runs", "list", "--json", "--strategy", "SMA_CR"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [second["run_id"],
                                                                          first["run_id"]]
    assert listed[0]["start"] == "2024-01-01" and listed[0]["end"] == "2024-06-30"
    assert cli.main(["runs", "list", "--limit", "1"]) == 0
    head, row = capsys.readouterr().out.splitlines()[:2]
    assert "DATES" in head and "ORIGIN" in head and "FROM" not in head
    assert "2024-01-01 → 2024-06-30" in row
    assert cli.main(["runs", "list", "--strategy", "nothing-like-it"]) == 0
    assert capsys.readouterr().out.strip() == "no runs match these filters"

    assert cli.main(["runs", "show", str(first["run_id"])]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"run {first['run_id']}: completed · sma_cross v1") and "fast=10" in text
    assert cli.main(["runs", "show", "999", "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "Run 999 does not exist; `pineopt runs list` shows the "
                                        "ids."}
    assert err.startswith("pineopt: Run 999")


def test_a_backtest_past_the_stored_bars_says_which_it_used(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The sample bars end on 2024-12-31: a run to 2025-03-31 completes on what is stored and
    says so (it was silent, and `runs list` showed the requested dates only)."""
    assert cli.main(["backtest", str(EXAMPLE), "--symbol", "BTCUSDT", "--timeframe", "4h",
                     "--start", "2024-12-01", "--end", "2025-03-31", "--json"]) == 0
    past = json.loads(capsys.readouterr().out)
    assert past["warnings"] == [
        "The stored BTCUSDT 4h bars cover only 2024-12-01 00:00 to 2024-12-31 20:00 UTC of the "
        "requested 2024-12-01 to 2025-03-31: the run used those bars (the Data page imports or "
        "fetches more; `pineopt data list` shows what is stored)."]
    inside = _backtest("10", capsys)
    assert inside["warnings"] == []
