"""One owner of the store (issue #18): while `pineopt api` runs it owns the DuckDB file and the
CLI sends its commands through it (clicmd.forward). Real server processes on free loopback
ports, a real DuckDB file, real firejail sandboxes, the real `pineopt` command in subprocesses.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import cli
from api.app import create_app
from clicmd import forward
from core.runs import endpoint
from tests.conftest import MACHINE_VARIABLES, make_settings
from tests.integration.test_api import REPO, Server, _start, _stop, _wait_finished

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
SMA = REPO / "examples" / "sma_cross.py"
MONTH = ["--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2024-01-01", "--end",
         "2024-01-31"]
CLI_TIMEOUT_S = 600
BATCH = 20
BATCH_CONFIG = {"symbol": "BTCUSDT", "timeframe": "1h", "start": "2024-01-01",
                "end": "2024-01-31"}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PINEOPT_") or k in MACHINE_VARIABLES}
    return {**env, "PINEOPT_HOME": str(home)}


def _cli(home: Path, *argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *argv], cwd=cwd,  # noqa: S603
                          env=_env(home), capture_output=True, text=True, check=False,
                          timeout=CLI_TIMEOUT_S)


def _leaves(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    found = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                found += _leaves(sub, f"{prefix} {name}".strip())
    return found or [prefix]


@pytest.fixture
def owned(template_home: Path, tmp_path: Path) -> Iterator[Server]:
    """A `pineopt api` process without PINEOPT_API_TOKEN (loopback) owning a fresh store."""
    shutil.copytree(template_home, tmp_path / "home")
    server = _start(tmp_path / "home", tmp_path / "server.log", "")
    yield server
    _stop(server)


def test_every_cli_command_has_an_endpoint(settings: object) -> None:
    paths = create_app(settings).openapi()["paths"]
    routes = {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    commands = _leaves(cli.build_parser())
    assert sorted(commands) == sorted(forward.COMMANDS), "a command without a table entry"
    missing = {c: r.endpoint for c, r in forward.COMMANDS.items() if r.endpoint not in routes}
    assert not missing, missing
    assert "POST /api/cli" in routes


def test_endpoint_file_private_while_running_and_removed_at_stop(owned: Server) -> None:
    home = Path(_env_home(owned))
    ep = endpoint.read(home)
    assert ep is not None and ep.port == owned.port and ep.pid == owned.proc.pid
    assert stat.S_IMODE(endpoint.path(home).stat().st_mode) == 0o600
    assert len(ep.token) >= 40
    second = _cli(home, "api", "--port", "0")  # one owner: a second server is refused
    assert second.returncode == 1
    assert f"Another PineOpt server (process {owned.proc.pid}" in second.stderr
    assert endpoint.read(home) == ep
    _stop(owned)
    assert not endpoint.path(home).exists()


def _server_logs(home: Path) -> str:
    """The tail of the owner's log files (a forwarded command's traceback is there)."""
    logs = sorted((home / "logs").glob("*.log*"))
    return "\n".join(f"== {log.name}\n" + log.read_text(errors="replace")[-6000:]
                     for log in logs)


def _env_home(server: Server) -> str:
    log = Path(server.log)
    return str(log.parent / "home")


def _outputs(commands: list[list[str]], capfd: pytest.CaptureFixture[str]
             ) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each command, run by cli.main in this process."""
    done = []
    for argv in commands:
        code = cli.main(argv)
        out, err = capfd.readouterr()
        done.append((code, out, err))
    return done


