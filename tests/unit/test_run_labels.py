"""Runs are told apart in every label: the market (spot or perp) and where a run came from (a
walk-forward window's out-of-sample run, an optimisation trial), in the app's labels and in
`pineopt runs list`."""

from __future__ import annotations

import json

import pytest

import cli
from core import store
from core.model import BacktestConfig, StrategyMeta
from core.runs import admin as run_admin, service as runs
from core.settings import Settings
from core.strategies import crud as strategies
from ui import run_actions


def _three_runs(settings: Settings, source: str) -> list[int]:
    sid, _v = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                      source=source)
    ids = [runs.request_run(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="1h", market=market, start="2024-01-01", end=end)).id
           for market, end in (("spot", "2024-01-31"), ("perp", "2024-01-31"),
                               ("spot", "2024-01-30"))]
    with store.connect(settings.db_path) as con:  # as a walk-forward and a sweep record them
        con.execute("INSERT INTO walkforward_windows (study_id, k, is_start, is_end, oos_start, "
                    "oos_end, is_study_id, oos_run_id) VALUES (3, 2, '2024-01-01', "
                    "'2024-01-20', '2024-01-20', '2024-01-31', 4, ?)", [ids[1]])
        con.execute("INSERT INTO trials (study_id, n, params_key, params, trial_hash, status, "
                    "run_id) VALUES (5, 12, '{}', '{}', 'h', 'completed', ?)", [ids[2]])
    return ids


def test_labels_show_market_and_origin(settings: Settings, sma_source: str) -> None:
    plain, oos, trial = _three_runs(settings, sma_source)
    labels = run_actions.run_labels(settings.db_path, runs.list_runs(settings.db_path))
    assert labels[plain] == f"Run {plain} · sma v1 · BTCUSDT spot 1h · queued"
    assert labels[oos] == f"Run {oos} · sma v1 · BTCUSDT perp 1h · WF 3 · window 2 · queued"
    assert labels[trial] == f"Run {trial} · sma v1 · BTCUSDT spot 1h · Study 5 · trial 12 · queued"
    assert run_admin.run_origins(settings.db_path, []) == {}


def test_labels_and_runs_list_show_leverage_other_than_one(
        settings: Settings, sma_source: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A 3x perp run and a 1x one looked identical in every label (found by a fresh-eyes test)."""
    sid, _v = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                      source=sma_source)
    plain, levered = (runs.request_run(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="1h", market="perp", start="2024-01-01", end="2024-01-31",
        margin={"leverage": leverage})).id for leverage in (1, 3))
    labels = run_actions.run_labels(settings.db_path, runs.list_runs(settings.db_path))
    assert labels[levered] == f"Run {levered} · sma v1 · BTCUSDT perp 3× 1h · queued"
    assert labels[plain] == f"Run {plain} · sma v1 · BTCUSDT perp 1h · queued"
    assert cli.main(["runs", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "perp 3×" in rows[1] and "×" not in rows[2]
    assert cli.main(["runs", "show", str(levered)]) == 0
    assert "BTCUSDT 3× 1h" in capsys.readouterr().out


def test_runs_list_has_market_and_origin_columns(settings: Settings, sma_source: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    plain, oos, _trial = _three_runs(settings, sma_source)
    assert cli.main(["runs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:7] == ["ID", "STATUS", "STRATEGY", "VER", "SYMBOL", "MARKET", "TF"]
    row = next(line for line in lines if line.startswith(str(oos)))
    assert " perp " in row and "WF 3 · window 2" in row
    assert cli.main(["runs", "list", "--json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows[plain]["market"], rows[plain]["origin"]) == ("spot", "")
    assert (rows[oos]["market"], rows[oos]["origin"]) == ("perp", "WF 3 · window 2")

