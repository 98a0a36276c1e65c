"""The Optimize page (AppTest) over a store holding a real sweep: the trials table, the
heatmap, the overfitting statistics, open a trial as a run, and the Monte Carlo fan chart."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.studies import study_store, sweep
from tests.conftest import REPO, make_settings


@pytest.fixture(scope="module")
def swept_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("optimize") / "home"
    shutil.copytree(template_home, home)
    settings = make_settings(home)
    source = (REPO / "examples" / "sma_cross.py").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="Sweep"), source=source)
    study_id = sweep.create(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30"),
        specs={"fast": "5:15:5", "slow": "20:40:20"}, constraints=["fast < slow"])
    assert sweep.run(settings, study_id, workers=2, batch_size=3).status == "completed"
    return home


def test_studies_tab_shows_trials_heatmap_and_opens_a_run(
        swept_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(swept_home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    assert len(table) == 6 and {"n", "fast", "slow", "objective"} <= set(table.columns)
    assert any("deflated Sharpe" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 1  # the heatmap
    settings = make_settings(swept_home)
    best = sweep.best_trial(settings, 1)
    assert at.number_input(key="opt_trial_n").value == best["n"]
    at.button(key="opt_open").click().run()
    assert not at.exception, [e.message for e in at.exception]
    linked = study_store.trials_frame(settings.db_path, 1)
    run_id = int(linked.loc[linked["n"] == best["n"], "run_id"].iloc[0])
    assert runs.get_run(settings.db_path, run_id).status is RunStatus.COMPLETED
    assert any(f"is run {run_id}" in s.value for s in at.success)
    # the Monte Carlo tab draws the fan chart of that run
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 2
    assert any("P(lose" in m.value for m in at.markdown)


def _study_thread(study_id: int) -> threading.Thread:
    (thread,) = [t for t in threading.enumerate() if t.name == f"pineopt-study-{study_id}"]
    return thread


def test_a_sweep_started_on_the_page_survives_reruns_and_cancels(
        template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page starts the sweep in the server's StudyRunner (not a thread of its own): a
    rerun and a fresh session find it running, and Cancel stops it with its trials kept."""
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    settings = make_settings(home)
    source = (REPO / "examples" / "sma_cross.py").read_text()
    strategies.save(settings.db_path, meta=StrategyMeta(name="Long sweep"), source=source)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    at.button(key="opt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (study, _), = study_store.list_studies(settings.db_path)
    assert any(f"Study {study.id} started" in s.value for s in at.success)
    thread = _study_thread(study.id)
    assert thread.is_alive()
    at.run()  # a rerun: the sweep goes on, the Studies tab follows it
    again = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    again.run()
    again.switch_page("app_pages/optimize.py").run()  # another session sees it too
    assert _study_thread(study.id) is thread and thread.is_alive()
    assert study_store.get_study(settings.db_path, study.id).owner_pid == os.getpid()
    again.button(key=f"opt_cancel_{study.id}").click().run()
    assert not again.exception, [e.message for e in again.exception]
    thread.join()
    stopped = study_store.get_study(settings.db_path, study.id)
    assert stopped.status == "cancelled"
    stored = len(study_store.trials_frame(settings.db_path, study.id))
    assert stored < stopped.max_trials  # stopped early, what finished is kept


def _page_on_a_copy(swept_home: Path, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[Path, AppTest]:
    """A copy of the swept store and the Optimize page open on it."""
    home = tmp_path / "home"
    shutil.copytree(swept_home, home)
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    return home, at


def test_a_new_sweep_is_the_one_the_studies_tab_shows(
        swept_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a study already shown, Run sweep switches the Studies picker to the new study (it
    kept showing the old one), whose status and trial count are a caption under the picker
    (in the label they stayed "running · 0 trials" on screen after the sweep finished)."""
    home, at = _page_on_a_copy(swept_home, tmp_path, monkeypatch)
    picker = at.selectbox(key="opt_study_pick")
    assert picker.value == 1 and "BTCUSDT spot 4h · grid" in picker.format_func(1)
    assert "Completed · 6 trials stored" in [c.value for c in at.caption]
    at.button(key="opt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="opt_study_pick").value == 2
    settings = make_settings(home)
    _study_thread(2).join()
    at.run()
    assert at.selectbox(key="opt_study_pick").value == 2
    count = len(study_store.trials_frame(settings.db_path, 2))
    assert f"Completed · {count} trials stored" in [c.value for c in at.caption]


def test_a_finished_study_stops_counting_its_time(swept_home: Path, tmp_path: Path) -> None:
    """The progress line of a finished study keeps the time it ran ("4 of 4 trials · 296 s"
    was shown minutes after a 10 s sweep: the time since it started)."""
    from core.studies import background

    home = tmp_path / "home"
    shutil.copytree(swept_home, home)
    settings = make_settings(home)
    study_id = sweep.create(settings, strategy_id=1, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-03-31"),
        specs={"fast": "5,10", "slow": "30"})
    runner = background.StudyRunner(settings, workers=1)
    runner.start(study_id)
    done = runner.wait(study_id, timeout_s=300)
    assert done is not None and not done.alive and done.ended is not None
    ran = done.elapsed
    time.sleep(0.3)
    assert runner.progress(study_id).elapsed == ran


def test_an_emptied_values_box_says_it_sweeps_the_declared_range(
        swept_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _home, at = _page_on_a_copy(swept_home, tmp_path, monkeypatch)
    at.text_input(key="opt_spec_1_fast").set_value("").run()
    assert not at.exception, [e.message for e in at.exception]
    # sma_cross declares fast in 5..100: all 96 values (it said only "192 combinations")
    assert any("fast (empty: its declared range, 96 values)" in c.value for c in at.caption)
