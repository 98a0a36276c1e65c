"""`pineopt runs list`, `pineopt report RUN_ID` and `pineopt compare RUN_ID RUN_ID ...`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clicmd.common import print_json, reader, settings, table
from core import metrics, runs, trade_stats
from reports import compare, export

REPORT_HELP = ("html: quantstats tearsheet (365-day year, benchmark = buy & hold); pdf: report "
               "with config, metrics, charts and top/worst trades; csv: the trade list (one row "
               "per trade, with run-up/drawdown); json: the whole run (config, metrics, "
               "metrics_by_side, equity, trades); parquet: the equity curve (time, equity_usdt)")


def add_parser(sub: Any) -> None:
    """Register `pineopt runs`, `pineopt report` and `pineopt compare`."""
    p = sub.add_parser("runs", help="stored backtest runs")
    rs = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    lp = rs.add_parser("list", help="list runs, newest first")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)
    rp = sub.add_parser("report", help="write a run's report file",
                        description="Write a completed run's report. " + REPORT_HELP)
    rp.add_argument("run_id", type=int)
    rp.add_argument("--format", choices=export.REPORT_FORMATS, default="html", help=REPORT_HELP)
    rp.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    rp.set_defaults(handler=_report)
    cp = sub.add_parser("compare", help="metrics of 2-10 runs side by side")
    cp.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    cp.add_argument("--json", action="store_true",
                    help="print {runs, metrics, best, correlation, config_differences}")
    cp.set_defaults(handler=_compare)


def _list(args: argparse.Namespace) -> int:
    s = reader()
    records = runs.list_runs(s.db_path)
    rows = []
    for r in records:
        ret = runs.run_metrics(s.db_path, r.id).get("total_return")
        rows.append({"run_id": r.id, "status": r.status.value, "strategy": r.strategy_name,
                     "version": r.strategy_version, "symbol": r.config.symbol,
                     "timeframe": r.config.timeframe, "created_at": str(r.created_at),
                     "total_return": ret})
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no runs yet: `pineopt backtest FILE --symbol BTCUSDT --timeframe 1h`")
        return 0
    print(table([[r["run_id"], r["status"], r["strategy"], r["version"], r["symbol"],
                  r["timeframe"], r["created_at"][:19],
                  metrics.format_value("total_return", r["total_return"])] for r in rows],
                ["ID", "STATUS", "STRATEGY", "VER", "SYMBOL", "TF", "CREATED (UTC)", "RETURN"]))
    return 0


def _report(args: argparse.Namespace) -> int:
    # html and pdf are cached in the store (a write); the other formats only read
    content = export.report_bytes(settings() if args.format in ("html", "pdf") else reader(),
                                  args.run_id, args.format)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(content)
    print(f"wrote {args.output} ({len(content):,} bytes, {args.format})")
    return 0


def _compare(args: argparse.Namespace) -> int:
    bundles = compare.load_runs(reader(), args.run_ids)
    values = compare.values_table(bundles)
    best = compare.best_columns(values)
    if args.json:
        corr = compare.correlation(bundles)
        diff = compare.config_differences(bundles)
        print_json({"runs": [b.run.id for b in bundles],
                    "metrics": {col: {n: values.at[n, col] for n in values.index}
                                for col in values.columns},
                    "best": best, "correlation": corr.round(12).to_dict(),
                    "config_differences": diff.to_dict(orient="records")})
        return 0
    cols = list(values.columns)
    rows = []
    for name in values.index:
        cells = [trade_stats.format_value(name, values.at[name, c]) +
                 (" *" if c in best.get(name, []) else "") for c in cols]
        rows.append([trade_stats.describe(name).label, *cells])
    print(table(rows, ["METRIC", *[c.upper() for c in cols]]))
    print("* best of the runs for that metric")
    return 0
