"""The HTTP API as a client uses it: `pineopt api` in a subprocess on a free loopback port (real
uvicorn, real DuckDB file, real firejail sandbox) driven with httpx."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.guards import STRATEGY_BODY_BYTES
from core.runs import endpoint
from tests.conftest import MACHINE_VARIABLES

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SMA = (REPO / "examples" / "sma_cross.py").read_text()
BROKEN = SMA.replace("import pandas as pd\n", "import pandas as pd\nimport os\n", 1)
BAD_LINE = BROKEN.splitlines().index("import os") + 1
TOKEN = "test-token-4f1d"  # noqa: S105 - a test server's token
CONFIG = {"symbol": "BTCUSDT", "timeframe": "1h", "start": "2024-01-01", "end": "2024-02-29",
          "commission": 0.001}
START_DEADLINE_S = 180  # a hang guard: starting under a loaded shared machine is slow
RUN_DEADLINE_S = 180


@dataclass
class Server:
    """A running `pineopt api` process."""

    url: str
    port: int
    proc: subprocess.Popen
    log: Path

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        """An httpx client for this server, with the bearer token unless ``token`` is None."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(home: Path, log: Path, token: str) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PINEOPT_") or k in MACHINE_VARIABLES}
    env.update(PINEOPT_HOME=str(home), PINEOPT_API_TOKEN=token, PINEOPT_POOL_SIZE="1")
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, str(REPO / "cli.py"), "api", "--port", str(port)], cwd=REPO,
            env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(url=f"http://127.0.0.1:{port}", port=port, proc=proc, log=log)
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the API did not answer: " + log.read_text()
        try:
            if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One API server with a token over a fresh copy of the sample store."""
    root = tmp_path_factory.mktemp("api")
    shutil.copytree(template_home, root / "home")
    running = _start(root / "home", root / "server.log", TOKEN)
    yield running
    _stop(running)


def _wait_finished(client: httpx.Client, run_id: int) -> dict:
    deadline = time.monotonic() + RUN_DEADLINE_S
    while True:
        run = client.get(f"/api/backtests/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def _upload(client: httpx.Client, name: str, source: str) -> dict:
    done = client.post("/api/strategies/upload", files={"file": (f"{name}.py", source.encode())},
                       data={"name": name})
    assert done.status_code == 201, done.text
    return done.json()


def test_whole_journey(server: Server) -> None:
    with server.client() as c:
        # upload -> validate with an error -> fixed via PUT
        created = _upload(c, "sma journey", BROKEN)
        sid = created["id"]
        assert created["valid"] is False and created["version"] == 1
        checked = c.post(f"/api/strategies/{sid}/validate").json()
        assert checked["valid"] is False
        errors = [i for i in checked["issues"] if i["severity"] == "error"]
        assert errors and errors[0]["line"] == BAD_LINE and "os" in errors[0]["message"]
        fixed = c.put(f"/api/strategies/{sid}", json={"source": SMA, "message": "no os"})
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["version"] == 2 and fixed.json()["valid"] is True
        assert [v["message"] for v in fixed.json()["versions"]] == ["no os", "from file"]
        assert c.post(f"/api/strategies/{sid}/validate").json() == {
            "valid": True, "issues": [], "version": 2}

        # start -> poll to completed; the identical request returns the stored run
        started = c.post("/api/backtests", json={"strategy_id": sid, "config": CONFIG})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        assert started.headers["location"] == f"/api/backtests/{run_id}"
        run = _wait_finished(c, run_id)
        assert run["status"] == "completed", run["error"]
        assert run["progress"] == 1 and run["strategy_version"] == 2
        again = c.post("/api/backtests", json={"strategy_id": sid, "config": CONFIG})
        assert again.status_code == 200 and again.json()["id"] == run_id
        assert again.json()["reused"] is True

        # metrics, trades (CSV), report (PDF)
        metrics = c.get(f"/api/backtests/{run_id}/metrics").json()
        by_name = {m["name"]: m for m in metrics["metrics"]}
        assert by_name["total_return"]["value"] == pytest.approx(run["total_return"])
        assert by_name["sharpe_ratio"]["definition"] and by_name["sharpe_ratio"]["label"]
        trades = c.get(f"/api/backtests/{run_id}/trades", params={"format": "csv"})
        assert trades.status_code == 200 and trades.headers["content-type"].startswith("text/csv")
        lines = trades.text.strip().splitlines()
        assert lines[0].startswith("n,side,")
        assert len(lines) - 1 == by_name["total_trades"]["value"] > 0
        as_json = c.get(f"/api/backtests/{run_id}/trades").json()["trades"]
        assert len(as_json) == len(lines) - 1
        pdf = c.get(f"/api/backtests/{run_id}/report")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        charts = c.get(f"/api/backtests/{run_id}/charts").json()
        assert charts["equity"][0]["equity_usdt"] == pytest.approx(100_000)
        assert len(charts["trades"]) == len(as_json)

        # a second run with another parameter -> compare
        other = c.post("/api/backtests", json={"strategy_id": sid,
                                               "config": {**CONFIG, "params": {"fast": 10}}})
        assert other.status_code == 202, other.text
        other_id = other.json()["id"]
        assert _wait_finished(c, other_id)["status"] == "completed"
        both = c.post("/api/backtests/compare", json={"run_ids": [run_id, other_id]})
        assert both.status_code == 200, both.text
        table = both.json()
        assert table["runs"] == [run_id, other_id]
        assert set(table["metrics"]) == {f"Run {run_id}", f"Run {other_id}"}
        assert any("fast" in str(row) for row in table["config_differences"])

        # delete: the second run goes, the strategy leaves the library, the first run stays
        gone = c.delete(f"/api/backtests/{other_id}")
        assert gone.status_code == 200 and gone.json()["deleted"] is True
        missing = c.get(f"/api/backtests/{other_id}")
        assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
        assert c.delete(f"/api/strategies/{sid}").json()["deleted"] is True
        listed = c.get("/api/strategies").json()
        assert sid not in [s["id"] for s in listed["items"]]
        kept = c.get(f"/api/backtests/{run_id}").json()
        assert kept["status"] == "completed" and kept["strategy_deleted"] is True
        assert c.get(f"/api/strategies/{sid}").json()["deleted"] is True


def test_auth_bad_and_missing_token(server: Server) -> None:
    assert "bearer token required" in server.log.read_text()
    with server.client(token=None) as anonymous:
        assert anonymous.get("/api/health").status_code == 200  # Docker's health check
        refused = anonymous.get("/api/strategies")
        assert refused.status_code == 401
        assert "Authorization: Bearer" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/api/openapi.json").status_code == 200
    with server.client(token="wrong-token") as wrong:
        denied = wrong.get("/api/strategies")
        assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
        assert "PINEOPT_API_TOKEN" in denied.json()["detail"]


def _raw(server: Server, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand (headers, then body chunks) and read the whole response."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


def test_oversize_upload_refused_before_the_body_is_read(server: Server) -> None:
    from core.strategies.files import MAX_UPLOAD_BYTES

    # A declared length over the limit: answered from the headers alone (no body is ever sent).
    head = (b"POST /api/strategies/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TOKEN.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(50 * MAX_UPLOAD_BYTES).encode() + b"\r\n\r\n")
    reply = _raw(server, head, [])
    assert reply.startswith(b"HTTP/1.1 413 ")
    from api.guards import human_size

    said = (f"is {human_size(50 * MAX_UPLOAD_BYTES)}; the limit here is "
            f"{human_size(STRATEGY_BODY_BYTES)}").encode()
    assert said in reply and b"Remove unused code" in reply
    # A chunked body without a length: refused once it passes the limit. One chunk of limit + 1
    # bytes, sent without its closing CRLF, so the server has read every byte sent when it
    # refuses (closing with unread bytes would reset the connection before the reply is read).
    head = head.replace(b"Content-Length: " + str(50 * MAX_UPLOAD_BYTES).encode(),
                        b"Transfer-Encoding: chunked")
    size = STRATEGY_BODY_BYTES + 1
    reply = _raw(server, head, [b"%x\r\n" % size, b"x" * size])
    assert reply.startswith(b"HTTP/1.1 413 ") and b"is larger than that" in reply
    # The same file the UI refuses: a wrong extension, with the UI's message.
    with server.client() as c:
        wrong = c.post("/api/strategies/upload", files={"file": ("notes.txt", b"print(1)")})
        assert wrong.status_code == 400
        assert "only .py (Python) and .pine (Pine Script) files" in wrong.json()["detail"]


def test_unknown_ids_get_404_with_the_cli_message(server: Server) -> None:
    with server.client() as c:
        for method, path, text in (
                ("GET", "/api/strategies/9999", "Strategy 9999 does not exist"),
                ("PUT", "/api/strategies/9999", "Strategy 9999 does not exist"),
                ("DELETE", "/api/strategies/9999", "Strategy 9999 does not exist"),
                ("POST", "/api/strategies/9999/validate", "Strategy 9999 does not exist"),
                ("GET", "/api/backtests/9999", "Run 9999 does not exist"),
                ("DELETE", "/api/backtests/9999", "Run 9999 does not exist"),
                ("GET", "/api/backtests/9999/report", "Run 9999 does not exist"),
                ("GET", "/api/backtests/9999/metrics", "Run 9999 does not exist")):
            body = {"json": {"source": SMA}} if method == "PUT" else {}
            done = c.request(method, path, **body)
            assert done.status_code == 404, (path, done.text)
            assert done.json()["error"] == "not_found" and text in done.json()["detail"], path
        started = c.post("/api/backtests", json={"strategy_id": 9999, "config": CONFIG})
        assert started.status_code == 404


def test_malformed_bodies_name_the_field(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma errors", SMA)["id"]
        cases = (
            ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
            ({"json": {"strategy_id": sid, "config": {"timeframe": "1h"}}}, "config.symbol"),
            ({"json": {"strategy_id": "abc", "config": CONFIG}}, "strategy_id"),
            ({"json": {"strategy_id": sid, "config": {**CONFIG, "fees": 1}}}, "config.fees"),
            ({"json": {"strategy_id": sid, "config": {**CONFIG, "timeframe": "7h"}}},
             "config.timeframe"),
        )
        for request, field in cases:
            done = c.post("/api/backtests", **request)
            assert done.status_code == 422, (field, done.text)
            error = done.json()
            assert error["error"] == "malformed_request" and error["field"] == field, error
            assert error["detail"].startswith(field) and "/api/docs" in error["detail"]
        bad_value = c.post("/api/backtests", json={
            "strategy_id": sid, "config": {**CONFIG, "params": {"fast": 1000}}})
        assert bad_value.status_code == 400 and "outside its range" in bad_value.json()["detail"]
        no_source = c.post("/api/strategies/upload", json={"name": "x"})
        assert no_source.status_code == 422 and no_source.json()["field"] == "source"


def test_rejected_run_has_no_results_409_and_line(server: Server) -> None:
    with server.client() as c:
        sid = _upload(c, "sma broken", BROKEN)["id"]
        started = c.post("/api/backtests", json={"strategy_id": sid, "config": CONFIG})
        assert started.status_code == 202
        run = _wait_finished(c, started.json()["id"])
        assert run["status"] == "rejected" and f"line {BAD_LINE}" in run["error"]
        no_results = c.get(f"/api/backtests/{run['id']}/metrics")
        assert no_results.status_code == 409
        assert "only completed runs have results" in no_results.json()["detail"]
        pine = c.post("/api/translate", json={"source": "//@version=5\nstrategy(\"x\")\n"
                                                        "request.security(syminfo.tickerid, "
                                                        "\"D\", close)\n", "language": "pine"})
        assert pine.status_code == 422 and pine.json()["line"] == 3


def test_serve_runs_the_app_and_the_api_and_docker_health_checks_both(
        template_home: Path, tmp_path: Path) -> None:
    shutil.copytree(template_home, tmp_path / "home")
    app_port, api_port = _free_port(), _free_port()
    env = {**os.environ, "PINEOPT_HOME": str(tmp_path / "home")}
    env.pop("PINEOPT_API_TOKEN", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, str(REPO / "cli.py"), "serve", "--port", str(app_port),
             "--api-port", str(api_port)], cwd=REPO, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    # The Dockerfile's HEALTHCHECK command, pointed at this pair of ports.
    dockerfile = (REPO / "Dockerfile").read_text()
    check = dockerfile[dockerfile.index('CMD python -c "') + 15:]
    check = check[:check.index('"\n')].replace("8501/", f"{app_port}/").replace(
        "8000/", f"{api_port}/")
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while subprocess.run([sys.executable, "-c", check], check=False,  # noqa: S603
                             capture_output=True).returncode != 0:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
        assert "listens on 127.0.0.1 only" in log.read_text()
        # the running app owns the store: the CLI reaches it through the endpoint file
        owner = endpoint.read(tmp_path / "home")
        assert owner is not None and owner.port == api_port
        listed = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, str(REPO / "cli.py"), "runs", "list", "--json"], cwd=REPO,
            env=env, capture_output=True, text=True, check=False, timeout=300)
        assert (listed.returncode, listed.stdout, listed.stderr) == (0, "[]\n", "")
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0, log.read_text()
    assert not endpoint.path(tmp_path / "home").exists()
    for port in (app_port, api_port):  # both servers stopped with it
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
