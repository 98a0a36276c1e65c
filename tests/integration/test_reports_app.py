"""Reports on real sandboxed runs: stored side metrics, every report format through the CLI,
`pineopt compare`, and AppTests of the Results, Compare and Glossary pages."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import cli
from core.analytics import run_bundle as analytics
from core.runs import service as runs
from core import store
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings
from reports import export, tearsheet
from tests.conftest import make_settings, nan_as_none

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def lab(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store with two completed runs (different params) and one crashed run."""
    home = tmp_path_factory.mktemp("reports") / "home"
    shutil.copytree(template_home, home)
    settings = make_settings(home)
    source = (REPO / "examples" / "sma_cross.py").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="SMA <i>x</i>"),
                             source=source)
    base = BacktestConfig(symbol="BTCUSDT", timeframe="4h", start="2023-01-01",
                          end="2023-08-31", commission=0.001)
    first = runs.run_sync(settings, strategy_id=sid, config=base)
    second = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        **{**base.to_dict(), "params": {"fast": 10, "slow": 40}}))
    crashing = source.replace("    def next(self):\n", "    def next(self):\n        1 / 0\n")
    bad_id, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="crash"),
                                source=crashing)
    failed = runs.run_sync(settings, strategy_id=bad_id, config=base)
    assert first.status is second.status is RunStatus.COMPLETED, (first.error, second.error)
    assert failed.status is RunStatus.CRASHED
    return {"home": home, "settings": settings, "ids": (first.id, second.id),
            "failed": failed.id}


def _settings(lab: dict) -> Settings:
    return lab["settings"]


def test_side_metrics_are_stored_with_the_run(lab: dict) -> None:
    with store.connect(_settings(lab).db_path) as con:
        kinds = dict(con.execute("SELECT kind, count(*) FROM backtest_metrics WHERE "
                                 "backtest_id = ? GROUP BY kind", [lab["ids"][0]]).fetchall())
    assert {"all", "long", "short"} <= set(kinds) and kinds["long"] == kinds["short"] > 20


def test_reading_a_run_never_writes_and_the_owner_backfills_missing_metrics(lab: dict) -> None:
    """A run stored before side metrics existed: a read computes them without writing; the
    store's owner (bootstrap.init_store) stores them once."""
    from core import bootstrap

    db, run_id = _settings(lab).db_path, lab["ids"][1]
    count = "SELECT count(*) FROM backtest_metrics WHERE backtest_id = ?"
    with store.connect(db) as con:
        full = con.execute(count, [run_id]).fetchone()[0]
        con.execute("DELETE FROM backtest_metrics WHERE backtest_id = ? AND kind <> 'all'",
                    [run_id])
        legacy = con.execute(count, [run_id]).fetchone()[0]
    assert run_id in analytics.runs_missing_side_metrics(db)
    bundle = analytics.load(_settings(lab), run_id)
    assert bundle.metrics["long"] and bundle.metrics["short"]
    with store.connect(db) as con:
        assert con.execute(count, [run_id]).fetchone()[0] == legacy  # the read wrote nothing
    bootstrap.init_store(_settings(lab))
    with store.connect(db) as con:
        assert legacy < con.execute(count, [run_id]).fetchone()[0] <= full
    assert run_id not in analytics.runs_missing_side_metrics(db)
    assert nan_as_none(analytics.load(_settings(lab), run_id).metrics) == nan_as_none(
        bundle.metrics)


def test_bundle_trades_have_excursions_and_metrics_agree(lab: dict) -> None:
    bundle = analytics.load(_settings(lab), lab["ids"][0])
    trades = bundle.trades
    assert len(trades) > 5 and not bundle.strategy_deleted and not bundle.data_changed
    assert (trades["mfe_usdt"] >= 0).all() and (trades["mae_usdt"] <= 0).all()
    # a trade's final P&L before commission lies between its worst and best open P&L
    gross = trades["pnl"] + trades["commission"]
    assert ((gross <= trades["mfe_usdt"] + 1e-6) & (gross >= trades["mae_usdt"] - 1e-6)).all()
    closed = bundle.metrics["all"]["net_profit"] + bundle.metrics["all"]["open_pnl"]
    assert closed == pytest.approx(trades["pnl"].sum())


