"""No Run click is lost (issue 18): 20 quick clicks while the app is busy create 20 runs, each
confirmed on the page; then SIGTERM stops the server with no run left running or queued."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Page

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import Language, RunStatus, StrategyMeta
from tests.conftest import REPO, make_settings
from tests.e2e.conftest import click_run_quickly, kill_if_running, start_app

pytestmark = pytest.mark.sandbox
CLICKS = 20


@pytest.fixture
def busy_app(template_home: Path, tmp_path: Path):
    """A served app (2 runs at once) with the SMA example saved; yields (process, url, home)."""
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    settings = make_settings(home)
    strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="Clicks SMA"),
                            source=(REPO / "examples" / "sma_cross.py").read_text(),
                            language=Language.PYTHON)
    proc, url = start_app(home, extra_env={"PINEOPT_MAX_CONCURRENT": "2",
                                           "PINEOPT_POOL_SIZE": "1"})
    try:
        yield proc, url, home
    finally:
        kill_if_running(proc)
        proc.stderr.close()


def test_twenty_quick_clicks_create_twenty_runs_and_sigterm_leaves_none_running(
        page: Page, busy_app) -> None:
    proc, url, home = busy_app
    click_run_quickly(page, url, CLICKS, answer_ms=30_000)
    db = make_settings(home).db_path
    recorded = runs.list_runs(db)
    assert len(recorded) == CLICKS, [r.status for r in recorded]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    final = runs.list_runs(db)
    statuses = [r.status for r in final]
    assert not {RunStatus.RUNNING, RunStatus.QUEUED} & set(statuses), statuses
    completed = statuses.count(RunStatus.COMPLETED)
    assert completed + statuses.count(RunStatus.INTERRUPTED) == CLICKS, statuses
    print(f"runs asked {CLICKS} / recorded {len(final)} / completed {completed} / "
          f"interrupted by SIGTERM {CLICKS - completed}; clicks lost 0")
