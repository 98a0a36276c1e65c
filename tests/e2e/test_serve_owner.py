"""One owner of the store under `pineopt serve` (issue #18): the app and the API are one
process, the only one with the DuckDB file open, while Run clicks in Chromium and three CLI
backtests (forwarded to it) go on at the same time; every run completes, no click is lost and
no command fails "busy". A second server on the same home is refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from core.model import Language, RunStatus, StrategyMeta
from core.runs import endpoint
from core.runs import service as runs
from core.strategies import crud as strategies
from tests.conftest import MACHINE_VARIABLES, REPO, make_settings
from tests.e2e.conftest import _free_port, click_run_quickly, kill_if_running

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
CLICKS = 20
CLI_RUNS = 3
START_DEADLINE_S = 180  # a hang guard: a start on a loaded shared machine is slow
RUNS_DEADLINE_S = 900
SMA = REPO / "examples" / "sma_cross.py"
MONTH = ["--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2024-01-01", "--end",
         "2024-01-31"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PINEOPT_") or k in MACHINE_VARIABLES}
    return {**env, "PINEOPT_HOME": str(home), "PINEOPT_MAX_CONCURRENT": "2",
            "PINEOPT_POOL_SIZE": "1"}


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *argv], cwd=REPO,  # noqa: S603
                          env=_env(home), capture_output=True, text=True, check=False,
                          timeout=RUNS_DEADLINE_S)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def served(template_home: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`pineopt serve` (2 runs at once) over a fresh store with the SMA example saved; yields
    (process, app url, home)."""
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    strategies.save_by_name(make_settings(home).db_path, meta=StrategyMeta(name="Clicks SMA"),
                            source=SMA.read_text(), language=Language.PYTHON)
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, str(REPO / "cli.py"), "serve", "--port", str(port), "--api-port", "0"],
        cwd=REPO, env=_env(home), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_S
    while not (_healthy(url + "/_stcore/health") and endpoint.read(home) is not None):
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
        time.sleep(0.2)
    try:
        yield proc, url, home
    finally:
        kill_if_running(proc)
        log.close()


def _holders(db: Path) -> set[int]:
    """PIDs of every process with the DuckDB file (or its WAL) open, from /proc/PID/fd."""
    names = {str(db), str(db) + ".wal"}
    found = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in names for fd in fd_dir.iterdir()):
                found.add(int(fd_dir.parent.name))
        except OSError:  # the process ended meanwhile, or is not ours to look at
            continue
    return found


def _parent(pid: int) -> int:
    """The parent PID of ``pid`` (0 once it ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _others(db: Path, owner: int) -> set[int]:
    """Holders of the store other than ``owner`` and its own forks: a sandbox launch forks the
    server, and the fork holds the server's descriptors until it closes them right before exec."""
    return {pid for pid in _holders(db) - {owner} if _parent(pid) != owner}


def _described(pids: set[int]) -> list[str]:
    """``pid: command line`` of each process (for the failure message)."""
    out = []
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "(ended)"
        out.append(f"{pid}: {cmd.strip()}")
    return out


def _finished(api: httpx.Client, expected: int) -> list[dict]:
    """Every run once none is queued or running (and all ``expected`` are recorded)."""
    deadline = time.monotonic() + RUNS_DEADLINE_S
    while True:
        items = api.get("/api/backtests", params={"limit": 500}).json()["items"]
        if len(items) >= expected and all(r["status"] not in ("queued", "running")
                                          for r in items):
            return items
        assert time.monotonic() < deadline, [r["status"] for r in items]
        time.sleep(0.5)


def test_serve_is_the_one_owner_while_clicks_and_cli_backtests_run(page: Page, served) -> None:
    proc, url, home = served
    db = make_settings(home).db_path
    ep = endpoint.read(home)
    assert ep is not None and ep.pid == proc.pid  # the app's process publishes the endpoint
    second = _cli(home, "api", "--port", "0")
    assert second.returncode == 1 and f"Another PineOpt server (process {proc.pid}" in \
        second.stderr, second.stderr
    with db.open("rb"):  # the probe sees any process's descriptors of the file (this one's)
        assert os.getpid() in _holders(db)
    foreign: set[int] = set()
    described: set[str] = set()
    with ThreadPoolExecutor(max_workers=CLI_RUNS) as pool:
        cli_runs = [pool.submit(_cli, home, "backtest", str(SMA), *MONTH, "--param",
                                f"fast={40 + i}", "--json") for i in range(CLI_RUNS)]
        click_run_quickly(page, url, CLICKS)
        while not all(f.done() for f in cli_runs):  # sampled while the CLI runs are going on
            seen = _others(db, proc.pid)
            described |= set(_described(seen - foreign))
            foreign |= seen
            time.sleep(0.2)
        done = [f.result() for f in cli_runs]
    with httpx.Client(base_url=ep.url, timeout=120) as api:
        final = _finished(api, CLICKS + CLI_RUNS)
    foreign |= _others(db, proc.pid)
    busy = sum("busy" in (d.stdout + d.stderr).lower() for d in done)
    cli_ids = {json.loads(d.stdout)["run_id"] for d in done if d.returncode == 0}
    page_runs = [r for r in final if r["id"] not in cli_ids]
    completed = sum(r["status"] == RunStatus.COMPLETED.value for r in final)
    print(f"\nruns asked {CLICKS + CLI_RUNS} / recorded {len(final)} / completed {completed}; "
          f"clicks lost {CLICKS - len(page_runs)}; CLI busy failures {busy}; processes other "
          f"than serve with the store open: {sorted(foreign) or 'none'}")
    assert [d.returncode for d in done] == [0] * CLI_RUNS, [d.stderr for d in done]
    assert all("using the store directly" not in d.stderr for d in done)
    assert busy == 0 and not foreign, sorted(described)
    assert len(page_runs) == CLICKS and len(cli_ids) == CLI_RUNS
    assert completed == CLICKS + CLI_RUNS, [(r["id"], r["status"], r["error"]) for r in final]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not endpoint.path(home).exists()
    assert len(runs.list_runs(db)) == CLICKS + CLI_RUNS
