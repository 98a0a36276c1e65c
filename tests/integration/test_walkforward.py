"""Walk-forward through the real firejail sandbox: each window's in-sample sweep is a stored
study, its best parameters run out-of-sample as a normal run, the stitched curve compounds the
out-of-sample runs, and a walk-forward stopped after one window resumes with the rest only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings
from core.studies import study_store, sweep, walkforward
from core.studies import wf_windows as ww
from tests.conftest import REPO, nan_as_none

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-02-19",
                        cash_usdt=100_000.0, commission=0.001)
SPECS = {"fast": "5:10:5", "slow": "20"}


def test_walk_forward_optimises_runs_stitches_and_resumes(settings: Settings, home: Path,
                                                          sma_source: str) -> None:
    db = settings.db_path
    sid, _ = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source)
    wf_id = walkforward.create(settings, strategy_id=sid, config=CONFIG, specs=SPECS,
                               is_len="20d", oos_len="10d", objective="total_return")
    stop = threading.Event()
    first = walkforward.run(settings, wf_id, workers=1, batch_size=2, cancel=stop,
                            on_window=lambda r: stop.set() if r.done == 1 else None)
    assert (first.status, first.windows, first.done) == ("cancelled", 3, 1)
    kept = walkforward.result(settings, wf_id).windows[0]
    second = walkforward.run(settings, wf_id, workers=1, batch_size=2)
    assert (second.status, second.done, second.errors) == ("completed", 3, [])
    out = walkforward.result(settings, wf_id)
    assert out.windows[0] == kept  # the finished window was not run again
    assert [(str(r.window.oos_start.date()), str(r.window.oos_end.date())) for r in
            out.windows] == [("2024-01-21", "2024-01-31"), ("2024-01-31", "2024-02-10"),
                             ("2024-02-10", "2024-02-20")]
    curves, product = [], 1.0
    for row in out.windows:
        is_study = study_store.get_study(db, row.is_study_id)
        assert len(study_store.trials_frame(db, row.is_study_id)) == 2  # trials stored
        assert row.params == sweep.best_trial(settings, row.is_study_id)["params"]
        run = runs.get_run(db, row.oos_run_id)
        assert run.status is RunStatus.COMPLETED
        assert (run.config.start, run.config.end) == ww.config_range(row.window.oos_start,
                                                                     row.window.oos_end)
        assert run.config.params == {**is_study.config["params"], **row.params}
        assert nan_as_none(row.oos_metrics) == nan_as_none(runs.run_metrics(db, run.id))
        curve = runs.run_equity(db, run.id)
        assert curve.index[0] >= row.window.oos_start  # no bar (so no trade) before OOS
        curves.append(curve)
        product *= curve.iloc[-1] / CONFIG.cash_usdt
    # continuity: each window starts from the previous window's final equity
    eq = out.equity
    assert len(eq) == sum(len(c) for c in curves)
    end = CONFIG.cash_usdt
    for curve in curves:
        piece = eq.loc[curve.index]
        assert piece.iloc[0] == pytest.approx(end * curve.iloc[0] / CONFIG.cash_usdt)
        end = piece.iloc[-1]
    assert eq.iloc[-1] / CONFIG.cash_usdt == pytest.approx(product)
    assert out.metrics["total_return"] == pytest.approx(product - 1)
    # WFE: stitched mean daily return x365 over the pooled in-sample one
    pooled = [v for r in out.windows for v in r.is_daily_returns]
    assert out.is_annualised == pytest.approx(sum(pooled) / len(pooled) * 365)
    assert out.oos_annualised == out.metrics["annualized_return"]
    assert out.efficiency == ww.efficiency(out.oos_annualised, out.is_annualised)
    table = out.window_table()
    assert list(table["window"]) == [1, 2, 3]
    assert list(table["fast"]) == [r.params["fast"] for r in out.windows]
    # every field the page shows has a human header with its unit; JSON keeps the field names
    from reports.walkforward_charts import window_display
    from ui.walkforward_tab import _window_columns

    headers = _window_columns(out.study.objective)
    shown_columns = set(window_display(table).columns) - {"fast", "slow"}
    assert shown_columns <= set(headers)
    assert {headers[c]["label"] for c in ("is_annualized_return", "oos_sharpe_ratio")} == \
        {"IS return ann. %", "OOS Sharpe"}
    assert all(list(r) == list(walkforward.WINDOW_FIELDS) for r in out.window_records())
    shown = _cli(home, "studies", "show", str(wf_id), "--json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert (summary["status"], summary["is_len"], summary["oos_len"], summary["step"]) == \
        ("completed", "20d", "10d", "10d")
    assert [w["oos_run_id"] for w in summary["windows"]] == [r.oos_run_id for r in out.windows]
    assert summary["windows"] == out.window_records()  # the API's WindowOut fields too
    text = _cli(home, "studies", "show", str(wf_id))
    assert "IS return ann. %" in text.stdout and "OOS Sharpe" in text.stdout, text.stderr
    assert summary["oos_metrics"]["total_return"] == pytest.approx(product - 1)
    _page_shows(wf_id)


def _page_shows(wf_id: int) -> None:
    """The Optimize page's Walk-forward tab (AppTest, same store): the walk-forward, its WFE,
    the stitched curve and stability charts and the per-window table, without an exception."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="wf_pick").value == wf_id
    assert any(m.label == "Walk-forward efficiency" for m in at.metric)
    assert any("Annualised return (mean daily return ×365)" in c.value for c in at.caption)
    windows = [d.value for d in at.dataframe if "oos_run_id" in d.value.columns]
    assert len(windows) == 1 and len(windows[0]) == 3
    assert len(at.get("vega_lite_chart")) >= 2  # at least the stitched curve and stability


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], env=env, text=True,
                          capture_output=True, check=False, cwd=REPO)


