"""No Docker engine runs here, so check that the Dockerfile stays in step with the repo."""

from __future__ import annotations

import re
from pathlib import Path

from api.server import DEFAULT_PORT
from clicmd import serve

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_base_image_is_python_311_slim() -> None:
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)


def test_installs_the_same_requirement_files_and_firejail() -> None:
    assert "pip install --no-cache-dir -r requirements.txt" in DOCKERFILE
    assert "-r requirements-sandbox.txt" in DOCKERFILE
    assert re.search(r"apt-get install[^\n]*firejail", DOCKERFILE)
    for name in ("requirements.txt", "requirements-sandbox.txt"):
        assert (REPO / name).is_file()
        assert f"COPY requirements.txt requirements-sandbox.txt" in DOCKERFILE


def test_every_runtime_requirement_is_pinned() -> None:
    for name in ("requirements.txt", "requirements-sandbox.txt", "requirements-dev.txt"):
        lines = [ln.strip() for ln in (REPO / name).read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")]
        assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", ln) for ln in lines), name


def test_sandbox_requirements_match_runtime_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        out = {}
        for ln in (REPO / name).read_text().splitlines():
            if "==" in ln and not ln.startswith("#"):
                pkg, ver = ln.strip().split("==")
                out[pkg.lower()] = ver
        return out
    runtime, sandbox = pins("requirements.txt"), pins("requirements-sandbox.txt")
    assert {k: runtime.get(k) for k in sandbox} == sandbox


def test_non_root_user_port_and_healthcheck() -> None:
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)
    assert re.search(r"^EXPOSE 8501 8000$", DOCKERFILE, re.M)
    check = re.search(r"^HEALTHCHECK .*\n?.*$", DOCKERFILE, re.M).group(0)
    # both servers must answer: the app's health endpoint and the API's (no token needed)
    assert "8501/_stcore/health" in check and "8000/api/health" in check and " and " in check


def test_start_command_is_the_make_run_command() -> None:
    cmd = re.search(r'^CMD \[(.*)\]$', DOCKERFILE, re.M)
    assert cmd is not None
    argv = re.findall(r'"([^"]*)"', cmd.group(1))
    makefile = (REPO / "Makefile").read_text()
    run_line = re.search(r"^run:.*\n\t(.*)$", makefile, re.M).group(1)
    assert argv[:2] == ["pineopt", "serve"] and "pineopt serve" in run_line
    assert argv[argv.index("--port") + 1] == "8501"
    assert argv[argv.index("--api-port") + 1] == "8000" == str(DEFAULT_PORT)
    assert serve.api_command(8000, "0.0.0.0")[2:] == ["api", "--host", "0.0.0.0", "--port",
                                                      "8000"]
    # `pineopt serve` turns into the same streamlit command line for both.
    assert serve.command(8501, "0.0.0.0")[2:5] == ["streamlit", "run", str(REPO / "app.py")]
