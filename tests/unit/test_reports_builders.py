"""Report builders on a synthetic run bundle (no store, no sandbox): frames, charts, tables,
exports, PDF and the escaping of user strings."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from core.analytics import run_bundle as analytics, metrics, trade_stats
from core.errors import PineOptError
from core.model import BacktestConfig, RunRecord, RunStatus
from reports import charts, compare, export, frames, pdf, tables, trade_charts

EVIL = '<script>alert(1)</script> & "quotes"'


def _bundle(run_id: int = 7, *, bars: int = 24 * 120, seed: int = 3,
            params: dict | None = None) -> analytics.RunBundle:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=bars, freq="1h")
    close = 100 * np.cumprod(1 + rng.normal(0, 0.004, bars))
    ohlcv = pd.DataFrame({"Open": close, "High": close * 1.002, "Low": close * 0.998,
                          "Close": close, "Volume": 1.0}, index=idx)
    equity = pd.Series(10_000 * np.cumprod(1 + rng.normal(0.0002, 0.003, bars)), index=idx)
    entries = np.arange(5, bars - 40, 60)
    stored = pd.DataFrame({
        "n": np.arange(1, len(entries) + 1), "size": np.where(entries % 120 == 5, 2.0, -1.0),
        "entry_time": idx[entries], "exit_time": idx[entries + 30],
        "entry_price": close[entries], "exit_price": close[entries + 30],
        "pnl": rng.normal(5, 40, len(entries)), "return_pct": rng.normal(0.001, 0.01,
                                                                          len(entries)),
        "commission": 0.5, "entry_bar": entries, "exit_bar": entries + 30, "tag": EVIL,
        "exit_reason": "signal"})
    run = RunRecord(id=run_id, run_hash="h" * 64, strategy_id=1, strategy_name=EVIL,
                    strategy_version=2, status=RunStatus.COMPLETED,
                    config=BacktestConfig(params=params or {"fast": 10}), data_sha="d" * 64,
                    error="", progress=1.0, created_at=datetime(2024, 6, 1),
                    started_at=datetime(2024, 6, 1), finished_at=datetime(2024, 6, 1, 0, 0, 2),
                    duration_s=2.0, log="hello")
    inp = metrics.Inputs(equity=equity, trades=trade_stats.engine_trades(stored),
                         benchmark=ohlcv["Close"])
    by_kind: dict[str, dict[str, float]] = {}
    for name, value, kind in trade_stats.metric_rows(inp):
        by_kind.setdefault(kind, {})[name] = value
    return analytics.RunBundle(run=run, equity=equity, ohlcv=ohlcv,
                               trades=analytics.enrich_trades(stored, ohlcv), metrics=by_kind,
                               strategy_deleted=True, data_changed=False)


@pytest.fixture(scope="module")
def bundle() -> analytics.RunBundle:
    return _bundle()


def test_monthly_returns_compound_to_the_total_return(bundle: analytics.RunBundle) -> None:
    monthly = frames.monthly_returns(bundle.equity)
    assert list(monthly["month"]) == [1, 2, 3, 4]
    growth = float(np.prod(1 + monthly["ret"]))
    assert growth == pytest.approx(bundle.equity.iloc[-1] / bundle.equity.iloc[0])
    assert frames.yearly_returns(bundle.equity)["ret"].iloc[0] == pytest.approx(growth - 1)


def test_every_chart_builds_a_vega_lite_spec(bundle: analytics.RunBundle) -> None:
    built = [charts.equity_vs_benchmark(bundle.equity, bundle.benchmark),
             charts.underwater(bundle.equity), charts.monthly_heatmap(bundle.equity),
             charts.yearly_returns(bundle.equity),
             charts.rolling_sharpe_volatility(bundle.equity),
             trade_charts.pnl_histogram(bundle.trades),
             trade_charts.duration_vs_return(bundle.trades),
             trade_charts.price_with_trades(bundle.ohlcv, bundle.trades)]
    for chart in built:
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_price_chart_draws_candles_then_a_line_beyond_the_limit() -> None:
    small, large = _bundle(bars=2_000), _bundle(bars=6_000)
    small_spec = json.dumps(trade_charts.price_with_trades(small.ohlcv, small.trades).to_dict())
    large_spec = trade_charts.price_with_trades(large.ohlcv, large.trades).to_dict()
    assert '"rule"' in small_spec and '"bar"' in small_spec
    assert large_spec["layer"][0]["mark"]["type"] == "line"
    rows = max(len(v) for v in large_spec["datasets"].values())
    assert rows <= charts.MAX_POINTS + 2  # markers are separate; bars are thinned


def test_excursions_bound_the_gross_trade_result(bundle: analytics.RunBundle) -> None:
    t = bundle.trades
    gross = (t["exit_price"] - t["entry_price"]) * t["size"]
    assert ((gross <= t["mfe_usdt"] + 1e-9) & (gross >= t["mae_usdt"] - 1e-9)).all()
    assert list(t["cum_pnl"]) == pytest.approx(list(t["pnl"].cumsum()))


def test_summary_html_escapes_and_shows_definitions_on_hover(
        bundle: analytics.RunBundle) -> None:
    html = tables.summary_html(bundle.metrics)
    assert html.count("<abbr title=") == len(trade_stats.SUMMARY_ROWS)
    assert "<script" not in html
    ratios = tables.ratio_html(bundle.metrics["all"])
    assert ratios.count("<abbr title=") == len(metrics.METRICS)
    assert "Mean of daily excess returns" in ratios
    assert tables.glossary_html("omega").count("<tr>") == 2  # header + omega_ratio
    frame = tables.summary_table(bundle.metrics)
    assert list(frame.columns) == ["Metric", "All", "Long", "Short", "Definition"]
    assert frame.set_index("Metric").at["Sharpe ratio", "Long"] == "—"


def test_trade_list_and_filters(bundle: analytics.RunBundle) -> None:
    listed = tables.trade_list(bundle.trades)
    assert list(listed.columns) == list(tables.TRADE_COLUMNS.values())
    assert (listed["Size (coins)"] > 0).all()
    shorts = tables.filter_trades(bundle.trades, sides=["short"])
    assert set(shorts["side"]) == {"short"} and 0 < len(shorts) < len(bundle.trades)
    wins = tables.filter_trades(bundle.trades, outcome="win", signal="SCRIPT")
    assert (wins["pnl"] > 0).all() and len(wins) > 0


def test_config_rows_say_the_strategy_was_deleted(bundle: analytics.RunBundle) -> None:
    rows = dict(tables.config_rows(bundle))
    assert "deleted" in rows["Strategy"] and rows["Parameters"] == "fast=10"
    assert rows["Data sha256"] == "d" * 64


def test_json_export_has_the_documented_shape(bundle: analytics.RunBundle) -> None:
    doc = json.loads(export.run_json(bundle))
    assert list(doc) == ["run_id", "config", "metrics", "metrics_by_side", "equity", "trades"]
    assert set(doc["metrics"]) == set(metrics.METRICS) | set(export.COST_METRICS)
    assert set(doc["metrics_by_side"]) == {"all", "long", "short"}
    assert doc["equity"][0] == [bundle.equity.index[0].isoformat(),
                                pytest.approx(bundle.equity.iloc[0])]
    assert list(doc["trades"][0]) == [*export.JSON_TRADE_FIELDS, *export.TRADE_SPLIT_FIELDS]
    assert doc["trades"][0]["tag"] == EVIL


def test_csv_and_parquet_exports_round_trip(bundle: analytics.RunBundle) -> None:
    trades = pd.read_csv(io.BytesIO(export.trades_csv(bundle)))
    assert len(trades) == len(bundle.trades) and list(trades.columns) == list(
        export.CSV_TRADE_FIELDS)
    equity = pd.read_parquet(io.BytesIO(export.equity_parquet(bundle)))
    assert equity["equity_usdt"].to_numpy() == pytest.approx(bundle.equity.to_numpy())
    assert pd.read_csv(io.BytesIO(export.equity_csv(bundle))).shape == (len(bundle.equity), 2)


@pytest.mark.parametrize("kind", list(export.FORMATS))
def test_download_names_come_from_the_run_id_only(kind: str) -> None:
    name = export.file_name(12, kind)
    assert name.startswith("run-12-") and "/" not in name and " " not in name


def test_pdf_builds_with_hostile_user_strings(bundle: analytics.RunBundle) -> None:
    content = pdf.build_pdf(bundle)
    assert content.startswith(b"%PDF") and content.count(b"/Type /Page\n") >= 4


def test_compare_tables_and_best_values() -> None:
    a, b = _bundle(1, seed=1), _bundle(2, seed=2, params={"fast": 20})
    values = compare.values_table([a, b])
    best = compare.best_columns(values)
    assert best["sharpe_ratio"] == [values.loc["sharpe_ratio"].idxmax()]
    assert best["max_drawdown"] == [values.loc["max_drawdown"].idxmin()]
    assert "total_trades" not in best
    diff = compare.config_differences([a, b])
    assert diff.to_dict(orient="records") == [{"Setting": "params.fast", "Run 1": "10",
                                               "Run 2": "20"}]
    assert compare.correlation([a, b]).shape == (2, 2)
    with pytest.raises(PineOptError, match="2 to 10"):
        compare.load_runs(None, [1])  # type: ignore[arg-type]


def test_thinning_keeps_every_bucket_extreme() -> None:
    values = np.sin(np.arange(20_000) / 50.0) * 100 + np.arange(20_000) * 0.01
    values[12_345] = -1_000.0  # one spike that plain every-k-th sampling would miss
    frame = pd.DataFrame({"time": pd.date_range("2022-01-01", periods=len(values), freq="h"),
                          "v": values})
    shown = charts.thin(frame, "v")
    assert len(shown) <= charts.MAX_POINTS + 2
    assert shown["v"].min() == -1_000.0 and shown["v"].max() == values.max()
    assert shown["time"].is_monotonic_increasing
    assert shown["time"].iloc[0] == frame["time"].iloc[0]
    assert shown["time"].iloc[-1] == frame["time"].iloc[-1]


def test_thinning_keeps_first_last_and_exact_extremes_of_every_column() -> None:
    rng = np.random.default_rng(5)
    bars = 26_304  # three years of hourly bars
    frame = pd.DataFrame({"time": pd.date_range("2022-01-01", periods=bars, freq="h"),
                          "a": 100 + rng.standard_normal(bars).cumsum(),
                          "b": rng.standard_normal(bars)})
    before = frame.copy()
    shown = charts.thin(frame, "a", "b")
    assert len(shown) <= charts.MAX_POINTS + 2
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed
    pd.testing.assert_frame_equal(shown.iloc[[0, -1]], frame.iloc[[0, -1]])
    for column in ("a", "b"):
        assert shown[column].min() == frame[column].min()
        assert shown[column].max() == frame[column].max()
    # every kept row is an original row, unchanged (display only: no averaging)
    pd.testing.assert_frame_equal(shown, frame.loc[shown.index])
    short = frame.iloc[:charts.MAX_POINTS]
    assert charts.thin(short, "a") is short


def test_time_axes_show_the_year() -> None:
    b = _bundle(bars=24 * 200)
    rolling = charts.rolling_sharpe_volatility(b.equity).to_dict()
    axes = [panel["encoding"]["x"]["axis"] for panel in rolling["vconcat"]]
    assert all(axis["labelExpr"] == charts.TIME_LABELS for axis in axes)
    assert "'%b %Y'" in charts.TIME_LABELS
    for chart in (charts.equity_vs_benchmark(b.equity, b.benchmark),
                  charts.underwater(b.equity)):
        assert chart.to_dict()["encoding"]["x"]["axis"]["labelExpr"] == charts.TIME_LABELS


def test_trade_markers_differ_by_side_and_exit_reason() -> None:
    b = _bundle(bars=500)
    trades = b.trades.copy()
    trades["exit_reason"] = ["stop_loss" if i % 2 else "signal" for i in range(len(trades))]
    spec = trade_charts.price_with_trades(b.ohlcv, trades).to_dict()
    points = spec["layer"][-1]["encoding"]
    domain = points["shape"]["scale"]["domain"]
    assert {"exit: stop_loss", "exit: signal"} <= set(domain)
    shapes = dict(zip(domain, points["shape"]["scale"]["range"], strict=True))
    colours = dict(zip(domain, points["color"]["scale"]["range"], strict=True))
    assert shapes["exit: stop_loss"] != shapes["exit: signal"]
    assert colours["exit: stop_loss"] != colours["exit: signal"]
    entries = [k for k in domain if k.endswith("entry")]
    assert entries and all(shapes[k].startswith("triangle") for k in entries)


def test_correlation_is_pair_by_pair_with_a_run_that_shares_no_day() -> None:
    """Three runs where the third covers other days: the first two still correlate (one run
    sharing no day with the others used to make every cell null), the pairs with the third are
    "—" in the chart and null in JSON."""
    a, b = _bundle(1, seed=1), _bundle(2, seed=2)
    c = _bundle(3, seed=3)
    c = dataclasses.replace(c, equity=c.equity.set_axis(c.equity.index + pd.Timedelta(days=400)))
    corr = compare.correlation([a, b, c])
    alone = compare.correlation([a, b])
    assert corr.loc["Run 1", "Run 2"] == pytest.approx(alone.loc["Run 1", "Run 2"], abs=1e-12)
    assert corr.loc["Run 1", "Run 1"] == pytest.approx(1.0)
    assert corr[["Run 3"]].drop(index="Run 3").isna().all().all()
    cells = compare.correlation_cells(corr).set_index(["a", "b"])["text"]
    assert cells[("Run 1", "Run 3")] == cells[("Run 3", "Run 2")] == "—"
    assert cells[("Run 1", "Run 2")] == f"{alone.loc['Run 1', 'Run 2']:.2f}"
    compare.correlation_chart([a, b, c]).to_dict()  # the chart builds with the gaps


def test_a_run_without_trades_is_never_the_best() -> None:
    """Lowest volatility, drawdown and commission by never trading is not a best value."""
    traded = _bundle(1, seed=1)
    idle = dataclasses.replace(
        _bundle(2, seed=2), metrics={kind: {**values, "total_trades": 0.0, "volatility": 0.0,
                                            "max_drawdown": 0.0, "commission_paid": 0.0}
                                     for kind, values in _bundle(2, seed=2).metrics.items()})
    third = _bundle(3, seed=3)
    best = compare.best_columns(compare.values_table([traded, idle, third]))
    assert all("Run 2" not in cols for cols in best.values())
    assert best["volatility"] and best["max_drawdown"]  # ranked among the two that traded

