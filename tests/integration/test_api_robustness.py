"""/api/walkforwards and /api/lookahead through a real `pineopt api` process (uvicorn on a free
loopback port, a real DuckDB file, real firejail sandboxes) driven with httpx: a tiny
walk-forward polled to completed (windows, stitched metrics, WFE), shown and resumed by the
CLI forwarded to the same server; the lookahead check passing on a bundled example and flagging
a peeking strategy; and the error statuses."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_api import SMA, TOKEN, Server, _start, _stop, _upload
from tests.integration.test_lookahead import PEEK
from tests.conftest import REPO
from tests.integration.test_owner import _cli

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
WF_DEADLINE_S = 300
# 40 days of 1h bars: 20d in-sample + 10d out-of-sample, stepping 10d = 2 windows
WF_CONFIG = {"symbol": "BTCUSDT", "timeframe": "1h", "start": "2024-01-01", "end": "2024-02-09",
             "commission": 0.001}
LA_CONFIG = {"symbol": "BTCUSDT", "timeframe": "4h", "start": "2024-01-01", "end": "2024-02-29"}


@pytest.fixture(scope="module")
def server(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One API server with a token over a fresh copy of the sample store."""
    root = tmp_path_factory.mktemp("api_robustness")
    shutil.copytree(template_home, root / "home")
    running = _start(root / "home", root / "server.log", TOKEN)
    yield running
    _stop(running)


def _walkforward(client: httpx.Client, sid: int, **extra: object) -> httpx.Response:
    body = {"strategy_id": sid, "config": WF_CONFIG, "params": {"fast": "5:10:5", "slow": "20"},
            "is_len": "20d", "oos_len": "10d", "trials": 2, "objective": "total_return",
            "workers": 1, "batch_size": 2, **extra}
    return client.post("/api/walkforwards", json=body)


def _wait(client: httpx.Client, wf_id: int) -> dict:
    deadline = time.monotonic() + WF_DEADLINE_S
    while True:
        shown = client.get(f"/api/walkforwards/{wf_id}")
        assert shown.status_code == 200, shown.text
        out = shown.json()
        if out["status"] not in ("queued", "running") and not out["running_here"]:
            return out
        assert time.monotonic() < deadline, out
        time.sleep(0.5)


