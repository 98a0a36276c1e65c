"""One value per figure (issue 14): every figure shown in more than one place (headline cards,
the Metrics tab's summary and ratio tables, the PDF, the JSON export, Compare and the quantstats
tearsheet) shows the same value, on a real sandboxed 10x perp run that is liquidated several
times and still holds a trade at the end of the data.

Figures that two places name differently but define alike are paired (the cards' Closed trades
is the summary's Total closed trades). Where a place defines a figure differently (quantstats'
max drawdown on daily closes), the Glossary says so; that is checked too.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.analytics import differences, run_bundle as analytics, metrics, trade_stats
from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, MarginModel, RunStatus, StrategyMeta
from reports import compare, export, pdf, tearsheet
from tests.conftest import make_settings
from ui import results_view

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.sandbox

LEVERAGED = '''from backtesting import Strategy


class LeveragedHold(Strategy):
    """Long 30 % of margin for `hold` bars, again and again (10x perps get liquidated)."""

    hold = 120  # Bars held; range: 10..500

    def init(self):
        self.opened = -10

    def next(self):
        i = len(self.data) - 1
        if not self.position and i - self.opened > 5:
            self.buy(size=0.3)
            self.opened = i
        elif self.position and i - self.opened >= self.hold:
            self.position.close()
'''
# the same figure under two names: (headline / seed metric, TradingView summary row)
SAME_FIGURE = (("total_trades", "total_closed_trades"), ("win_rate", "percent_profitable"),
               ("profit_factor", "closed_profit_factor"))
# quantstats tearsheet row -> our metric with the same definition
TEARSHEET = {"Cumulative Return": "total_return", "CAGR﹪": "cagr", "Sharpe": "sharpe_ratio",
             "Sortino": "sortino_ratio", "Volatility (ann.)": "volatility",
             "Omega": "omega_ratio"}


@pytest.fixture(scope="module")
def lab(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("onevalue") / "home"
    shutil.copytree(template_home, home)
    settings = make_settings(home)
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="leveraged"),
                             source=LEVERAGED)
    config = BacktestConfig(symbol="ETHUSDT", market="perp", timeframe="1h",
                            start="2023-01-01", end="2023-06-30",
                            margin=MarginModel(leverage=10.0))
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    other = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        **{**config.to_dict(), "params": {"hold": 60}}))
    assert run.status is other.status is RunStatus.COMPLETED, (run.error, other.error)
    return {"home": home, "settings": settings, "id": run.id, "other": other.id,
            "bundle": analytics.load(settings, run.id)}


def _text(name: str, value: float) -> str:
    return trade_stats.format_value(name, value)


def test_the_run_has_liquidations_a_finalized_trade_and_never_negative_equity(lab: dict) -> None:
    b = lab["bundle"]
    reasons = set(b.trades["exit_reason"])
    assert {"liquidation", "end_of_data"} <= reasons
    assert b.equity.min() >= 0  # isolated margin: a liquidation loses the margin, no more
    values = b.metrics["all"]
    # a Python run closes the trade still open at the end (finalize_trades) and counts it
    assert values["total_open_trades"] == 0 and values["open_pnl"] == 0
    assert values["total_trades"] == len(b.trades) == values["total_closed_trades"]
    assert values["win_rate"] == pytest.approx((b.trades["pnl"] > 0).mean(), rel=1e-12)
    assert values["net_profit"] == pytest.approx(b.trades["pnl"].sum(), rel=1e-12)
    # so Net profit is the whole change of equity, as Total return says
    assert values["net_profit_pct"] == pytest.approx(values["total_return"], rel=1e-9)


def test_paired_figures_have_one_value(lab: dict) -> None:
    values = lab["bundle"].metrics["all"]
    for seed, summary in SAME_FIGURE:
        assert values[seed] == pytest.approx(values[summary], rel=1e-12, abs=0), (seed, summary)
        assert _text(seed, values[seed]) == _text(summary, values[summary])


def _abbr_rows(body: str) -> dict[str, str]:
    """Label -> first value cell of the summary / ratio HTML tables."""
    pattern = r'<abbr title="[^"]*">([^<]+)</abbr></td><td class="v">([^<]*)</td>'
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(pattern, body)}


def test_cards_tables_pdf_json_and_compare_agree(lab: dict,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    b = lab["bundle"]
    values = b.metrics["all"]
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["selected_run_id"] = lab["id"]
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.message for e in at.exception]
    cards = {m.label: m.value for m in at.metric}
    at.session_state["results_tab"] = "Metrics"  # only the open tab is drawn
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    shown: dict[str, str] = {}
    for element in at.get("html"):
        shown |= _abbr_rows(element.proto.body)
    assert "Total closed trades" in shown and "Sharpe ratio" in shown
    pdf_text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.build_pdf(b),
                              capture_output=True, check=True).stdout.decode()
    doc = export.run_document(b)
    table, _ = compare.metrics_table(compare.load_runs(lab["settings"], [lab["id"],
                                                                         lab["other"]]))
    compared = dict(zip(table["Metric"], table[f"Run {lab['id']}"], strict=True))
    checked = 0
    for name in metrics.METRICS:
        label, text = metrics.describe(name).label, _text(name, values[name])
        if label in cards:
            assert cards[label] == text, name
        if label in shown:
            assert shown[label] == text, name
        assert compared[label] == text, name
        assert _in_pdf(pdf_text, label, text), (name, text)
        assert doc["metrics"][name] == pytest.approx(values[name], rel=1e-12), name
        checked += 1
    assert checked == len(metrics.METRICS)
    assert {metrics.describe(n).label for n in results_view.HEADLINE} <= set(cards)
    for seed, summary in SAME_FIGURE:  # the card and the summary row of one figure
        assert cards[metrics.describe(seed).label] == shown[trade_stats.describe(summary).label]
        assert doc["metrics_by_side"]["all"][summary] == doc["metrics"][seed]


def _in_pdf(text: str, label: str, value: str) -> bool:
    """True when a PDF table row shows ``label`` with ``value`` in the next cell (a long label
    wraps: its first words, then the value on the following line)."""
    words = [re.escape(w) for w in label.split()]
    gap = r"\s+"
    return any(re.search(rf"^\s+{gap.join(words[:k])}\s+{re.escape(value)}(\s|$)", text,
                         re.MULTILINE) for k in range(len(words), 0, -1))


def _tearsheet_rows(page: str) -> dict[str, tuple[str, str]]:
    """quantstats' key-metrics table: label -> (Buy & hold column, Strategy column)."""
    first = page[page.index("<table>"):page.index("</table>")]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", first, re.S):
        cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if len(cells) == 3:
            out[cells[0]] = (cells[1], cells[2])
    return out


