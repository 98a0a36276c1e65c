"""Deleting runs: every per-run row goes (found from the schema), other runs stay, busy or
unknown runs are refused, and `pineopt runs delete` asks before deleting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cli
from core.runs import costs, admin as run_admin, service as runs
from core import store
from core.strategies import crud as strategies
from core.errors import ConfigError, NotFoundError
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from reports import tearsheet

ALWAYS_LONG = '''from backtesting import Strategy


class AlwaysLong(Strategy):
    """Hold a leveraged long; re-enter after every exit (liquidations fire)."""

    def init(self):
        pass

    def next(self):
        if not self.position:
            self.buy(size=0.95)
'''
PLOTTING = '''//@version=5
strategy("Plot demo", overlay=true)
fast = ta.sma(close, 10)
slow = ta.sma(close, 30)
plot(fast, title="Fast MA", color=color.blue)
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("L")
'''
# Tables the deletion must cover at least (the schema may add more: they are found by column).
EXPECTED_TABLES = {"artifacts", "backtest_metrics", "equity", "margin_series", "plots",
                   "risk_events", "trades"}


def _rows(db: Path, run_id: int) -> dict[str, int]:
    with store.connect(db) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t} WHERE backtest_id = ?",  # noqa: S608
                                 [run_id]).fetchone()[0] for t in run_admin.per_run_tables(db)}
        counts["backtests"] = con.execute("SELECT count(*) FROM backtests WHERE id = ?",
                                          [run_id]).fetchone()[0]
    return counts


@pytest.fixture
def two_runs(settings: Settings) -> tuple[int, int]:
    """A leveraged perp run (margin series, liquidations) with a built tearsheet, and a Pine
    run with a plot() series."""
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="long"), source=ALWAYS_LONG)
    perp = runs.run_sync(settings, strategy_id=sid, config=costs.with_presets(BacktestConfig(
        market="perp", symbol="BTCUSDT", timeframe="4h", start="2023-01-01", end="2023-06-30",
        cash_usdt=1_000, fractional=True, margin={"leverage": 25, "spot_margin": False})))
    assert perp.status is RunStatus.COMPLETED, perp.error
    tearsheet.tearsheet_html(settings, perp.id)
    pid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="plots"), source=PLOTTING,
                             language=Language.PINE)
    pine = runs.run_sync(settings, strategy_id=pid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30"))
    assert pine.status is RunStatus.COMPLETED, pine.error
    return perp.id, pine.id


def test_delete_removes_every_per_run_row_and_keeps_other_runs(settings: Settings,
                                                                two_runs: tuple[int, int]) -> None:
    perp_id, pine_id = two_runs
    db = settings.db_path
    assert EXPECTED_TABLES <= set(run_admin.per_run_tables(db))
    before = _rows(db, perp_id)
    assert all(before[t] > 0 for t in EXPECTED_TABLES - {"plots"}), before
    assert _rows(db, pine_id)["plots"] > 0
    kept = _rows(db, pine_id)

    assert run_admin.delete_runs(db, [perp_id]) == [perp_id]

    assert set(_rows(db, perp_id).values()) == {0}
    assert _rows(db, pine_id) == kept
    with pytest.raises(NotFoundError, match="does not exist"):
        runs.get_run(db, perp_id)


def test_delete_refuses_unknown_and_queued_runs(settings: Settings, sma_source: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    queued = runs.request_run(settings, strategy_id=sid, config=BacktestConfig(
        timeframe="1d", start="2024-01-01", end="2024-03-31"))
    assert queued.status is RunStatus.QUEUED
    with pytest.raises(ConfigError, match="still queued or running; cancel it first"):
        run_admin.delete_runs(settings.db_path, [queued.id])
    with pytest.raises(NotFoundError, match="Run 999 does not exist"):
        run_admin.delete_runs(settings.db_path, [queued.id, 999])
    assert runs.get_run(settings.db_path, queued.id).status is RunStatus.QUEUED


def test_cli_deletes_failed_runs_after_confirmation(home: Path, settings: Settings,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="broken"),
                             source="from backtesting import Strategy\n\n\nclass B(Strategy):\n"
                                    "    def init(self):\n        pass\n\n"
                                    "    def next(self):\n        raise ValueError('boom')\n")
    crashed = [runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        timeframe="1d", start=start, end="2024-03-31")) for start in ("2024-01-01", "2024-02-01")]
    assert {r.status for r in crashed} == {RunStatus.CRASHED}
    ids = [r.id for r in crashed]
    assert run_admin.failed_run_ids(settings.db_path) == ids

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli.main(["runs", "delete", "--failed"]) == 1
    assert "needs confirmation: add --yes" in capsys.readouterr().err
    assert run_admin.failed_run_ids(settings.db_path) == ids  # nothing deleted

    assert cli.main(["runs", "delete", "--failed", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": ids}
    assert run_admin.failed_run_ids(settings.db_path) == []
