"""Several runs side by side: metric table with the best value per row, overlaid normalised
equity and drawdown, correlation of daily returns, and the config differences.

Pure functions of core.analytics bundles (2 to MAX_RUNS); no streamlit here.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from core.analytics import run_bundle as analytics, metrics, trade_stats
from core.analytics.run_bundle import RunBundle
from core.errors import PineOptError
from core.settings import Settings
from reports import frames
from reports.charts import MAX_POINTS

MIN_RUNS, MAX_RUNS = 2, 10
COMPARE_ROWS = (*metrics.METRICS, "net_profit", "gross_profit", "gross_loss", "max_runup_usdt",
                "max_drawdown_usdt", "commission_paid", "percent_profitable", "avg_trade",
                "ratio_avg_win_loss")
LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown", "var_95", "cvar_95",
                             "max_drawdown_duration", "gross_loss", "max_drawdown_usdt",
                             "commission_paid"})
NO_BEST = frozenset({"total_trades", "avg_trade_duration", "beta", "exposure",
                     "buy_hold_return"})


def load_runs(settings: Settings, run_ids: list[int]) -> list[RunBundle]:
    """Bundles of 2..10 distinct completed runs, in the given order. Raises PineOptError."""
    unique = list(dict.fromkeys(int(r) for r in run_ids))
    if not MIN_RUNS <= len(unique) <= MAX_RUNS:
        raise PineOptError(f"Compare needs {MIN_RUNS} to {MAX_RUNS} different runs; got "
                           f"{len(unique)}. Pick more runs, or fewer.")
    return [analytics.load(settings, run_id) for run_id in unique]


def label(b: RunBundle) -> str:
    """Column label of a run: 'Run 12'."""
    return f"Run {b.run.id}"


def values_table(bundles: list[RunBundle]) -> pd.DataFrame:
    """Raw values: one row per metric name (COMPARE_ROWS), one column per run."""
    data = {label(b): [b.metrics.get("all", {}).get(n) for n in COMPARE_ROWS] for b in bundles}
    return pd.DataFrame(data, index=list(COMPARE_ROWS), dtype=float)


def best_columns(values: pd.DataFrame) -> dict[str, list[str]]:
    """Metric name -> the column(s) holding its best value (none for neutral metrics or ties
    across every run). A run without closed trades is not ranked: it was "best" for volatility,
    drawdown, VaR, gross loss and commission by never trading."""
    best: dict[str, list[str]] = {}
    traded = [c for c in values.columns if values.at["total_trades", c] > 0]
    for name, row in values[traded].iterrows():
        clean = row.dropna()
        if name in NO_BEST or clean.empty or clean.nunique() == 1:
            continue
        target = clean.min() if name in LOWER_IS_BETTER else clean.max()
        best[str(name)] = [str(c) for c, v in clean.items() if v == target]
    return best


def metrics_table(bundles: list[RunBundle]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Formatted side-by-side table (Metric + one column per run) and the best cells by label."""
    values = values_table(bundles)
    best = best_columns(values)
    rows, best_by_label = [], {}
    for name in COMPARE_ROWS:
        info = trade_stats.describe(name)
        row: dict[str, Any] = {"Metric": info.label}
        for col in values.columns:
            row[col] = trade_stats.format_value(name, _finite_or_none(values.at[name, col]))
        rows.append(row)
        best_by_label[info.label] = best.get(name, [])
    return pd.DataFrame(rows), best_by_label


