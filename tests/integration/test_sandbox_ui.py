"""The UI side of the sandbox: the banner in every page and the job monitor's controls."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import jobs, service as runs
from core import store
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import REPO_ROOT

APP = str(REPO_ROOT / "app.py")


def _app(monkeypatch: pytest.MonkeyPatch, **env: str) -> AppTest:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AppTest.from_file(APP, default_timeout=90).run()


def test_passing_self_test_shows_a_quiet_sidebar_line(home, monkeypatch) -> None:
    at = _app(monkeypatch)
    assert not at.exception
    assert any("self-test passed" in c.value for c in at.sidebar.caption)
    assert not [e for e in at.error if "sandbox" in e.value.lower()]


def test_development_mode_shows_a_permanent_red_banner(home, monkeypatch) -> None:
    at = _app(monkeypatch, PINEOPT_SANDBOX="none")
    assert any(e.value.startswith("UNSAFE development mode") for e in at.error)
    assert any("UNSAFE" in c.value for c in at.sidebar.caption)


def test_broken_sandbox_says_why_and_how_to_fix(home, monkeypatch) -> None:
    at = _app(monkeypatch, PINEOPT_SANDBOX_PYTHON="/nonexistent/python3")
    banner = [e.value for e in at.error if "self-test failed" in e.value]
    assert banner and "make setup" in banner[0]


def _monitor() -> None:
    from ui import services, widgets

    widgets.job_monitor(services.settings())


def test_job_monitor_requeues_an_interrupted_run(home, settings, sma_source, monkeypatch) -> None:
    monkeypatch.setenv("PINEOPT_POOL_SIZE", "0")
    sid, _ = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                     source=sma_source, language=Language.PYTHON)
    run = runs.request_run(settings, strategy_id=sid,
                           config=BacktestConfig(start="2024-01-01", end="2024-01-04"))
    with store.connect(settings.db_path) as con:
        con.execute("UPDATE backtests SET status = 'running', owner_pid = 0, owner_token = NULL "
                    "WHERE id = ?", [run.id])  # its process is gone
    jobs.recover_interrupted(settings.db_path)
    at = AppTest.from_function(_monitor, default_timeout=60).run()
    assert any("interrupted" in w.value for w in at.warning)
    at.button(key=f"rq_{run.id}").click().run()
    assert runs.get_run(settings.db_path, run.id).status in (RunStatus.QUEUED, RunStatus.RUNNING,
                                                             RunStatus.COMPLETED)
