"""Run exports: CSV of trades, CSV and Parquet of the equity curve, JSON of the whole run.

File names come from server ids only (security E7): ``file_name(run_id, kind)``. Times are ISO
8601 UTC without offset; money is USDT; sizes are signed coins (short < 0). Non-finite metric
values (a profit factor without losses) are written as the strings "inf" / "-inf" in JSON.
CSV text cells that a spreadsheet would run as a formula (a tag "=HYPERLINK(...)") are prefixed
with a single quote (core.inert.csv_bytes; CRLF line ends); numbers stay numbers.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pandas as pd

from core.analytics import run_bundle as analytics, metrics, trade_stats
from core import inert
from core.analytics.run_bundle import RunBundle
from core.settings import Settings

FORMATS = {"html": ("tearsheet.html", "text/html"), "pdf": ("report.pdf", "application/pdf"),
           "csv": ("trades.csv", "text/csv"), "equity_csv": ("equity.csv", "text/csv"),
           "parquet": ("equity.parquet", "application/vnd.apache.parquet"),
           "trades_parquet": ("trades.parquet", "application/vnd.apache.parquet"),
           "json": ("run.json", "application/json")}
JSON_TRADE_FIELDS = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "pnl",
                     "return_pct", "commission", "tag", "exit_reason", "mae", "mfe")
CSV_TRADE_FIELDS = ("n", "side", "tag", "exit_reason", "entry_time", "exit_time", "entry_price",
                    "exit_price", "size", "pnl", "return_pct", "cum_pnl", "commission",
                    "mfe_usdt", "mae_usdt", "bars", "entry_bar", "exit_bar")


def file_name(run_id: int, kind: str) -> str:
    """Download name for a run's export, from its integer id only (e.g. run-12-trades.csv)."""
    return f"run-{int(run_id)}-{FORMATS[kind][0]}"


def mime(kind: str) -> str:
    """MIME type of an export kind."""
    return FORMATS[kind][1]


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()


def _number(value: float | None) -> float | str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def trades_csv(bundle: RunBundle) -> bytes:
    """Every trade, one row each, with run-up (mfe_usdt) and drawdown (mae_usdt), plus the
    broker's fees / funding / slippage_cost split (USDT) when the run stored it."""
    split = [c for c in ("fees", "funding", "slippage_cost") if c in bundle.trades]
    frame = bundle.trades.loc[:, [*CSV_TRADE_FIELDS, *split]]
    return inert.csv_bytes(frame, date_format="%Y-%m-%dT%H:%M:%S")


def equity_csv(bundle: RunBundle) -> bytes:
    """time,equity_usdt per bar."""
    frame = pd.DataFrame({"time": bundle.equity.index, "equity_usdt": bundle.equity.to_numpy()})
    return inert.csv_bytes(frame, date_format="%Y-%m-%dT%H:%M:%S")


def equity_parquet(bundle: RunBundle) -> bytes:
    """Parquet with columns time (timestamp, UTC) and equity_usdt (double)."""
    frame = pd.DataFrame({"time": bundle.equity.index, "equity_usdt": bundle.equity.to_numpy()})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def trades_parquet(bundle: RunBundle) -> bytes:
    """The trades_csv columns as Parquet (times as timestamps, UTC)."""
    split = [c for c in ("fees", "funding", "slippage_cost") if c in bundle.trades]
    buffer = io.BytesIO()
    bundle.trades.loc[:, [*CSV_TRADE_FIELDS, *split]].to_parquet(buffer, index=False)
    return buffer.getvalue()


def _trade_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for t in trades.itertuples(index=False):
        out.append({"entry_time": _iso(t.entry_time), "exit_time": _iso(t.exit_time),
                    "side": t.side, "size": float(t.size), "entry_price": float(t.entry_price),
                    "exit_price": float(t.exit_price), "pnl": float(t.pnl),
                    "return_pct": float(t.return_pct), "commission": float(t.commission),
                    "tag": str(t.tag), "exit_reason": str(t.exit_reason),
                    "mae": float(t.mae_usdt), "mfe": float(t.mfe_usdt),
                    **{k: _number(getattr(t, k, None)) for k in TRADE_SPLIT_FIELDS}})
    return out


TRADE_SPLIT_FIELDS = ("price_pnl", "fees", "funding", "slippage_cost")
COST_METRICS = ("fees_paid", "funding_pnl", "slippage_cost", "price_pnl")


def run_document(bundle: RunBundle) -> dict[str, Any]:
    """The run as a JSON-ready dict: run_id, config, metrics (seed names), metrics_by_side,
    equity [[iso_time, equity], ...] and trades (JSON_TRADE_FIELDS; mae/mfe in USDT). Metrics
    also carry the P&L split (fees_paid, funding_pnl, slippage_cost, price_pnl) and each trade
    its price_pnl, fees, funding and slippage_cost (USDT; None for runs stored before them)."""
    run = bundle.run
    seed = {n: _number(bundle.metrics.get("all", {}).get(n)) for n in metrics.METRICS}
    costs = bundle.metrics.get("broker", {})
    seed |= {n: _number(costs.get(n)) for n in COST_METRICS}  # the P&L split (USDT)
    by_side = {side: {n: _number(v) for n, v in sorted(bundle.metrics.get(side, {}).items())
                      if n in trade_stats.TRADE_STATS or n in trade_stats.EQUITY_STATS}
               for side in trade_stats.SIDES}
    config = {"strategy": {"id": run.strategy_id, "name": run.strategy_name,
                           "version": run.strategy_version, "deleted": bundle.strategy_deleted},
              "backtest": run.config.to_dict(), "data_sha": run.data_sha,
              "run_hash": run.run_hash, "status": run.status.value,
              "created_at": _iso(run.created_at), "duration_s": run.duration_s}
    equity = [[_iso(t), float(v)] for t, v in bundle.equity.items()]
    return {"run_id": run.id, "config": config, "metrics": seed, "metrics_by_side": by_side,
            "equity": equity, "trades": _trade_records(bundle.trades)}


def run_json(bundle: RunBundle) -> bytes:
    """run_document as UTF-8 JSON (strict: no NaN or Infinity literals)."""
    return json.dumps(run_document(bundle), allow_nan=False, default=str).encode()


REPORT_FORMATS = ("html", "pdf", "csv", "json", "parquet")


def report_bytes(settings: Settings, run_id: int, fmt: str) -> bytes:
    """A completed run's report in one of REPORT_FORMATS: html (quantstats tearsheet), pdf,
    csv (the trades), json (the whole run), parquet (the equity curve). Raises NotFoundError."""
    if fmt == "html":
        from reports import tearsheet

        return tearsheet.tearsheet_html(settings, run_id)
    if fmt == "pdf":
        from reports import pdf

        return pdf.report_pdf(settings, run_id)
    bundle = analytics.load(settings, run_id)
    makers = {"csv": trades_csv, "json": run_json, "parquet": equity_parquet}
    if fmt not in makers:
        raise ValueError(f"unknown report format {fmt!r}; use one of {REPORT_FORMATS}")
    return makers[fmt](bundle)