def test_cli_walkforward_names_user_errors_with_their_fix(home: Path) -> None:
    base = ["walkforward", str(REPO / "examples" / "sma_cross.py"), "--symbol", "BTCUSDT",
            "--timeframe", "1h", "--start", "2024-01-01", "--end", "2024-01-20",
            "--param", "fast=5:10:5"]
    short = _cli(home, *base, "--is", "20d", "--oos", "10d", "--json")
    assert short.returncode == 1
    assert "shorten --is/--oos or widen --start/--end" in json.loads(short.stdout)["error"]
    bad = _cli(home, *base, "--is", "3 months", "--oos", "10d")
    assert bad.returncode == 1
    assert "e.g. 180d, 60d, 12h or 8w" in bad.stderr
    overlap = _cli(home, *base, "--is", "5d", "--oos", "4d", "--step", "2d")
    assert overlap.returncode == 1
    assert "use a step of at least the out-of-sample length" in overlap.stderr


def test_a_refused_walk_forward_stores_nothing(settings: Settings, sma_source: str) -> None:
    from core.errors import ConfigError

    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    for specs, message in (({"fast": "5:10:5", "nope": "1:2"}, "Unknown parameter 'nope'"),
                           ({}, "Nothing to optimise")):
        with pytest.raises(ConfigError, match=message):
            walkforward.create(settings, strategy_id=sid, config=CONFIG, specs=specs,
                               is_len="20d", oos_len="10d")
    assert study_store.list_studies(settings.db_path) == []


def _trade_keys(trades: object) -> list[tuple]:
    """(entry time, exit time, entry price, exit price) of each stored trade."""
    return [(r.entry_time, r.exit_time, round(float(r.entry_price), 8),
             round(float(r.exit_price), 8)) for r in trades.itertuples()]  # type: ignore[attr-defined]


def test_out_of_sample_runs_start_warm_like_a_continuous_run(settings: Settings,
                                                             sma_source: str) -> None:
    """Each OOS run sees its in-sample bars as warm-up: its trades are exactly the trades a
    continuous run with the same parameters makes inside the window, including ones in the
    first `slow` bars, which a cold start (slow SMA still NaN) cannot make."""
    import pandas as pd

    db = settings.db_path
    sid, _ = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source)
    wf_id = walkforward.create(settings, strategy_id=sid, config=CONFIG,
                               specs={"fast": "10:20:10", "slow": "60"}, is_len="20d",
                               oos_len="10d", objective="total_return")
    assert walkforward.run(settings, wf_id, workers=1, batch_size=2).status == "completed"
    early = 0
    for row in walkforward.result(settings, wf_id).windows:
        oos = runs.get_run(db, row.oos_run_id)
        assert oos.config.extra["warmup_start"] == ww.config_range(row.window.is_start,
                                                                   row.window.oos_start)[0]
        bars = pd.date_range(row.window.oos_start, row.window.oos_end, freq="h",
                             inclusive="left")
        assert list(runs.run_equity(db, oos.id).index) == list(bars)  # no warm-up bar counted
        continuous = runs.run_sync(settings, strategy_id=sid, config=replace(
            oos.config, start=CONFIG.start, extra={}))
        assert continuous.status is RunStatus.COMPLETED, continuous.error
        whole = runs.run_trades(db, continuous.id)
        inside = whole[whole["entry_time"] >= row.window.oos_start]
        warm = runs.run_trades(db, oos.id)
        assert len(warm) and _trade_keys(warm) == _trade_keys(inside)
        assert warm["entry_bar"].min() >= 0  # counted from the window's first bar
        early += int((warm["entry_time"] < row.window.oos_start + pd.Timedelta(hours=59)).sum())
        cold = runs.run_sync(settings, strategy_id=sid, config=replace(oos.config, extra={}))
        cold_trades = runs.run_trades(db, cold.id)
        assert (cold_trades["entry_time"] >= row.window.oos_start + pd.Timedelta(hours=59)).all()
    assert early > 0  # the warm runs traded where a cold start could not
