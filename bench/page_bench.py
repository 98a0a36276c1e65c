"""Results page timing in headless Chromium (issue 16): a 3-year hourly run (26,304 bars) from
navigation to every chart drawn, first open (chart specs computed) and again (cached), and the
switch back to the Charts tab (until its panel is the shown one with every chart drawn), and
the first opening of the Price tab (drawn only when opened) until its chart is drawn;
and Results reached by a click in the app (from the Glossary page, same tab), as a person does;
for the clicks, the CPU seconds the browser's main thread and the app server spent (medians):
where the time goes, and figures a loaded machine inflates far less than wall times.
Baseline: the same browser and a server of the same Streamlit loading a page that only shows a
title, measured in the same run. Figures are medians of REPEAT; the machine's load average is
printed with them (a shared 2-core machine inflates wall times: read the ratio).
Targets: <= 1.5 s to all charts, <= 0.5 s for a tab switch.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import row, temp_settings
from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
CHARTS = 7  # equity, underwater, monthly, yearly, P&L, duration, rolling (the Charts tab)
REPEAT = 5
ALL_DRAWN = ("n => document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')"
             ".length >= n")
# The shown tab panel (hidden ones keep their charts mounted) holds every chart, drawn.
CHARTS_SHOWN = ("n => [...document.querySelectorAll('[role=tabpanel]')].some(p => "
                "p.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks').length >= n)")
EMPTY_PAGE = 'import streamlit as st\n\nst.title("Empty")\n'
_SERVER_PIDS: dict[str, int] = {}  # served url -> its process id


@contextmanager
def _served(script: Path, home: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PINEOPT_HOME": str(home)}
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _SERVER_PIDS[url] = proc.pid
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def _timed_open(browser: object, url: str, ready: str, arg: object = None) -> float:
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(ready, arg=arg, timeout=180_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def _tab_switch(browser: object, url: str) -> tuple[float, float]:
    """Seconds of Metrics -> Charts (kept drawn) and of a first Price opening."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_function(ALL_DRAWN, arg=CHARTS, timeout=180_000)
    page.get_by_role("tab", name="Metrics").click()
    page.get_by_text("Performance summary").wait_for(timeout=60_000)
    start = time.perf_counter()
    page.get_by_role("tab", name="Charts").click()
    page.wait_for_function(CHARTS_SHOWN, arg=CHARTS, timeout=180_000)
    switch = time.perf_counter() - start
    start = time.perf_counter()
    page.get_by_role("tab", name="Price").click()
    page.wait_for_function(CHARTS_SHOWN, arg=1, timeout=180_000)
    price = time.perf_counter() - start
    page.close()
    return switch, price


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _clicked_open(browser: object, url: str) -> tuple[float, float, float]:
    """Seconds from a click on the sidebar's Results link (the app already open on the
    Glossary, as a person navigates) to every Charts-tab chart drawn, and the CPU seconds
    the browser's main thread and the server spent meanwhile."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def main_thread() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                    if m["name"] == "ThreadTime")

    page.goto(f"{url}/glossary")
    page.get_by_role("heading", name="Metric glossary").wait_for(timeout=60_000)
    browser_cpu, server_cpu = main_thread(), _cpu_seconds(_SERVER_PIDS[url])
    start = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results").click()
    page.wait_for_function(ALL_DRAWN, arg=CHARTS, timeout=180_000)
    seconds = time.perf_counter() - start
    browser_cpu, server_cpu = main_thread() - browser_cpu, \
        _cpu_seconds(_SERVER_PIDS[url]) - server_cpu
    page.close()
    return seconds, browser_cpu, server_cpu


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def run() -> list[dict[str, object]]:
    """Rows: Results first open, again, Charts tab switch, Price opening; each with
    the empty page's median as baseline (its spread is printed on the first row)."""
    from playwright.sync_api import sync_playwright

    with temp_settings() as settings, tempfile.TemporaryDirectory() as tmp:
        source = (REPO / "examples" / "sma_cross.py").read_text()
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=source)
        record = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
            symbol="BTCUSDT", timeframe="1h", start="2022-01-01", end="2024-12-31",
            commission=0.001))
        if record.status is not RunStatus.COMPLETED:
            raise RuntimeError(f"bench run failed: {record.status.value} {record.error}")
        empty = Path(tmp) / "empty.py"
        empty.write_text(EMPTY_PAGE)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            with _served(empty, settings.home) as url:
                _timed_open(browser, url, "() => !!document.querySelector('h1')")  # warm
                empties = [_timed_open(browser, url, "() => !!document.querySelector('h1')")
                           for _ in range(REPEAT)]
                baseline = statistics.median(empties)
            with _served(REPO / "app.py", settings.home) as url:
                _timed_open(browser, url, "() => !!document.querySelector('h1')")  # store, sandbox
                results = f"{url}/results?run={record.id}"
                first = _timed_open(browser, results, ALL_DRAWN, CHARTS)
                again = [_timed_open(browser, results, ALL_DRAWN, CHARTS) for _ in range(REPEAT)]
                tabs = [_tab_switch(browser, results) for _ in range(REPEAT)]
                clicks = [_clicked_open(browser, url) for _ in range(REPEAT)]
            browser.close()
    load = f"load {os.getloadavg()[0]:.1f}"
    switch, price = [t[0] for t in tabs], [t[1] for t in tabs]
    med = statistics.median
    browser_cpu, server_cpu = [c[1] for c in clicks], [c[2] for c in clicks]
    clicked = [c[0] for c in clicks]
    print(f"page bench: empty page {_spread(empties)} s over {REPEAT}, {load}")
    print(f"page bench: Results by a click, CPU seconds: browser main thread {med(browser_cpu):.2f} "
          f"({_spread(browser_cpu)}), app server {med(server_cpu):.2f} ({_spread(server_cpu)})")
    return [row(f"UI: Results 3y 1h, first open to 7 charts ({load})", first,
                baseline=baseline, target="<= 1.5 s (baseline: empty page)"),
            row(f"UI: Results 3y 1h, opened again, median ({_spread(again)})", med(again),
                baseline=baseline, target="<= 1.5 s (baseline: empty page)"),
            row(f"UI: Results by a click in the app, median ({_spread(clicked)})", med(clicked),
                baseline=baseline, target="<= 1.5 s (baseline: empty page)"),
            row(f"UI: Results, Metrics -> Charts, median ({_spread(switch)})", med(switch),
                baseline=baseline, target="<= 0.5 s (baseline: empty page)"),
            row(f"UI: Results, Price tab, first open ({_spread(price)})", med(price),
                baseline=baseline, target="reported (drawn when opened)")]
