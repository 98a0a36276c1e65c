"""The spine journey a new user takes: edit, save, run, see metrics, download the tearsheet."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_idle

REPO = Path(__file__).resolve().parents[2]
ACE_FRAME = 'iframe[title="streamlit_ace.streamlit_ace"]'
EDITOR = ".ace_editor:not(.ace_autocomplete)"


def _replace_editor_text(page: Page, text: str) -> None:
    ace = page.frame_locator(ACE_FRAME)
    ace.locator(EDITOR + " .ace_content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def test_edit_save_run_results_download(page: Page, app_url: str, tmp_path: Path) -> None:
    source = (REPO / "examples" / "sma_cross.py").read_text().replace("fast = 20", "fast = 12")
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        (app_url, "data:", "blob:", "about:")) else None)
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Strategies")).to_be_visible(timeout=30_000)
    expect(page.frame_locator(ACE_FRAME).locator(EDITOR)).to_be_visible(timeout=30_000)
    _replace_editor_text(page, source)
    wait_idle(page)
    page.get_by_label("Name").fill("Journey SMA")
    page.get_by_label("Name").press("Enter")
    expect(page.get_by_text("Valid: one Strategy subclass")).to_be_visible(timeout=15_000)
    wait_idle(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("combobox", name="Strategy").first).to_have_value(
        re.compile(r"Journey SMA \(v1\)"), timeout=15_000)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Backtest").click()
    expect(page.get_by_role("heading", name="Backtest")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Strategy")).to_have_value("Journey SMA (v1)")
    expect(page.get_by_role("spinbutton", name="fast")).to_have_value("12")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("^Run backtest")).click()
    open_button = page.get_by_test_id("stPageLink").filter(has_text="Open").first
    expect(open_button).to_be_visible(timeout=90_000)
    expect(page.get_by_text(re.compile(r"Journey SMA v1 .* completed, return"))).to_be_visible()
    open_button.click()

    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Total return")).to_be_visible(
        timeout=120_000)
    expect(page.get_by_test_id("stVegaLiteChart").first.locator("svg.marks")).to_be_visible(
        timeout=30_000)
    page.get_by_role("tab", name="Downloads & tearsheet").click()
    page.get_by_role("button", name="Build the tearsheet").click()
    download_button = page.get_by_role("button", name="Tearsheet (HTML)")
    expect(download_button).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert re.fullmatch(r"run-\d+-tearsheet\.html", saved.name)
    html = saved.read_text()
    assert "Journey SMA v1" in html
    assert "<svg" in html  # quantstats charts are embedded
    assert outside == []  # works offline: no request leaves the machine