def test_the_tearsheet_shows_the_results_pages_values(lab: dict) -> None:
    b = lab["bundle"]
    values = b.metrics["all"]
    page = tearsheet.build_html(b.equity, b.benchmark, title="t",
                                trades=trade_stats.engine_trades(b.trades)).decode()
    rows = _tearsheet_rows(page)
    # rows that depend on the bar resolution show the Results page's per-bar values (1 h bars:
    # quantstats' own would be on daily closes / days with a non-zero return)
    assert rows["Max Drawdown"][1] == f"{-values['max_drawdown'] * 100:.2f}%"
    assert rows["Time in Market"] == ("100.00%", f"{values['exposure'] * 100:.2f}%")
    assert rows["Calmar"][1] == f"{values['calmar_ratio']:.2f}"
    assert _text("max_drawdown", values["max_drawdown"]) == rows["Max Drawdown"][1].lstrip("-")
    assert _text("exposure", values["exposure"]) == rows["Time in Market"][1]
    bench_dd = float((1 - b.benchmark / b.benchmark.cummax()).max())
    assert rows["Max Drawdown"][0] == f"{-bench_dd * 100:.2f}%"
    assert "per-bar values" in page
    assert rows["Risk-Free Rate"] == ("0.0%", "0.0%")
    for label, name in TEARSHEET.items():
        text = rows[label][1]
        want = values[name] * (100 if text.endswith("%") else 1)
        assert float(text.rstrip("%")) == pytest.approx(want, abs=0.0051), (label, text)
    # buy and hold is the benchmark column of the same table
    bench = rows["Cumulative Return"][0]
    assert float(bench.rstrip("%")) == pytest.approx(values["buy_hold_return"] * 100, abs=0.0051)
    # quantstats' max drawdown is on daily closes, ours on every bar: the Glossary says so
    assert "daily closes" in metrics.describe("max_drawdown").definition
    assert "Worst 10 Drawdowns" in page and "<td>-" in page.split("Worst 10 Drawdowns")[1]


