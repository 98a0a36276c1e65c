"""Browser fixtures: a served app with its own PINEOPT_HOME, and Playwright on Debian Chromium.

See ../shared/reference/ui-testing.md: Playwright cannot download browsers here, so we launch
/usr/bin/chromium. The app runs as a real `streamlit run` subprocess on a free loopback port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e drives the browser."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium instead of a Playwright-downloaded build."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """1280x900 viewport, downloads allowed."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900},
            "accept_downloads": True}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(home: Path, *, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` on a free port with PINEOPT_HOME=home; wait for health."""
    port = _free_port()
    env = {**os.environ, "PINEOPT_HOME": str(home), **(extra_env or {})}
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless",
         "true", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as resp:  # noqa: S310
                if resp.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited: " + proc.stderr.read().decode()[-2000:])
    proc.terminate()
    raise RuntimeError("streamlit did not become healthy in 60 s")


def kill_if_running(proc: subprocess.Popen) -> None:
    """Kill a served app still running at a test's end (one that stopped on its own is left)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def app_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PINEOPT_HOME for one test module's app (copied from the template store)."""
    target = tmp_path_factory.mktemp("app") / "home"
    shutil.copytree(template_home, target)
    return target


@pytest.fixture(scope="module")
def app_url(app_home: Path) -> Iterator[str]:
    """URL of a served app using ``app_home``; stopped after the module."""
    proc, url = start_app(app_home)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stderr:
            proc.stderr.close()


def wait_idle(page: object, *, timeout_ms: float = 60_000) -> None:
    """Wait until the Streamlit script is not running (the app root's data-test-script-state),
    after a short pause for debounced component updates (streamlit-ace posts 200 ms after
    typing). Clicking while a rerun is in flight can be lost, so journeys call this first."""
    page.wait_for_timeout(400)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout_ms)


def click_run_quickly(page: object, url: str, clicks: int, *,
                      strategy: str = "Clicks SMA (v1)", answer_ms: float = 60_000) -> None:
    """``clicks`` Run clicks on the Backtest page with ``strategy`` selected and forced re-runs,
    without waiting for the script to be idle between clicks; each click must be answered on the
    page ("Run requests answered in this session: N") before the next one."""
    import re

    from playwright.sync_api import expect

    page.goto(url + "/backtest")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Backtest")).to_be_visible(  # type: ignore[attr-defined]
        timeout=60_000)
    expect(page.get_by_role("combobox", name="Strategy")).to_have_value(  # type: ignore[attr-defined]
        strategy, timeout=30_000)
    page.get_by_text("Run again even if an identical run exists").click()  # type: ignore[attr-defined]
    wait_idle(page)
    button = page.get_by_role("button", name="Run backtest")  # type: ignore[attr-defined]
    answered = page.get_by_text(  # type: ignore[attr-defined]
        re.compile(r"Run requests answered in this session: \d+"))
    for clicked in range(1, clicks + 1):
        button.click()  # no waiting for the script to be idle: runs and the Jobs panel rerun
        expect(answered).to_have_text(f"Run requests answered in this session: {clicked}",
                                      timeout=answer_ms)
