"""`pineopt runs list` and `pineopt report RUN_ID`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clicmd.common import print_json, settings, table
from core import metrics, runs
from reports import tearsheet


def add_parser(sub: Any) -> None:
    """Register `pineopt runs` and `pineopt report`."""
    p = sub.add_parser("runs", help="stored backtest runs")
    rs = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    lp = rs.add_parser("list", help="list runs, newest first")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)
    rp = sub.add_parser("report", help="write a run's report file")
    rp.add_argument("run_id", type=int)
    rp.add_argument("--format", choices=["html"], default="html")
    rp.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    rp.set_defaults(handler=_report)


def _list(args: argparse.Namespace) -> int:
    s = settings()
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
    s = settings()
    html = tearsheet.tearsheet_html(s, args.run_id)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(html)
    print(f"wrote {args.output} ({len(html):,} bytes)")
    return 0
