"""The daily loop in the browser (issue 16): Backtest -> Run -> Open -> Results stays populated,
its URL opens the same run in a new browser; settings survive a page switch; a run is deleted;
a Pine example from the gallery runs."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import wait_idle

LONG_MS = 120_000


def _nav(page: Page, name: str) -> None:
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=30_000)
    wait_idle(page)


def _use_example(page: Page, app_url: str, title: str, language: str) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Strategies")).to_be_visible(timeout=30_000)
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("Examples", exact=True).click()
    wait_idle(page)
    page.get_by_test_id("stButtonGroup").get_by_role("radio", name=re.compile(
        "^" + re.escape(language))).click()
    wait_idle(page)
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_text(title, exact=True)).last  # the innermost block: the card
    card.get_by_role("button", name=re.compile("Use this example")).click()
    expect(page.get_by_text(re.compile(f"Created strategy \\d+ from the {re.escape(title)} "
                                       "example"))).to_be_visible(timeout=30_000)


def _run_and_open(page: Page) -> int:
    """Press Run backtest, wait for that new job to complete, follow its Open link; returns the
    run id. Runs listed before the click are excluded, so an older run is never taken."""
    wait_idle(page)
    before = {int(m) for m in re.findall(r"Run (\d+) ·", page.locator("body").inner_text())}
    page.get_by_role("button", name=re.compile("^Run backtest")).click()
    older = "".join(f"(?!{n} ·)" for n in sorted(before))
    done = page.get_by_test_id("stAlertContentSuccess").filter(
        has_text=re.compile(f"Run {older}\\d+ · .*completed, return")).first
    expect(done).to_be_visible(timeout=LONG_MS)
    run_id = int(re.search(r"Run (\d+)", done.inner_text()).group(1))
    assert run_id not in before
    wait_idle(page)
    page.get_by_test_id("stPageLink").locator(f"a[href*='run={run_id}']").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
    return run_id


def _expect_results(page: Page, run_id: int) -> None:
    expect(page.get_by_role("combobox", name="Run")).to_have_value(
        re.compile(f"^Run {run_id} · "), timeout=60_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Total return")).to_be_visible(
        timeout=LONG_MS)
    expect(page.get_by_test_id("stVegaLiteChart").first.locator("svg.marks")).to_be_visible(
        timeout=60_000)


def test_run_open_results_stay_and_the_url_is_shareable(page: Page, app_url: str,
                                                        browser: Browser) -> None:
    _use_example(page, app_url, "SMA cross", "Python")
    _nav(page, "Backtest")
    page.get_by_role("spinbutton", name="fast").fill("14")
    page.get_by_role("spinbutton", name="fast").press("Enter")
    wait_idle(page)
    run_id = _run_and_open(page)
    _expect_results(page, run_id)
    assert re.search(f"[?&]run={run_id}(&|$)", page.url), page.url
    # The old Jobs fragment blanked Results about a second after Open: look again 3 s later.
    page.wait_for_timeout(3_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Total return")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").first.locator("svg.marks")).to_be_visible()
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile("fast=14"))

    shared = page.url
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        fresh = other.new_page()
        fresh.goto(shared)
        expect(fresh.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
        _expect_results(fresh, run_id)
    finally:
        other.close()


def test_settings_survive_a_page_switch_and_a_run_is_deleted(page: Page, app_url: str) -> None:
    _use_example(page, app_url, "SMA cross", "Python")
    _nav(page, "Backtest")
    page.get_by_role("combobox", name="Timeframe").click()
    page.get_by_role("option", name="4h").click()
    wait_idle(page)
    page.get_by_test_id("stExpander").filter(has_text="Risk rules").click()
    page.get_by_role("spinbutton", name="Default stop-loss (%)").fill("5")
    page.get_by_role("spinbutton", name="Default stop-loss (%)").press("Enter")
    _nav(page, "Data")
    _nav(page, "Backtest")
    expect(page.get_by_role("combobox", name="Timeframe")).to_have_value("4h")
    page.get_by_test_id("stExpander").filter(has_text="Risk rules").click()
    expect(page.get_by_role("spinbutton", name="Default stop-loss (%)")).to_have_value("5.0000")
    run_id = _run_and_open(page)
    _expect_results(page, run_id)

    wait_idle(page)
    page.get_by_test_id("stPopover").get_by_role("button", name=re.compile("Delete")).click()
    page.get_by_role("button", name=f"Yes, delete run {run_id}").click()
    expect(page.get_by_text(f"Deleted run {run_id} with its trades")).to_be_visible(
        timeout=30_000)
    expect(page.locator(f"input[value^='Run {run_id} · ']")).to_have_count(0)
    page.goto(f"{app_url}/results?run={run_id}")
    expect(page.get_by_text(f"The link names run {run_id}, which does not exist")).to_be_visible(
        timeout=30_000)


def test_a_pine_example_from_the_gallery_runs(page: Page, app_url: str) -> None:
    _use_example(page, app_url, "RSI Strategy", "Pine Script")
    _nav(page, "Backtest")
    expect(page.get_by_role("combobox", name="Strategy")).to_have_value(
        re.compile(r"^RSI Strategy"))
    run_id = _run_and_open(page)
    _expect_results(page, run_id)
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile("RSI Strategy"))


def test_the_strategies_path_opens_the_strategy_it_names(page: Page, app_url: str) -> None:
    """/strategies?strategy=ID, typed like /results?run=ID: the Strategies page with that
    strategy, not Streamlit's "Page not found" (the page is the default one, served at /)."""
    _use_example(page, app_url, "SMA cross", "Python")
    created = page.get_by_text(re.compile(r"Created strategy \d+ from")).inner_text()
    sid = int(re.search(r"Created strategy (\d+)", created).group(1))
    page.goto(f"{app_url}/strategies?strategy={sid}")
    expect(page.get_by_role("heading", name="Strategies")).to_be_visible(timeout=30_000)
    name = page.get_by_role("combobox", name="Strategy")
    expect(name).to_have_value(re.compile(r"^SMA cross"), timeout=30_000)
    wait_idle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert f"strategy={sid}" in page.url
