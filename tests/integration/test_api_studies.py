"""/api/studies through a real `pineopt api` process (uvicorn on a free loopback port, a real
DuckDB file, real firejail sandboxes) driven with httpx: sweep -> show (sorted, paginated) ->
stats -> resume -> cancel, Monte Carlo of a run, and the error statuses."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_api import CONFIG, SMA, TOKEN, Server, _start, _stop, _upload, \
    _wait_finished

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
STUDY_DEADLINE_S = 300
FINAL = ("completed", "cancelled", "failed", "interrupted")


@pytest.fixture(scope="module")
def server(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One API server with a token over a fresh copy of the sample store."""
    root = tmp_path_factory.mktemp("api_studies")
    shutil.copytree(template_home, root / "home")
    running = _start(root / "home", root / "server.log", TOKEN)
    yield running
    _stop(running)


def _wait_study(client: httpx.Client, study_id: int) -> dict:
    deadline = time.monotonic() + STUDY_DEADLINE_S
    while True:
        shown = client.get(f"/api/studies/{study_id}").json()
        if shown["study"]["status"] in FINAL and not shown["study"]["running_here"]:
            return shown
        assert time.monotonic() < deadline, shown["study"]
        time.sleep(0.3)


def _sweep(client: httpx.Client, sid: int, **extra: object) -> httpx.Response:
    body = {"strategy_id": sid, "config": CONFIG, "params": {"fast": "5:15:5", "slow": "30:50:10"},
            "method": "grid", "objective": "sharpe_ratio", "constraints": ["fast < slow"],
            "workers": 1, **extra}
    return client.post("/api/studies", json=body)


def test_sweep_show_stats_resume(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma study", SMA)["id"]
        started = _sweep(c, sid)
        assert started.status_code == 202, started.text
        study_id = started.json()["id"]
        assert started.headers["Location"] == f"/api/studies/{study_id}"
        shown = _wait_study(c, study_id)
        assert shown["study"]["status"] == "completed", shown["study"]
        assert shown["total"] == 9 and shown["study"]["trials"] == 9
        assert shown["sort"] == "best" and shown["best"] == shown["trials"][0]["n"]

        page = c.get(f"/api/studies/{study_id}", params={"sort": "-total_return", "limit": 3,
                                                         "offset": 2}).json()
        assert [t["n"] for t in page["trials"]] and len(page["trials"]) == 3
        everything = c.get(f"/api/studies/{study_id}", params={"sort": "-total_return",
                                                               "limit": 100}).json()["trials"]
        assert page["trials"] == everything[2:5]
        returns = [t["total_return"] for t in everything]
        assert returns == sorted(returns, reverse=True)
        assert all(t["params"]["fast"] < t["params"]["slow"] for t in everything)
        bad_sort = c.get(f"/api/studies/{study_id}", params={"sort": "fast"})
        assert bad_sort.status_code == 422 and bad_sort.json()["field"] == "sort"

        listed = c.get("/api/studies").json()
        assert listed["items"][0]["id"] == study_id and listed["total"] >= 1
        assert c.get("/api/studies", params={"status": "failed"}).json()["total"] == 0

        stats = c.get(f"/api/studies/{study_id}/stats").json()
        assert stats["n_trials"] == 9 and stats["lines"]
        assert stats["dsr"]["best_trial"] == shown["best"]

        again = c.post(f"/api/studies/{study_id}/resume", json={"batch_size": 4})
        assert again.status_code == 202, again.text
        assert _wait_study(c, study_id)["total"] == 9  # nothing missing: nothing run again
        refused = c.post(f"/api/studies/{study_id}/cancel")
        assert refused.status_code == 409
        assert "already completed" in refused.json()["detail"]


def test_cancel_a_running_sweep(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma cancel", SMA)["id"]
        started = _sweep(c, sid, params={"fast": "5:50:1", "slow": "60:80:10"}, batch_size=1,
                         reuse=False)
        assert started.status_code == 202, started.text
        study_id = started.json()["id"]
        busy = c.post(f"/api/studies/{study_id}/resume")
        assert busy.status_code == 409 and "already running" in busy.json()["detail"]
        stopped = c.post(f"/api/studies/{study_id}/cancel")
        assert stopped.status_code == 202 and stopped.json()["status"] == "cancelling"
        shown = _wait_study(c, study_id)
        assert shown["study"]["status"] == "cancelled"
        assert shown["total"] < 46 * 3


def test_monte_carlo_of_a_run(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma mc", SMA)["id"]
        run = c.post("/api/backtests", json={"strategy_id": sid, "config": CONFIG}).json()
        assert _wait_finished(c, run["id"])["status"] == "completed"
        body = {"run_id": run["id"], "method": "block", "paths": 200, "seed": 3}
        first = c.post("/api/studies/montecarlo", json=body)
        assert first.status_code == 200, first.text
        out = first.json()
        assert out["paths"] == 200 and out["method"] == "block"
        assert set(out["percentiles"]["final_return"]) == {"5", "25", "50", "75", "95"}
        assert c.post("/api/studies/montecarlo", json=body).json() == out  # seeded
        missing = c.post("/api/studies/montecarlo", json={**body, "run_id": 99_999})
        assert missing.status_code == 404 and "pineopt runs list" in missing.json()["detail"]


def test_study_errors(server: Server) -> None:
    with server.client() as c:
        unknown = c.get("/api/studies/99999")
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == ("Study 99999 does not exist; `pineopt studies list` "
                                            "shows the ids.")
        assert c.post("/api/studies/99999/resume").status_code == 404
        assert c.post("/api/studies/99999/cancel").status_code == 404
        assert c.get("/api/studies/99999/stats").status_code == 404
        sid = _upload(c, "sma errors", SMA)["id"]
        bad = _sweep(c, sid, objective="sharpness")
        assert bad.status_code == 400 and "Unknown objective 'sharpness'" in bad.json()["detail"]
        bad_param = _sweep(c, sid, params={"fats": "5:10:1"})
        assert bad_param.status_code == 400, bad_param.text
        malformed = _sweep(c, sid, method="annealing")
        assert malformed.status_code == 422 and malformed.json()["field"] == "method"
        no_token = httpx.get(server.url + "/api/studies", timeout=10)
        assert no_token.status_code == 401
