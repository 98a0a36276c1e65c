"""Results page timing in headless Chromium (issue 16): a 3-year hourly run (26,304 bars) from
navigation to every chart drawn, first open (chart specs computed) and again (cached), and the
switch back to the Charts tab (until its panel is the shown one with every chart drawn).
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
CHARTS = 8  # equity, underwater, monthly, yearly, P&L, duration, rolling, price with trades
REPEAT = 5
ALL_DRAWN = ("n => document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')"
             ".length >= n")
# The shown tab panel (hidden ones keep their charts mounted) holds every chart, drawn.
CHARTS_SHOWN = ("n => [...document.querySelectorAll('[role=tabpanel]')].some(p => "
                "p.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks').length >= n)")
EMPTY_PAGE = 'import streamlit as st\n\nst.title("Empty")\n'


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


def _tab_switch(browser: object, url: str) -> float:
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_function(ALL_DRAWN, arg=CHARTS, timeout=180_000)
    page.get_by_role("tab", name="Metrics").click()
    page.get_by_text("Performance summary").wait_for(timeout=60_000)
    start = time.perf_counter()
    page.get_by_role("tab", name="Charts").click()
    page.wait_for_function(CHARTS_SHOWN, arg=CHARTS, timeout=180_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def run() -> list[dict[str, object]]:
    """Rows: empty page, Results first open, Results again, Charts tab switch."""
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
                baseline = statistics.median(
                    _timed_open(browser, url, "() => !!document.querySelector('h1')")
                    for _ in range(REPEAT))
            with _served(REPO / "app.py", settings.home) as url:
                _timed_open(browser, url, "() => !!document.querySelector('h1')")  # store, sandbox
                results = f"{url}/results?run={record.id}"
                first = _timed_open(browser, results, ALL_DRAWN, CHARTS)
                again = statistics.median(_timed_open(browser, results, ALL_DRAWN, CHARTS)
                                          for _ in range(REPEAT))
                switch = statistics.median(_tab_switch(browser, results) for _ in range(REPEAT))
            browser.close()
    load = f"load {os.getloadavg()[0]:.1f}"
    return [row(f"UI: Results 3y 1h, first open to 8 charts ({load})", first,
                baseline=baseline, target="<= 1.5 s (baseline: empty page)"),
            row(f"UI: Results 3y 1h, opened again, median ({load})", again, baseline=baseline,
                target="<= 1.5 s (baseline: empty page)"),
            row(f"UI: Results, Metrics -> Charts switch, median ({load})", switch,
                baseline=baseline, target="<= 0.5 s (baseline: empty page)")]