def test_forwarded_output_is_the_local_output(owned: Server, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    home = Path(_env_home(owned))
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(SMA, work / "sma_cross.py")
    monkeypatch.chdir(work)
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    writes = [["backtest", "sma_cross.py", *MONTH, "--json"], ["backtest", "sma_cross.py", *MONTH]]
    reads = [["runs", "list", "--json"], ["runs", "list"], ["runs", "show", "1"],
             ["report", "1", "--format", "json", "-o", "-"],
             ["report", "1", "--format", "csv", "-o", "out/trades.csv"],
             ["strategies", "list"], ["studies", "list", "--json"],
             ["montecarlo", "1", "--paths", "50", "--json"], ["runs", "show", "999", "--json"],
             ["runs", "show", "999"]]
    forwarded = _outputs(writes + reads, capfd)
    assert forwarded[0][0] == 0, forwarded[0]
    assert json.loads(forwarded[0][1])["status"] == "completed"
    written = (work / "out" / "trades.csv").read_bytes()
    (work / "out" / "trades.csv").unlink()
    _stop(owned)
    assert not endpoint.path(home).exists()
    local = _outputs(reads, capfd) + _outputs(writes, capfd)  # reads first: a save touches
    for command, there, here in zip(reads + writes, forwarded[2:] + forwarded[:2],  # updated_at
                                    local, strict=True):
        assert there == here, command
    assert (work / "out" / "trades.csv").read_bytes() == written
    assert "Run 999 does not exist" in local[len(reads) - 1][2]


def test_stale_endpoint_file_falls_back_to_the_store(template_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = {"host": "127.0.0.1", "port": port, "token": "x" * 43, "pid": 999_999,
            "instance": uuid.uuid4().hex, "started_at": "2026-01-01 00:00:00"}
    endpoint.path(home).write_text(json.dumps(dead))
    done = _cli(home, "runs", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is gone; using the store directly" in lines[0], done.stderr
    assert not endpoint.path(home).exists()

    # alive but not answering: the owner's instance lock is held (by this test process)
    from core.runs import instance

    alive = {**dead, "instance": instance.token(home), "pid": os.getpid()}
    endpoint.path(home).write_text(json.dumps(alive))
    done = _cli(home, "runs", "list", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not answer" in lines[0], done.stderr
    assert "using the store directly" in lines[0]


def test_wrong_token_is_refused_with_what_to_do(owned: Server) -> None:
    home = Path(_env_home(owned))
    ep = endpoint.read(home)
    assert ep is not None
    raw = json.loads(endpoint.path(home).read_text())
    endpoint.path(home).write_text(json.dumps({**raw, "token": "forged-" + "y" * 36}))
    done = _cli(home, "runs", "list")
    assert done.returncode == 1 and done.stdout == ""
    assert "refused the command" in done.stderr
    assert "Restart the server to rewrite the file" in done.stderr
    as_json = _cli(home, "runs", "list", "--json")
    assert as_json.returncode == 1 and "Restart the server" in json.loads(as_json.stdout)["error"]
    refused = httpx.post(owned.url + "/api/cli", json={"argv": ["runs", "list"], "cwd": "/"},
                         headers={"Authorization": "Bearer nope"}, timeout=30)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    no_token = httpx.post(owned.url + "/api/cli", json={"argv": ["runs", "list"], "cwd": "/"},
                          timeout=30)
    assert no_token.status_code == 403
    endpoint.path(home).write_text(json.dumps(raw))
    assert _cli(home, "runs", "list", "--json").returncode == 0


def test_three_cli_backtests_during_a_batch_of_20(owned: Server) -> None:
    """Issue #18's load: the owner runs a batch of 20 while 3 CLI backtests are started; every
    run completes and no command fails "busy". Prints the closing figures."""
    home = Path(_env_home(owned))
    with owned.client(token=None) as c:
        up = c.post("/api/strategies/upload", files={"file": ("batch.py", SMA.read_bytes())},
                    data={"name": "batch"})
        assert up.status_code == 201, up.text
        sid = up.json()["id"]
        batch = [c.post("/api/backtests", json={
            "strategy_id": sid, "config": {**BATCH_CONFIG, "params": {"fast": 5 + i}}})
            for i in range(BATCH)]
        assert all(r.status_code == 202 for r in batch), [r.text for r in batch]
        ids = [r.json()["id"] for r in batch]
        with ThreadPoolExecutor(max_workers=3) as pool:
            cli_runs = list(pool.map(
                lambda fast: _cli(home, "backtest", str(SMA), *MONTH, "--param",
                                  f"fast={fast}", "--json"), (40, 41, 42)))
        finals = [_wait_finished(c, run_id) for run_id in ids]
        recorded = c.get("/api/backtests", params={"limit": 500}).json()
    assert [done.returncode for done in cli_runs] == [0, 0, 0], (
        [d.stderr for d in cli_runs], _server_logs(home))
    outputs = [json.loads(done.stdout) for done in cli_runs]
    busy = sum("busy" in (done.stdout + done.stderr).lower() for done in cli_runs)
    completed = sum(f["status"] == "completed" for f in finals) + sum(
        o["status"] == "completed" for o in outputs)
    print(f"\nruns asked {BATCH + 3} / recorded {recorded['total']} / completed {completed}; "
          f"CLI busy failures {busy}")
    assert busy == 0
    assert recorded["total"] == BATCH + 3 and completed == BATCH + 3
    assert all("using the store directly" not in done.stderr for done in cli_runs)


@pytest.fixture
def in_process_owner(template_home: Path, tmp_path: Path) -> Iterator[Path]:
    """This test process owns a fresh store with the API on a background thread (api.owner,
    as under `pineopt serve`), able to run forwarded commands; yields the home."""
    from api import hooks, owner

    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    hooks.set_cli_runner(functools.partial(forward.execute, build_parser=cli.build_parser,
                                           run_handler=cli.run_handler))
    owner.start(make_settings(home, pool_size="1"), host="127.0.0.1", port=0)
    try:
        yield home
    finally:
        owner.stop()
    assert not endpoint.path(home).exists()


def test_a_forwarded_backtest_streams_its_progress_while_it_runs(in_process_owner: Path) -> None:
    """The progress bar reaches the caller while the run is still running: on the first
    progress part this test takes the owner's store writer lock, so the run cannot store its
    result (and become completed) until the test has looked at its state."""
    from core import store
    from core.runs import service as runs

    home = in_process_owner
    ep = endpoint.read(home)
    assert ep is not None
    db = make_settings(home).db_path
    body = {"argv": ["backtest", str(SMA), *MONTH], "cwd": str(REPO), "tty": True}
    headers = {"Authorization": f"Bearer {ep.token}", "Accept": forward.NDJSON}
    seen: list[list[str]] = []
    state_at_progress = None
    with httpx.stream("POST", ep.url + forward.CLI_PATH, json=body, headers=headers,
                      timeout=httpx.Timeout(CLI_TIMEOUT_S)) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith(forward.NDJSON)
        lines = reply.iter_lines()
        for line in lines:
            part = json.loads(line)["part"]
            seen.append(part)
            if part[0] == "stderr" and part[2].endswith("%"):
                break
        with store._writer_lock(db):  # noqa: SLF001 - holds the run before it stores results
            run = runs.list_runs(db)[0]
            state_at_progress = (run.status.value, [p for p in seen if p[0] == "stdout"])
        rest = [json.loads(line) for line in lines if line.strip()]
    assert state_at_progress == ("running", []), state_at_progress
    assert ["stderr", "control", "\r"] in seen  # a terminal's progress bar, redrawn in place
    assert rest[-1] == {"exit_code": 0}, rest
    out = "".join(item["part"][2] for item in rest[:-1] if item["part"][0] == "stdout")
    assert out.startswith(f"run {run.id}: completed\n"), out
    assert runs.get_run(db, run.id).status.value == "completed"


def test_the_json_reply_stays_for_clients_that_do_not_stream(in_process_owner: Path) -> None:
    ep = endpoint.read(in_process_owner)
    assert ep is not None
    reply = httpx.post(ep.url + forward.CLI_PATH, json={"argv": ["runs", "list", "--json"],
                                                       "cwd": "/"},
                       headers={"Authorization": f"Bearer {ep.token}"}, timeout=CLI_TIMEOUT_S)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    assert reply.json() == {"exit_code": 0, "parts": [["stdout", "text", "[]"],
                                                      ["stdout", "text", "\n"]]}


def test_a_second_serve_on_the_same_home_is_refused(in_process_owner: Path) -> None:
    home = in_process_owner
    ep = endpoint.read(home)
    assert ep is not None and ep.pid == os.getpid()
    second = _cli(home, "serve", "--port", "0", "--api-port", "0")
    assert second.returncode == 1, second.stderr
    assert f"Another PineOpt server (process {os.getpid()}, {ep.url})" in second.stderr
    assert endpoint.read(home) == ep  # the first owner's file is left alone
