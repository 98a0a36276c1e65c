"""No Docker engine runs here, so check that the Dockerfile stays in step with the repo."""

from __future__ import annotations

import re
from pathlib import Path

from api.server import DEFAULT_PORT
from clicmd import serve

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


FINAL_STAGE = DOCKERFILE[DOCKERFILE.rindex("\nFROM "):]


def _final_env() -> dict[str, str]:
    """NAME=value pairs of the final stage's ENV instructions (with line continuations)."""
    joined = re.sub(r"\\\n", " ", FINAL_STAGE)
    pairs = re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", joined, re.M)))
    return dict(pairs)


def test_base_image_is_python_311_slim() -> None:
    assert re.findall(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    assert re.search(r"^FROM python:3\.11-slim$", FINAL_STAGE, re.M)


def test_installs_the_same_requirement_files_and_runs_the_setup_script() -> None:
    assert "-r requirements.txt" in FINAL_STAGE and "-r /src/requirements-sandbox.txt" in DOCKERFILE
    assert "COPY requirements.txt requirements-sandbox.txt" in DOCKERFILE
    # The image is set up by the same script as a host, so a missing step fails both alike.
    assert "./scripts/setup_system.sh" in FINAL_STAGE
    script = (REPO / "scripts" / "setup_system.sh").read_text()
    assert "PKGS=(firejail)" in script and "apt-get install" in script


def test_no_build_toolchain_in_the_final_image() -> None:
    assert "build-essential" in DOCKERFILE.split(FINAL_STAGE)[0]  # only in the build stage
    for tool in ("build-essential", "gcc", "g++", "make "):
        assert tool not in FINAL_STAGE


def test_firejail_knows_it_is_in_a_container_and_the_store_is_a_volume() -> None:
    env = _final_env()
    assert env["container"] == "docker"
    home = env["PINEOPT_HOME"]
    assert re.search(rf'^VOLUME \["{re.escape(home)}"\]$', FINAL_STAGE, re.M)


def test_sandbox_user_is_unprivileged_and_not_the_app_user() -> None:
    env = _final_env()
    user = env["PINEOPT_SANDBOX_USER"]
    app_user = (re.findall(r"^USER (\S+)", FINAL_STAGE, re.M) or ["root"])[-1]
    assert user not in ("root", "nobody", app_user)
    sandbox_home = env["PINEOPT_SANDBOX_HOME"]
    assert not sandbox_home.startswith(("/root", "/app", "/data"))


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


def test_ports_and_healthcheck() -> None:
    assert re.search(r"^EXPOSE 8501 8000 8786 8787$", DOCKERFILE, re.M)  # app, API, Dask
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
    # `pineopt serve` turns into the same streamlit command line for both.
    assert serve.command(8501, "0.0.0.0")[2:5] == ["streamlit", "run", str(REPO / "app.py")]


def test_the_dask_compose_file_runs_one_image_as_scheduler_workers_and_app() -> None:
    import yaml

    services = yaml.safe_load((REPO / "docker-compose.dask.yml").read_text())["services"]
    assert {s["image"] for s in services.values()} == {"pineopt"}
    assert services["scheduler"]["command"][:2] == ["dask", "scheduler"]
    worker = services["worker"]
    assert worker["command"][:2] == ["pineopt", "worker"]
    assert "SYS_ADMIN" in worker["cap_add"] and "seccomp=unconfined" in worker["security_opt"]
    address = worker["command"][worker["command"].index("--scheduler") + 1]
    assert services["app"]["environment"]["PINEOPT_DASK_SCHEDULER"] == address
    assert "command" not in services["app"]  # the image's CMD: the app and the API
