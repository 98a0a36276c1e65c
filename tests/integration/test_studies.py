"""Sweeps through the real firejail sandbox: each trial equals a single run of its parameters,
identical trials are copied not re-run, and a sweep killed with SIGKILL resumes with only its
missing trials and ends with exactly the trials of an uninterrupted sweep."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings
from core.studies import stats, study_store, sweep
from tests.conftest import REPO, nan_as_none

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-02-15",
                        cash_usdt=100_000.0, commission=0.001)


def test_each_trial_equals_a_single_run_and_identical_trials_are_reused(
        settings: Settings, sma_source: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    study_id = sweep.create(settings, strategy_id=sid, config=CONFIG,
                            specs={"fast": "5:10:5", "slow": "20:30:10"}, method="grid",
                            constraints=["fast < slow"], objective="total_return")
    report = sweep.run(settings, study_id, workers=2, batch_size=2)
    assert (report.status, report.executed, report.reused, report.stored) == ("completed", 4, 0, 4)
    trial_values = study_store.trial_metrics(settings.db_path, study_id)
    frame = study_store.trials_frame(settings.db_path, study_id)
    assert [p for p in frame["params"]] == [{"fast": 5, "slow": 20}, {"fast": 5, "slow": 30},
                                            {"fast": 10, "slow": 20}, {"fast": 10, "slow": 30}]
    for row in frame.itertuples():
        single = runs.run_sync(settings, strategy_id=sid,
                               config=sweep.trial_config(study_store.get_study(
                                   settings.db_path, study_id), row.params), force=True)
        assert single.status is RunStatus.COMPLETED
        assert nan_as_none(runs.run_metrics(settings.db_path, single.id)) == nan_as_none(
            trial_values[row.n])
        assert row.objective == trial_values[row.n]["total_return"]
    # an identical study copies every trial from the first one
    again = sweep.create(settings, strategy_id=sid, config=CONFIG,
                         specs={"fast": "5:10:5", "slow": "20:30:10"}, method="grid",
                         constraints=["fast < slow"])
    second = sweep.run(settings, again, workers=2, batch_size=2)
    assert (second.executed, second.reused) == (0, 4)
    # ... and its overfitting statistics: the same trials, the same DSR and PBO (a study made
    # only of copies said "deflated Sharpe: no trial with an objective yet")
    first_stats = stats.study_statistics(settings.db_path, study_id)
    copy_stats = stats.study_statistics(settings.db_path, again)
    assert "dsr" in copy_stats and copy_stats["lines"] == first_stats["lines"]
    assert nan_as_none(study_store.trial_metrics(settings.db_path, again)) == nan_as_none(
        trial_values)
    # "open as run" gives the stored single run with the same inputs and links it
    best = sweep.best_trial(settings, study_id)
    opened = sweep.open_as_run(settings, study_id, best["n"])
    assert opened.status is RunStatus.COMPLETED
    assert nan_as_none(runs.run_metrics(settings.db_path, opened.id)) == nan_as_none(
        trial_values[best["n"]])
    linked = study_store.trials_frame(settings.db_path, study_id)
    assert int(linked.loc[linked["n"] == best["n"], "run_id"].iloc[0]) == opened.id


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], env=env, text=True,
                          capture_output=True, check=False, cwd=REPO)


SWEEP = ["optimize", str(REPO / "examples" / "sma_cross.py"), "--symbol", "BTCUSDT",
         "--timeframe", "1h", "--start", "2024-01-01", "--end", "2024-01-31", "--param",
         "fast=5:15:5", "--param", "slow=20:60:20", "--constraint", "fast < slow", "--workers",
         "1", "--batch-size", "1"]


def _trials(home: Path, study_id: int) -> list[tuple]:
    shown = _cli(home, "studies", "show", str(study_id), "--json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)["trials"]
    return sorted((r["n"], json.dumps(r["params"], sort_keys=True), r["status"], r["objective"],
                   r["trades"], r["total_return"], r["max_drawdown"]) for r in rows)


def test_sigkilled_sweep_resumes_with_only_the_missing_trials(
        home: Path, template_home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), *SWEEP], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # each line is printed after a batch was committed
        seen.append(line)
        if line.startswith("stored 3 trials"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen) + proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    listed = json.loads(_cli(home, "studies", "list", "--json").stdout)
    assert [(s["id"], s["status"]) for s in listed] == [(1, "interrupted")]
    kept = _trials(home, 1)
    assert 3 <= len(kept) < 9
    resumed = _cli(home, "studies", "resume", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["status"] == "completed"
    assert summary["executed"] == 9 - len(kept) and summary["trials"] == 9
    after = _trials(home, 1)
    assert set(kept) <= set(after)  # the trials stored before the kill are untouched
    # an uninterrupted sweep in a fresh store ends with exactly the same trials
    fresh = tmp_path / "fresh"
    shutil.copytree(template_home, fresh)
    whole = _cli(fresh, *SWEEP, "--json")
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["executed"] == 9
    assert _trials(fresh, 1) == after


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_random_and_tpe_respect_budget_and_constraints(settings: Settings, sma_source: str,
                                                       method: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    study_id = sweep.create(settings, strategy_id=sid, config=CONFIG,
                            specs={"fast": "5:30:5", "slow": "20:60:10"}, method=method,
                            max_trials=6, constraints=["fast + 10 < slow"], seed=3)
    report = sweep.run(settings, study_id, workers=2, batch_size=3)
    frame = study_store.trials_frame(settings.db_path, study_id)
    assert report.status == "completed" and len(frame) == 6 == report.executed
    assert all(p["fast"] + 10 < p["slow"] for p in frame["params"])
    assert len({json.dumps(p, sort_keys=True) for p in frame["params"]}) == 6


def test_montecarlo_cli_on_a_completed_run(settings: Settings, sma_source: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import cli

    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    run = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.COMPLETED
    total = runs.run_metrics(settings.db_path, run.id)["total_return"]
    outputs = []
    for _ in range(2):
        assert cli.main(["montecarlo", str(run.id), "--paths", "300", "--seed", "5",
                         "--drawdown", "0.02", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]  # seeded
    shuffle = outputs[0]
    # one position at a time, all in: the trades compound to the run's own total return
    assert all(v == pytest.approx(total, rel=1e-9)
               for v in shuffle["percentiles"]["final_return"].values())
    dd = shuffle["percentiles"]["max_drawdown"]
    assert dd["5"] <= dd["50"] <= dd["95"] and 0 <= shuffle["prob_drawdown"] <= 1
    assert cli.main(["montecarlo", str(run.id), "--method", "block", "--paths", "200",
                     "--json"]) == 0
    block = json.loads(capsys.readouterr().out)
    low, high = block["percentiles"]["final_return"]["5"], block["percentiles"]["final_return"]["95"]
    assert low < high  # resampled days: the final return now varies
    assert cli.main(["montecarlo", "999", "--json"]) == 1
    assert "Run 999 does not exist" in capsys.readouterr().err


def test_optimize_takes_the_broker_flags_of_backtest(home: Path) -> None:
    """`pineopt optimize --market perp --leverage 3 --taker-fee ...` sweeps on those settings
    (the flags were refused: only a TOML config could set them, while the Optimize page's form
    has them): each trial equals `pineopt backtest` with the same flags."""
    flags = ["--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2024-01-01", "--end",
             "2024-01-31", "--market", "perp", "--leverage", "3", "--taker-fee", "0.0007"]
    swept = _cli(home, "optimize", str(REPO / "examples" / "sma_cross.py"), *flags,
                 "--param", "fast=10", "--param", "slow=30,40", "--json")
    assert swept.returncode == 0, swept.stderr
    listed = json.loads(_cli(home, "studies", "list", "--json").stdout)
    config = listed[0]["config"]
    assert (config["market"], config["margin"]["leverage"], config["costs"]["taker_fee_rate"]) \
        == ("perp", 3.0, 0.0007)
    trials = {r[1]: r for r in _trials(home, listed[0]["id"])}
    single = _cli(home, "backtest", str(REPO / "examples" / "sma_cross.py"), *flags,
                  "--param", "fast=10", "--param", "slow=40", "--json")
    assert single.returncode == 0, single.stderr
    done = json.loads(single.stdout)
    (trial,) = [t for key, t in trials.items() if '"slow": 40' in key]
    assert trial[5] == pytest.approx(done["metrics"]["total_return"], rel=1e-12)