def test_the_glossary_lists_the_differences(lab: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("app_pages/glossary.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = "\n".join(m.value for m in at.markdown)
    for item in differences.DIFFERENCES:
        assert item in shown
    assert any("match_dates" in item for item in differences.DIFFERENCES)


def test_compare_fits_growth_to_the_data_and_draws_drawdowns_from_zero(lab: dict) -> None:
    """Growth of 1 between ~0.9 and ~1.4 drawn from 0 squeezed the lines into the chart's top
    third (found by a fresh-eyes test); drawdowns keep 0, their top."""
    bundles = compare.load_runs(lab["settings"], [lab["id"], lab["other"]])
    growth = compare.equity_overlay(bundles).to_dict()["encoding"]["y"]
    drawdown = compare.drawdown_overlay(bundles).to_dict()["encoding"]["y"]
    assert growth["scale"]["zero"] is False
    assert drawdown["scale"]["zero"] is True


def _side_rows(body: str) -> dict[str, tuple[str, ...]]:
    """Label -> (All, Long, Short) cells of the summary HTML table."""
    cell = r'<td class="v">([^<]*)</td>'
    pattern = rf'<abbr title="[^"]*">([^<]+)</abbr></td>{cell}{cell}{cell}'
    return {html.unescape(m[0]): tuple(html.unescape(v) for v in m[1:])
            for m in re.findall(pattern, body)}


def test_a_side_without_trades_shows_no_made_up_ratio(lab: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The run is long-only: its Short column has sums and counts of 0 and "—" for every
    average and ratio (it showed Profit factor 0.00 and Percent profitable 0.00 %), on the
    Metrics tab as the app draws it, in the JSON export (null) and in the stored values (NaN)."""
    b = lab["bundle"]
    short = b.metrics["short"]
    assert short["total_closed_trades"] == 0 and short["net_profit"] == 0
    undefined = ("closed_profit_factor", "percent_profitable", "avg_trade", "avg_winning_trade",
                 "avg_losing_trade", "ratio_avg_win_loss", "largest_winning_trade",
                 "largest_losing_trade", "avg_bars_in_trades")
    assert all(short[n] != short[n] for n in undefined)  # NaN as stored in DuckDB
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["selected_run_id"] = lab["id"]
    at.run()
    at.switch_page("app_pages/results.py").run()
    at.session_state["results_tab"] = "Metrics"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    rows: dict[str, tuple[str, ...]] = {}
    for element in at.get("html"):
        rows |= _side_rows(element.proto.body)
    for name in undefined:
        label = trade_stats.describe(name).label
        assert rows[label][2] == "—", (label, rows[label])
        assert rows[label][1] == _text(name, b.metrics["long"][name]) != "—", label
    assert rows["Total closed trades"][2] == "0"
    assert rows["Net profit"][2] == "0.00 USDT"
    doc = export.run_document(b)
    assert all(doc["metrics_by_side"]["short"][n] is None for n in undefined)
    assert doc["metrics_by_side"]["short"]["total_closed_trades"] == 0
