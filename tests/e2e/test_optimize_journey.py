"""The optimizer journey (issue 19): open an example, optimise two parameters on a grid, see the
heatmap, open the best trial as a run; a walk-forward with 4 windows shows the stitched
out-of-sample curve; Monte Carlo on that run shows the fan chart; the Results page shows the
run. Small on purpose: a 2 x 2 grid, then 2 trials per window, on 3 months of hourly bars.

The sweep runs on perpetual bars at 2x leverage, chosen on the same market form as the Backtest
page (its Symbol was free text and it had no market, costs or leverage): the study and the run
opened from it say "BTCUSDT perp 2× 1h"."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_idle
from tests.e2e.test_daily_loop_journey import _nav, _use_example

LONG_MS = 120_000


def _fill(page: Page, label: str, value: str, tab: str = "New sweep") -> None:
    # hidden tabs stay in the page (the Lookahead tab has its own Start/End fields)
    box = page.get_by_role("tabpanel", name=tab).get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def _end_date(page: Page, month: str, day: str) -> None:
    """Type the end of the sweep's Date range (UTC) segment by segment, as a person would."""
    panel = page.get_by_role("tabpanel", name="New sweep")
    for part, value in (("month", month), ("day", day)):
        panel.get_by_role("spinbutton", name=f"{part}, Date range (UTC) end date").click()
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    wait_idle(page)


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


def test_sweep_heatmap_open_walkforward_and_monte_carlo(page: Page, app_url: str) -> None:
    _use_example(page, app_url, "SMA cross", "Python")
    _nav(page, "Optimize")
    sweep = page.get_by_role("tabpanel", name="New sweep")
    sweep.get_by_role("combobox", name="Data").click()
    page.get_by_role("option", name="BTCUSDT · sample perp", exact=True).click()
    wait_idle(page)
    expect(sweep.get_by_text("Preset: Binance USDS-M")).to_be_visible(timeout=15_000)
    _fill(page, "Leverage (×)", "2")
    _end_date(page, "03", "31")  # the range starts on 2024-01-01 already
    expect(sweep.get_by_test_id("stDateInput").locator("input").nth(1)).to_have_value(
        "2024-03-31")
    _fill(page, "fast values", "5,10")
    _fill(page, "slow values", "20,30")
    expect(page.get_by_text("4 combinations before constraints")).to_be_visible()
    page.get_by_role("button", name="Run sweep").click()
    expect(page.get_by_text(re.compile(r"Study \d+ started"))).to_be_visible(timeout=30_000)
    # the Studies tab opens with the message (it was said on New sweep and vanished)
    expect(page.get_by_role("tab", name="Studies")).to_have_attribute("aria-selected", "true")

    _tab(page, "Studies")
    expect(page.get_by_text("Finished: completed")).to_be_visible(timeout=LONG_MS)
    expect(page.get_by_role("combobox", name="Study")).to_have_value(
        re.compile(r" · BTCUSDT perp 2× 1h · grid · "))
    wait_idle(page)
    panel = page.get_by_role("tabpanel", name="Studies")
    heatmap = panel.get_by_test_id("stVegaLiteChart").first
    expect(heatmap.locator("svg.marks")).to_be_visible(timeout=30_000)
    expect(heatmap).to_contain_text("fast")
    page.get_by_role("button", name="Open as run").click()
    opened = page.get_by_test_id("stAlertContentSuccess").filter(
        has_text=re.compile(r"Trial \d+ is run \d+ \(completed\)"))
    expect(opened).to_be_visible(timeout=LONG_MS)
    run_id = int(re.search(r"is run (\d+)", opened.inner_text()).group(1))
    link = page.get_by_role("link", name=f"Open run {run_id} on Results")
    expect(link).to_have_attribute("href", re.compile(rf"results\?run={run_id}$"))

    _tab(page, "New sweep")  # the walk-forward optimises fast only: 2 trials a window
    _fill(page, "slow values", "20")
    _tab(page, "Walk-forward")
    _fill(page, "In-sample length", "30d", tab="Walk-forward")
    _fill(page, "Out-of-sample length", "15d", tab="Walk-forward")
    page.get_by_role("button", name="Run walk-forward").click()
    wf = page.get_by_role("tabpanel", name="Walk-forward")
    expect(wf.get_by_text("Finished: completed")).to_be_visible(timeout=3 * LONG_MS)
    wait_idle(page)
    expect(wf.get_by_text(re.compile("4 of 4 windows"))).to_be_visible()
    expect(wf.get_by_test_id("stMetric").filter(has_text="Walk-forward efficiency")) \
        .to_be_visible()
    curve = wf.get_by_test_id("stVegaLiteChart").first
    expect(curve.locator("svg.marks")).to_be_visible(timeout=30_000)
    expect(curve).to_contain_text("stitched equity (USDT)")
    assert wf.get_by_test_id("stDataFrame").count() == 1  # the per-window table

    _tab(page, "Monte Carlo")
    mc = page.get_by_role("tabpanel", name="Monte Carlo")
    expect(mc.get_by_role("combobox", name="Run")).to_have_value(
        re.compile(f"^{run_id} · "), timeout=30_000)
    fan = mc.get_by_test_id("stVegaLiteChart").first
    expect(fan.locator("svg.marks")).to_be_visible(timeout=60_000)
    expect(fan).to_contain_text("equity (growth of 1)")
    expect(mc.get_by_text(re.compile(r"P\(lose ≥"))).to_be_visible()

    _nav(page, "Results")
    expect(page.get_by_role("combobox", name="Run")).to_have_value(
        re.compile(f"^Run {run_id} · .* · BTCUSDT perp 2× 1h"), timeout=60_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Total return")).to_be_visible(
        timeout=LONG_MS)
