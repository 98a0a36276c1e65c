"""The perpetual journey: configure a 10x perp run on the Backtest page, run it, and find the
liquidation marked among the trade exit reasons in Results."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from core.strategies import crud as strategies
from core.model import StrategyMeta
from tests.conftest import make_settings

LONG_30 = '''
from backtesting import Strategy


class LongThirty(Strategy):
    """Always long with 30 % of available margin; re-enter after every exit."""

    def init(self):
        pass

    def next(self):
        if not self.position:
            self.buy(size=0.3)
'''


@pytest.fixture(scope="module")
def app_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served app's store with one saved always-long strategy."""
    home = tmp_path_factory.mktemp("perp_app") / "home"
    shutil.copytree(template_home, home)
    strategies.save(make_settings(home).db_path, meta=StrategyMeta(name="Long thirty"),
                    source=LONG_30)
    return home


def _choose(page: Page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def _open_trades_tab(page: Page) -> Locator:
    """Click the Trades tab and wait for its exit-reason filter; click once more if a rerun of
    the (slow, on a busy machine) Results page reset the tab. Returns that filter."""
    reasons = page.get_by_test_id("stMultiSelect").filter(has_text="Exit reason")
    for wait_ms in (90_000, 120_000):
        try:
            page.get_by_role("tab", name="Trades").click(timeout=30_000)
            expect(reasons).to_be_visible(timeout=wait_ms)
        except (AssertionError, PlaywrightTimeoutError):
            continue
        return reasons
    expect(reasons).to_be_visible()
    return reasons


@pytest.mark.browser
def test_ten_x_perp_run_shows_the_liquidation(page: Page, app_url: str) -> None:
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Backtest").click()
    expect(page.get_by_role("heading", name="Backtest")).to_be_visible(timeout=30_000)
    _choose(page, "Data", "BTCUSDT · sample perp")
    _choose(page, "Timeframe", "4h")
    expect(page.get_by_text("Preset: Binance USDS-M")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("stored 8-hourly rates")).to_be_visible()
    leverage = page.get_by_role("spinbutton", name="Leverage (×)")
    leverage.fill("10")
    leverage.press("Enter")
    expect(leverage).to_have_value("10.00")
    page.get_by_role("button", name=re.compile("^Run backtest")).click()
    open_button = page.get_by_test_id("stPageLink").filter(has_text="Open").first
    expect(open_button).to_be_visible(timeout=120_000)
    open_button.click()

    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Closed trades")).to_be_visible(
        timeout=120_000)
    _open_trades_tab(page).get_by_role("combobox").click()
    liquidation = page.get_by_role("option", name="liquidation")
    expect(liquidation).to_be_visible(timeout=30_000)
    liquidation.click()
    expect(page.get_by_text("trades · click a column header")).to_contain_text(" of ")
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Costs & risk").click()
    expect(page.get_by_text("Margin used and distance to liquidation")).to_be_visible(
        timeout=60_000)
    risk = page.get_by_test_id("stDataFrame").filter(has_text="Rule").last
    expect(risk).to_be_visible(timeout=30_000)
    assert page.get_by_test_id("stMetric").filter(has_text="Liquidations").inner_text() \
        .split()[-1] not in ("0", "—")
