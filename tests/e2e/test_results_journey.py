"""The results journey: open a run, see every chart render, read the metrics, download the PDF
and the HTML tearsheet, then compare two runs. Screenshots at 1280x900 go to the test's tmp dir."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]
CHARTS_ON_RESULTS = 7  # equity, underwater, monthly, yearly, P&L, duration, rolling
# Seconds-since-load of each fetch of Streamlit's Vega-Lite bundle (static/js/embed.<hash>.js).
VEGA_FETCHES = ("() => performance.getEntriesByType('resource').filter(e => "
                "/\\/static\\/js\\/embed\\.[^/]+\\.js$/.test(e.name)).map(e => e.startTime / 1000)")


@pytest.fixture(scope="module")
def app_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served app's store, holding two completed runs of the SMA example."""
    home = tmp_path_factory.mktemp("results_app") / "home"
    shutil.copytree(template_home, home)
    settings = make_settings(home)
    source = (REPO / "examples" / "sma_cross.py").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="Journey SMA"),
                             source=source)
    for params in ({}, {"fast": 10, "slow": 40}):
        run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
            symbol="ETHUSDT", timeframe="4h", start="2023-01-01", end="2023-12-31",
            commission=0.001, params=params))
        assert run.status is RunStatus.COMPLETED, run.error
    return home


def _charts_render(page: Page, count: int) -> None:
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(count, timeout=30_000)
    for i in range(count):  # charts below the fold render once scrolled to
        charts.nth(i).scroll_into_view_if_needed()
        # Streamlit draws SVG, switching to canvas for charts with thousands of marks (candles)
        expect(charts.nth(i).locator("svg.marks, canvas.marks")).to_be_attached(timeout=30_000)


def _download(page: Page, name: str, folder: Path) -> Path:
    with page.expect_download(timeout=120_000) as info:  # built on click
        page.get_by_role("button", name=name).click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def test_open_run_download_reports_and_compare(page: Page, app_url: str, tmp_path: Path) -> None:
    page.goto(app_url)
    # Another page fetches the Results page's chart code (ui.prefetch); the click reuses it
    page.wait_for_function(f"() => ({VEGA_FETCHES})().length > 0", timeout=30_000)
    clicked_at = page.evaluate("performance.now() / 1000")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Sharpe ratio")).to_be_visible(
        timeout=30_000)
    _charts_render(page, CHARTS_ON_RESULTS)
    assert page.get_by_test_id("stVegaLiteChart").locator("svg.marks").count() >= 7
    fetches = page.evaluate(VEGA_FETCHES)
    assert len(fetches) == 1 and fetches[0] < clicked_at, (fetches, clicked_at)
    page.screenshot(path=str(tmp_path / "results.png"))
    # the rolling chart (last on the tab) names the year on its time axis, e.g. "Mar 2023"
    rolling = page.get_by_test_id("stVegaLiteChart").nth(CHARTS_ON_RESULTS - 1)
    expect(rolling.locator("svg text").filter(has_text=re.compile(r"^[A-Z][a-z]{2} 2023$"))
           .first).to_be_attached()
    page.get_by_role("tab", name="Price").click()  # drawn when opened
    price = page.get_by_role("tabpanel").get_by_test_id("stVegaLiteChart")  # the shown panel
    expect(price).to_have_count(1, timeout=30_000)
    expect(price.locator("svg.marks, canvas.marks")).to_be_attached(timeout=30_000)
    expect(page.get_by_role("tabpanel").get_by_text("Price with trades")).to_be_visible()

    page.get_by_role("tab", name="Metrics").click()
    hover = page.locator("abbr[title]").filter(has_text="Profit factor (closed trades)")
    expect(hover).to_have_attribute("title", re.compile("Gross profit / gross loss of closed"))
    page.get_by_role("tab", name="Trades").click()
    expect(page.get_by_text(re.compile(r"\d+ of \d+ trades"))).to_be_visible()

    page.get_by_role("tab", name="Downloads & tearsheet").click()
    pdf = _download(page, "PDF report", tmp_path)
    assert re.fullmatch(r"run-\d+-report\.pdf", pdf.name)
    assert pdf.read_bytes().startswith(b"%PDF")
    html = _download(page, "Tearsheet (HTML)", tmp_path)
    assert re.fullmatch(r"run-\d+-tearsheet\.html", html.name)
    assert "Journey SMA" in html.read_text()
    page.get_by_role("button", name="Build the tearsheet").click()  # cached by the download
    expect(page.locator("iframe[src^='data:text/html']")).to_be_attached(timeout=30_000)

    page.get_by_role("button", name="Compare with other runs").click()
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible(timeout=30_000)
    _charts_render(page, 3)
    expect(page.get_by_text("Parameter and config differences")).to_be_visible()
    page.screenshot(path=str(tmp_path / "compare.png"))
