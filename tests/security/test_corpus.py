"""The hostile corpus, three ways: validation's verdict, the sandbox alone (validation
bypassed), and the whole app (validation, queue, sandbox, result checks).

Every attack must end exactly as pinned in tests/security/corpus.py, and the canary file and
canary server must stay untouched (checked after every test by conftest).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.runs import jobs, service as runs
from core.strategies import crud as strategies, validation
from core.model import BacktestConfig, Language, RunRecord, RunStatus, StrategyMeta
from tests.security.corpus import ALL, Attack
from tests.security.harness import Verdict, run_source

pytestmark = pytest.mark.sandbox
SHORT = BacktestConfig(start="2024-01-01", end="2024-01-03")


@pytest.fixture(scope="session")
def outcomes(sec_settings, canaries) -> tuple[dict[str, Verdict], dict[str, RunRecord]]:
    """Run the corpus once: the app path through a JobManager and, at the same time, every
    attack straight through a Worker."""
    manager = jobs.JobManager(sec_settings)
    run_ids = {}
    for attack in ALL:
        sid, _ = strategies.save_by_name(sec_settings.db_path, meta=StrategyMeta(name=attack.name),
                                         source=canaries.fill(attack.source),
                                         language=Language.PYTHON)
        run_ids[attack.name] = runs.request_run(sec_settings, strategy_id=sid, config=SHORT).id
        manager.submit(run_ids[attack.name])
    with ThreadPoolExecutor(max_workers=3) as pool:
        direct = {a.name: pool.submit(run_source, sec_settings, canaries.fill(a.source))
                  for a in ALL}
        verdicts = {name: future.result() for name, future in direct.items()}
    assert manager.wait(list(run_ids.values()), timeout_s=300)
    manager.shutdown()
    records = {name: runs.get_run(sec_settings.db_path, rid) for name, rid in run_ids.items()}
    return verdicts, records


def test_corpus_is_big_enough() -> None:
    assert len(ALL) >= 30
    assert len({a.name for a in ALL}) == len(ALL)


@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_validation_verdict(attack: Attack, canaries) -> None:
    errors = validation.errors_only(validation.validate_python(canaries.fill(attack.source)))
    if attack.rule:
        assert attack.rule in {e.rule for e in errors}, [str(e) for e in errors]
        assert all(e.line > 0 for e in errors if e.rule == attack.rule)
    else:
        assert errors == [], [str(e) for e in errors]


@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_sandbox_alone_contains_it(attack: Attack, outcomes) -> None:
    verdict = outcomes[0][attack.name]
    assert verdict.status == attack.status, verdict.message
    assert attack.says in verdict.message


@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_app_ends_it_with_the_right_status(attack: Attack, outcomes, sec_settings) -> None:
    run = outcomes[1][attack.name]
    assert run.status is RunStatus(attack.pipeline_status), run.error
    assert run.error, "every non-completed run says why"
    if attack.rule:
        assert "line" in run.error
    assert runs.run_trades(sec_settings.db_path, run.id).empty  # nothing half-stored