def test_walkforward_runs_in_the_background_and_shows_windows_and_wfe(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma wf", SMA)["id"]
        started = _walkforward(c, sid)
        assert started.status_code == 202, started.text
        wf_id = started.json()["id"]
        assert started.json()["windows"] == 2
        assert started.headers["Location"] == f"/api/walkforwards/{wf_id}"
        out = _wait(c, wf_id)
        assert out["status"] == "completed", out
        assert (out["is_len"], out["oos_len"], out["step"], out["anchored"]) == \
            ("20d", "10d", "10d", False)
        assert [w["window"] for w in out["windows"]] == [1, 2]
        for w in out["windows"]:
            assert w["status"] == "completed" and w["params"]["fast"] in (5, 10)
            assert w["oos_run_id"] and w["oos_start"] < w["oos_end"]
            run = c.get(f"/api/backtests/{w['oos_run_id']}").json()
            assert run["status"] == "completed"
            assert c.get(f"/api/studies/{w['is_study_id']}").json()["total"] == 2
        assert "total_return" in out["oos_metrics"] and "sharpe_ratio" in out["oos_metrics"]
        assert "wfe" in out and out["errors"] == []
        if out["is_annualized_return"] is not None and out["is_annualized_return"] > 0:
            assert out["wfe"] == pytest.approx(out["oos_annualized_return"]
                                               / out["is_annualized_return"])

        home = server.log.parent / "home"  # the CLI forwards to this server (endpoint file)
        shown = _cli(home, "studies", "show", str(wf_id), "--json")
        assert shown.returncode == 0 and "store directly" not in shown.stderr, shown.stderr
        printed = json.loads(shown.stdout)
        assert printed["study_id"] == wf_id and printed["wfe"] == out["wfe"]
        assert [w["oos_run_id"] for w in printed["windows"]] == \
            [w["oos_run_id"] for w in out["windows"]]
        assert printed["windows"] == out["windows"]  # one set of field names in JSON
        assert "oos_sharpe_ratio" in out["windows"][0] and "is_return_ann" not in out["windows"][0]
        resumed = _cli(home, "studies", "resume", str(wf_id), "--json")
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["status"] == "completed"  # nothing left to run
        again = c.post(f"/api/studies/{wf_id}/resume")  # a walk-forward is a study
        assert again.status_code == 202, again.text
        assert _wait(c, wf_id)["windows"] == out["windows"]


def test_walkforward_errors(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma wf errors", SMA)["id"]
        bad = _walkforward(c, sid, is_len="3 months")
        assert bad.status_code == 400
        assert "e.g. 180d, 60d, 12h or 8w" in bad.json()["detail"]
        short = _walkforward(c, sid, is_len="60d")
        assert short.status_code == 400
        assert "shorten --is/--oos or widen --start/--end" in short.json()["detail"]
        bad_param = _walkforward(c, sid, params={"fats": "5:10:5"})
        assert bad_param.status_code == 400 and "fats" in bad_param.json()["detail"]
        assert _walkforward(c, 99_999).status_code == 404
        unknown = c.get("/api/walkforwards/99999")
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == ("Study 99999 does not exist; `pineopt studies list` "
                                            "shows the ids.")
        sweep = c.post("/api/studies", json={"strategy_id": sid, "config": WF_CONFIG,
                                             "params": {"fast": "5"}, "workers": 1})
        assert sweep.status_code == 202, sweep.text
        not_wf = c.get(f"/api/walkforwards/{sweep.json()['id']}")
        assert not_wf.status_code == 404 and "not a walk-forward" in not_wf.json()["detail"]
        malformed = _walkforward(c, sid, method="annealing")
        assert malformed.status_code == 422 and malformed.json()["field"] == "method"


def test_lookahead_passes_a_bundled_example_and_flags_a_peeking_strategy(server: Server) -> None:
    with server.client() as c:
        honest = c.post("/api/lookahead", json={"strategy_id": _upload(c, "sma la", SMA)["id"],
                                                "config": LA_CONFIG, "cuts": 2})
        assert honest.status_code == 200, honest.text
        out = honest.json()
        assert out["passed"] is True and out["findings"] == []
        assert len(out["cuts"]) == 2 and out["orders"] > 0 and out["indicators"]
        peek = c.post("/api/lookahead", json={"strategy_id": _upload(c, "peek", PEEK)["id"],
                                              "config": LA_CONFIG, "cuts": 2})
        assert peek.status_code == 200, peek.text
        flagged = peek.json()
        assert flagged["passed"] is False
        first = flagged["findings"][0]
        assert (first["kind"], first["name"], first["line"]) == ("indicator", "next_close(C)", 12)

    peek_file = server.log.parent / "peek.py"  # the CLI forwarded: exit 3 and the same JSON
    peek_file.write_text(PEEK)
    args = [f"--{k}={v}" for k, v in LA_CONFIG.items()]
    cli = _cli(server.log.parent / "home", "lookahead", str(peek_file), *args, "--cuts", "2",
               "--json")
    assert cli.returncode == 3 and "store directly" not in cli.stderr, cli.stderr
    assert json.loads(cli.stdout)["findings"][0]["line"] == 12


@pytest.mark.parametrize(("config", "cuts", "status", "needle"), [
    ({"symbol": "NOPEUSDT"}, 2, 400, "NOPEUSDT"),
    ({"start": "2024-01-01", "end": "2024-01-02"}, 2, 400, "at least 30"),
    ({"params": {"fsat": 3}}, 2, 400, "fsat"),
    ({}, 0, 422, "cuts"),
])
def test_lookahead_errors(server: Server, config: dict, cuts: int, status: int,
                          needle: str) -> None:
    with server.client() as c:
        sid = _upload(c, "sma la errors", SMA)["id"]
        done = c.post("/api/lookahead", json={"strategy_id": sid, "cuts": cuts,
                                              "config": {**LA_CONFIG, **config}})
        assert done.status_code == status, done.text
        assert needle in done.json()["detail"]
        missing = c.post("/api/lookahead", json={"strategy_id": 99_999, "config": LA_CONFIG})
        assert missing.status_code == 404


def test_cli_walkforward_is_forwarded_and_readable_through_the_api(server: Server) -> None:
    home = server.log.parent / "home"
    flags = [f"--{k}={v}" for k, v in WF_CONFIG.items()]
    done = _cli(home, "walkforward", str(REPO / "examples" / "sma_cross.py"), *flags,
                "--param", "fast=5:10:5", "--fixed", "slow=20", "--is", "20d", "--oos", "10d",
                "--trials", "2", "--workers", "1", "--json")
    assert done.returncode == 0 and "store directly" not in done.stderr, done.stderr
    printed = json.loads(done.stdout)
    assert printed["status"] == "completed" and len(printed["windows"]) == 2
    with server.client() as c:
        out = c.get(f"/api/walkforwards/{printed['study_id']}").json()
    assert out["status"] == "completed" and out["wfe"] == printed["wfe"]
