"""The Data page in the browser (issue 16): the preview chart's hover toolbar stays clear of the
Range input above it (it covered the input's calendar icon)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_idle


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_chart_toolbar_leaves_the_range_input_clear(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{app_url}/data")
    expect(page.get_by_role("heading", name="Market data")).to_be_visible(timeout=30_000)
    chart = page.get_by_test_id("stVegaLiteChart").first
    expect(chart.locator("svg.marks, canvas.marks")).to_be_attached(timeout=60_000)
    wait_idle(page)
    chart.scroll_into_view_if_needed()
    chart.hover()
    container = chart.locator("xpath=ancestor::*[@data-testid='stElementContainer'][1]")
    toolbar = container.get_by_test_id("stElementToolbar")  # the chart's own, shown on hover
    expect(toolbar).to_be_visible(timeout=10_000)
    # it slides into place: measure where it ends, not where it starts
    toolbar.evaluate("t => Promise.all(t.getAnimations({subtree: true}).map(a => a.finished))")
    date_input = page.get_by_test_id("stDateInput").filter(has_text="Range (UTC)")
    expect(date_input).to_be_visible()
    shown, field = toolbar.bounding_box(), date_input.bounding_box()
    assert shown is not None and field is not None
    assert not _overlap(shown, field), (shown, field)
