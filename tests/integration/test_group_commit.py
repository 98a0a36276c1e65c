"""Storing finished runs: runs that finish while another is being stored go into the store
together (one transaction), each completed with its own rows and log; one run whose rows the
store refuses fails alone, the others of its batch are stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from core import store
from core.engine.backtest import TRADE_COLUMNS
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.runs import result_store, service as runs
from core.settings import Settings
from core.strategies import crud as strategies

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-01-10")


def _queued(settings: Settings, source: str, count: int) -> list[int]:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=source)
    return [runs.request_run(settings, strategy_id=sid, config=CONFIG, force=True).id
            for _ in range(count)]


def _result(step: float, *, repeat_a_time: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Bars and an equity curve of 48 hours (one time twice when ``repeat_a_time``)."""
    times = pd.date_range("2024-01-01", periods=48, freq="h")
    if repeat_a_time:
        times = times.insert(1, times[0]).delete(-1)
    data = pd.DataFrame({"Close": np.linspace(100.0, 110.0, 48)}, index=times)
    return data, pd.Series(1_000.0 + step * np.arange(48), index=times)


def _store_in_threads(settings: Settings, jobs: list[tuple[int, pd.DataFrame, pd.Series]]
                      ) -> dict[int, BaseException | None]:
    """store_run of every job, each in its own thread, all started while the store's writer is
    held (as when another run is being stored), then let go; each run's exception or None."""
    outcome: dict[int, BaseException | None] = {}
    no_trades = pd.DataFrame(columns=list(TRADE_COLUMNS))

    def one(run_id: int, data: pd.DataFrame, equity: pd.Series) -> None:
        try:
            result_store.store_run(settings.db_path, run_id, CONFIG, data, equity, no_trades,
                                   f"log of run {run_id}")
            outcome[run_id] = None
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome[run_id] = exc

    threads = [threading.Thread(target=one, args=job) for job in jobs]
    with store.writer(settings.db_path):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(result_store._COMMITS._pending.get(str(settings.db_path), [])) < len(jobs):
            assert time.monotonic() < deadline, "the runs never queued for the store"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=60)
    return outcome


def _count_transactions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    opened: list[Path] = []
    real = store.transaction

    def counted(path: Path):  # noqa: ANN202 - a context manager, as store.transaction
        opened.append(path)
        return real(path)

    monkeypatch.setattr(store, "transaction", counted)
    return opened


def _equity_rows(db: Path, run_id: int) -> int:
    with store.connect(db) as con:
        return con.execute("SELECT count(*) FROM equity WHERE backtest_id = ?",
                           [run_id]).fetchone()[0]


def test_runs_finished_together_are_stored_in_one_transaction(
        settings: Settings, sma_source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _queued(settings, sma_source, 3)
    opened = _count_transactions(monkeypatch)
    outcome = _store_in_threads(settings, [(i, *_result(step)) for i, step in zip(
        ids, (1.0, 2.0, -1.0), strict=True)])
    assert outcome == {i: None for i in ids}
    assert len(opened) == 1
    for run_id, step in zip(ids, (1.0, 2.0, -1.0), strict=True):
        run = runs.get_run(settings.db_path, run_id)
        assert run.status is RunStatus.COMPLETED
        assert run.log == f"log of run {run_id}"
        assert run.finished_at is not None and run.duration_s is not None
        assert runs.run_equity(settings.db_path, run_id).iloc[-1] == 1_000.0 + step * 47
        metrics = runs.run_metrics(settings.db_path, run_id)
        assert metrics["total_return"] == pytest.approx(step * 47 / 1_000.0)


def test_a_run_the_store_refuses_fails_alone(settings: Settings, sma_source: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad, other = _queued(settings, sma_source, 3)
    opened = _count_transactions(monkeypatch)
    outcome = _store_in_threads(settings, [(good, *_result(1.0)),
                                           (bad, *_result(1.0, repeat_a_time=True)),
                                           (other, *_result(2.0))])
    assert isinstance(outcome[bad], duckdb.ConstraintException)  # equity's (run, time) key
    assert outcome[good] is None and outcome[other] is None
    assert len(opened) == 4  # the shared one, refused, then each run on its own
    for run_id in (good, other):
        assert runs.get_run(settings.db_path, run_id).status is RunStatus.COMPLETED
        assert _equity_rows(settings.db_path, run_id) == 48
    assert runs.get_run(settings.db_path, bad).status is RunStatus.QUEUED  # nothing of it kept
    assert _equity_rows(settings.db_path, bad) == 0
