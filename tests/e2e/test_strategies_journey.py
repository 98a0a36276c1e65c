"""The Strategies journey: upload a file with an error, see the annotation, fix it in the
editor, save version 2, view the diff, clone, delete the clone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.e2e.conftest import wait_idle
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
ACE_FRAME = 'iframe[title="streamlit_ace.streamlit_ace"]'
EDITOR = ".ace_editor:not(.ace_autocomplete)"
SMA = (REPO / "examples" / "sma_cross.py").read_text()


def _replace_editor_text(page: Page, text: str) -> None:
    ace = page.frame_locator(ACE_FRAME)
    ace.locator(EDITOR + " .ace_content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def _strategy_box(page: Page):  # noqa: ANN202 - a Playwright locator
    return page.get_by_role("combobox", name="Strategy").first


@pytest.mark.browser
def test_upload_fix_save_diff_clone_delete(page: Page, app_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "journey_bad.py"
    bad.write_text("import os\n" + SMA)
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Strategies")).to_be_visible(timeout=30_000)
    ace = page.frame_locator(ACE_FRAME)
    expect(ace.locator(EDITOR)).to_be_visible(timeout=30_000)
    # one upload limit, stated once (the label), not the widget's own "1MB per file" too
    expect(page.get_by_text("Upload a strategy file (.py or .pine, up to 512 KB)")
           ).to_be_visible(timeout=30_000)
    instructions = page.get_by_test_id("stFileUploaderDropzoneInstructions")
    expect(instructions).to_have_count(1)  # drawn by Streamlit ("1MB per file • PY, PINE")...
    expect(instructions).to_be_hidden()  # ...and not shown

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(_strategy_box(page)).to_have_value("journey_bad (v1)", timeout=30_000)
    # the rerun that swaps the new strategy's editor in has ended: while it runs, the old
    # editor's frame is still there beside the new one (a strict-mode error for the locator)
    wait_idle(page)
    expect(ace.locator(EDITOR)).to_contain_text("import os", timeout=30_000)  # new file loaded
    expect(ace.locator(".ace_gutter-cell.ace_error")).to_have_count(1, timeout=30_000)
    expect(page.get_by_text(re.compile(r"Line 1, col 1 · Import of 'os' is not allowed"))
           ).to_be_visible(timeout=30_000)

    _replace_editor_text(page, SMA)
    expect(page.get_by_text("Valid: one Strategy subclass")).to_be_visible(timeout=30_000)
    expect(ace.locator(".ace_gutter-cell.ace_error")).to_have_count(0, timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved journey_bad: version 2.")).to_be_visible(timeout=30_000)
    expect(_strategy_box(page)).to_have_value("journey_bad (v2)", timeout=30_000)

    diff = page.get_by_test_id("stCode").filter(has_text="--- v1")
    expect(diff).to_contain_text("-import os", timeout=30_000)

    wait_idle(page)
    page.get_by_role("button", name="Clone").click()
    expect(_strategy_box(page)).to_have_value("copy of journey_bad (v1)", timeout=30_000)
    # the clone's own one-version history is drawn below its buttons: the page is up to date
    expect(page.get_by_text("Save a change to create version 2")).to_be_visible(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text(re.compile(r"Deleted strategy \d+\."))).to_be_visible(timeout=30_000)
    options = page.get_by_role("option")
    for _attempt in range(4):  # a late editor mount can rerun the page and close the list
        wait_idle(page)
        _strategy_box(page).click()
        try:
            expect(options.first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    expect(options.filter(has_text="journey_bad (v2)")).to_have_count(1, timeout=30_000)
    expect(options.filter(has_text="copy of journey_bad")).to_have_count(0)