def test_every_report_format_through_the_cli(lab: dict, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    run_id = lab["ids"][0]
    for fmt in export.REPORT_FORMATS:
        out = tmp_path / f"r.{fmt}"
        assert cli.main(["report", str(run_id), "--format", fmt, "-o", str(out)]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "SMA &lt;i&gt;x&lt;/i&gt;" in html and "<i>x</i>" not in html
    assert tearsheet.is_cached(_settings(lab), run_id)
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    trades = pd.read_csv(tmp_path / "r.csv")
    assert {"entry_time", "exit_time", "side", "pnl", "mfe_usdt", "mae_usdt"} <= set(trades)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert list(doc) == ["run_id", "config", "metrics", "metrics_by_side", "equity", "trades"]
    assert doc["run_id"] == run_id and len(doc["trades"]) == len(trades)
    assert set(doc["trades"][0]) == {*export.JSON_TRADE_FIELDS, *export.TRADE_SPLIT_FIELDS}
    assert doc["metrics"]["fees_paid"] == pytest.approx(sum(t["fees"] for t in doc["trades"]))
    assert doc["metrics"]["fees_paid"] > 0
    equity = pd.read_parquet(io.BytesIO((tmp_path / "r.parquet").read_bytes()))
    assert list(equity.columns) == ["time", "equity_usdt"] and len(equity) == len(doc["equity"])
    assert "wrote" in capsys.readouterr().err


def test_compare_cli_text_and_json(lab: dict, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    a, b = (str(i) for i in lab["ids"])
    assert cli.main(["compare", a, b]) == 0
    text = capsys.readouterr().out
    assert "Sharpe ratio" in text and "*" in text
    assert cli.main(["compare", a, b, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == [int(a), int(b)]
    assert {r["Setting"] for r in doc["config_differences"]} == {"params.fast", "params.slow"}
    assert doc["correlation"][f"Run {a}"][f"Run {a}"] == pytest.approx(1.0)
    assert cli.main(["compare", a]) == 1
    assert "2 to 10" in capsys.readouterr().err


def _app(lab: dict, monkeypatch: pytest.MonkeyPatch, page: str, **state: object) -> AppTest:
    monkeypatch.setenv("PINEOPT_HOME", str(lab["home"]))
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_results_page_shows_cards_tabs_and_downloads(lab: dict,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(lab, monkeypatch, "app_pages/results.py", selected_run_id=lab["ids"][0])
    assert at.title[0].value == "Results"
    assert [m.label for m in at.metric][:3] == ["Total return", "CAGR", "Sharpe ratio"]
    assert [t.label for t in at.tabs] == ["Charts", "Price", "Metrics", "Trades",
                                          "Costs & risk", "Run config & log",
                                          "Downloads & tearsheet"]
    assert len(at.get("vega_lite_chart")) == 7  # equity ... rolling; not yet the price chart
    assert at.get("download_button") == []  # other tabs are drawn only when open
    at.session_state["results_tab"] = "Price"
    at.run()
    assert len(at.get("vega_lite_chart")) == 8 and at.slider(key=f"price_window_{lab['ids'][0]}")
    at.session_state["results_tab"] = "Downloads & tearsheet"
    at.run()
    # Charts stays drawn while hidden, so switching back to it redraws nothing
    assert len(at.get("vega_lite_chart")) == 7
    assert len(at.get("download_button")) >= 5  # the tearsheet was built by the CLI test
    at.session_state["results_tab"] = "Trades"
    at.run()
    at.multiselect(key="trade_sides").set_value(["short"]).run()
    assert any(c.value.startswith("0 of ") for c in at.caption)


def test_results_page_shows_a_failed_run(lab: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(lab, monkeypatch, "app_pages/results.py", selected_run_id=lab["failed"])
    assert "crashed" in at.error[0].value
    assert "ZeroDivisionError" in at.code[0].value


def test_compare_page_overlays_two_runs(lab: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(lab, monkeypatch, "app_pages/compare.py", compare_run_ids=list(lab["ids"]))
    assert at.multiselect(key="compare_pick").value == list(lab["ids"])
    assert len(at.get("vega_lite_chart")) == 3
    diff = at.dataframe[1].value
    assert set(diff["Setting"]) == {"params.fast", "params.slow"}


def test_glossary_page_filters_definitions(lab: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(lab, monkeypatch, "app_pages/glossary.py")
    everything = at.get("html")[0].proto.body.count("<tr>")
    at.text_input(key="glossary_q").set_value("sharpe").run()
    body = at.get("html")[0].proto.body
    assert 1 < body.count("<tr>") < everything and "<code>sharpe_ratio</code>" in body