def _finite_or_none(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def styled_metrics(bundles: list[RunBundle]) -> Any:
    """metrics_table as a pandas Styler with the best value per row highlighted."""
    table, best = metrics_table(bundles)

    def paint(row: pd.Series) -> list[str]:
        winners = best.get(row["Metric"], [])
        return ["background-color: rgba(44,160,44,0.22); font-weight: 600" if c in winners
                else "" for c in row.index]

    return table.style.apply(paint, axis=1)


def _overlay(data: pd.DataFrame, field: str, fmt: str, *, zero: bool) -> alt.Chart:
    """Lines per run; ``zero``: the value axis includes 0 (drawdowns), else it fits the data
    (growth of 1 between 0.9 and 1.4 drawn from 0 squeezed every line into the top third)."""
    return alt.Chart(data).mark_line(strokeWidth=1.3).encode(
        x=alt.X("time:T", title="Time (UTC)"), y=alt.Y(f"{field}:Q", title=None,
                                                      axis=alt.Axis(format=fmt),
                                                      scale=alt.Scale(zero=zero)),
        color=alt.Color("run:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(scheme="tableau10")),
        tooltip=["run:N", alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip(f"{field}:Q", format=fmt)],
    ).add_params(alt.selection_interval(bind="scales", encodings=["x"])).properties(height=320)


def _long_frame(bundles: list[RunBundle], make: Any, field: str) -> pd.DataFrame:
    per_run = max(50, MAX_POINTS // len(bundles))
    parts = []
    for b in bundles:
        series = make(b.equity)
        step = -(-len(series) // per_run)
        series = series.iloc[::step] if step > 1 else series
        parts.append(pd.DataFrame({"time": series.index, field: series.to_numpy(),
                                   "run": label(b)}))
    return pd.concat(parts, ignore_index=True)


def equity_overlay(bundles: list[RunBundle]) -> alt.Chart:
    """Every run's equity divided by its starting equity, on one time axis."""
    data = _long_frame(bundles, frames.normalised, "growth")
    return _overlay(data, "growth", ".2f", zero=False)


def drawdown_overlay(bundles: list[RunBundle]) -> alt.Chart:
    """Every run's drawdown from its running peak."""
    data = _long_frame(bundles, frames.drawdown, "drawdown")
    return _overlay(data, "drawdown", "%", zero=True)


MIN_SHARED_DAYS = 3  # fewer shared days give no correlation (NaN, shown "—")


def correlation(bundles: list[RunBundle]) -> pd.DataFrame:
    """Pearson correlation of the runs' daily returns, pair by pair over the days each pair
    shares (one run that shares no day with the others used to blank the whole matrix); NaN
    (shown "—") for a pair sharing fewer than MIN_SHARED_DAYS days or a run whose equity never
    changes."""
    daily = pd.DataFrame({label(b): analytics.daily_returns(b.equity) for b in bundles})
    return daily.corr(min_periods=MIN_SHARED_DAYS)


def correlation_cells(corr: pd.DataFrame) -> pd.DataFrame:
    """The matrix as cells: a, b, rho, and the text shown (2 decimals, or "—" for NaN)."""
    data = corr.reset_index(names="a").melt("a", var_name="b", value_name="rho")
    data["text"] = ["—" if pd.isna(v) else f"{v:.2f}" for v in data["rho"]]
    return data


def correlation_chart(bundles: list[RunBundle]) -> alt.LayerChart:
    """The correlation matrix as a heatmap with values."""
    corr = correlation(bundles)
    data = correlation_cells(corr)
    order = list(corr.columns)
    base = alt.Chart(data).encode(
        x=alt.X("a:N", title=None, sort=order), y=alt.Y("b:N", title=None, sort=order))
    cells = base.mark_rect().encode(color=alt.Color(
        "rho:Q", title="ρ", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)),
        tooltip=["a:N", "b:N", alt.Tooltip("rho:Q", format=".3f")])
    return (cells + base.mark_text(fontSize=12).encode(text="text:N")
            ).properties(height=alt.Step(40))


def _flat_config(b: RunBundle) -> dict[str, str]:
    cfg = b.run.config.to_dict()
    flat = {"strategy": f"{b.run.strategy_name} (id {b.run.strategy_id})",
            "strategy version": str(b.run.strategy_version), "data sha256": b.run.data_sha[:12]}
    for key, value in cfg.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": str(v) for k, v in sorted(value.items())})
        else:
            flat[key] = str(value)
    return flat


def config_differences(bundles: list[RunBundle]) -> pd.DataFrame:
    """Setting, then one column per run, for every setting that is not the same in all runs
    (a parameter a run left at the strategy's default shows as '(default)', any other missing
    setting as '—')."""
    flats = [_flat_config(b) for b in bundles]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    rows = []
    for key in keys:
        missing = "(default)" if key.startswith("params.") else "—"
        values = [flat.get(key, missing) for flat in flats]
        if len(set(values)) > 1:
            rows.append({"Setting": key, **{label(b): v for b, v in zip(bundles, values,
                                                                          strict=True)}})
    return pd.DataFrame(rows, columns=["Setting", *[label(b) for b in bundles]])
