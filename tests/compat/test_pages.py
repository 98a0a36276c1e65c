"""The Backtest page's backtesting.py semantics and the Results page's refusal warning, in
Streamlit's AppTest against a real store and the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import config_file, service as runs, semantics
from core.strategies import crud as strategies
from core.model import RunStatus, StrategyMeta
from core.settings import Settings
from tests.compat.test_semantics_cli import QUICK_START
from ui import services

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _app(**state: object) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at


def test_backtest_page_runs_with_backtesting_py_semantics(settings: Settings, home: Path) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="qs"), source=QUICK_START)
    at = _app(**{services.SELECTED_STRATEGY: sid})
    at.switch_page("app_pages/backtest.py").run()
    assert any(n.label == "Maker fee (%)" for n in at.number_input)
    at.radio(key="semantics").set_value("backtesting").run()
    labels = {n.label for n in at.number_input}
    assert "Commission (%)" in labels and "Maker fee (%)" not in labels
    assert not any(c.label.startswith("Fractional coins") for c in at.checkbox)
    next(n for n in at.number_input if n.label == "Commission (%)").set_value(0.2).run()
    next(b for b in at.button if b.label == "Run backtest").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run_id = at.session_state[services.SELECTED_RUN]
    assert services._jobs_for(str(home)).wait([run_id], timeout_s=600)  # noqa: SLF001
    run = runs.get_run(settings.db_path, run_id)
    assert run.status is RunStatus.COMPLETED, run.error
    cfg = run.config
    assert (cfg.fractional, cfg.finalize_trades, cfg.margin.spot_margin) == (False, False, True)
    assert cfg.fee_rates == pytest.approx((0.002, 0.002))
    assert (cfg.costs.slippage_bps, cfg.costs.fill_timing) == (0.0, "next_open")


def test_results_page_warns_about_refused_shorts_first(settings: Settings) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="qs"), source=QUICK_START)
    mapping = config_file.merge({"symbol": "BTCUSDT", "timeframe": "1d", "start": "2023-01-01",
                                 "end": "2024-12-31", "cash_usdt": 10_000_000.0},
                                semantics.defaults("crypto"))
    run = runs.run_sync(settings, strategy_id=sid, config=config_file.build_config(mapping))
    assert run.status is RunStatus.COMPLETED, run.error
    split = runs.run_cost_split(settings.db_path, run.id)
    refused = int(split["orders_rejected_short_not_allowed"])
    assert refused > 0
    at = _app(**{services.SELECTED_RUN: run.id})
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.warning[0].value.startswith(f"{refused} short entries were refused: spot market "
                                          "without margin — enable margin")
