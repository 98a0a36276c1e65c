"""`pineopt runs list/show/delete`, `pineopt report RUN_ID` and `pineopt compare RUN_ID RUN_ID ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clicmd import common
from clicmd.common import print_json, reader, settings, status, table, write_output
from core.analytics import metrics, trade_stats
from core.runs import admin as run_admin, service as runs
from core.errors import ConfigError
from core.model import RunRecord, RunStatus
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
    lp.add_argument("--strategy", help="only runs of strategies whose name contains this")
    lp.add_argument("--status", choices=[s.value for s in RunStatus] + ["failed-any"],
                    help="only runs with this status (failed-any: every unsuccessful end)")
    lp.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)
    sp = rs.add_parser("show", help="one run: status, config, metrics, error and log")
    sp.add_argument("run_id", type=int)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(handler=_show)
    dp = rs.add_parser("delete", help="delete runs with their trades, equity, metrics, plots, "
                                      "risk events and cached reports")
    dp.add_argument("run_ids", type=int, nargs="*", metavar="RUN_ID")
    dp.add_argument("--failed", action="store_true", help="every run that did not complete")
    dp.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(handler=_delete)
    rp = sub.add_parser("report", help="write a run's report file",
                        description="Write a completed run's report. " + REPORT_HELP)
    rp.add_argument("run_id", type=int)
    rp.add_argument("--format", choices=export.REPORT_FORMATS, default="html", help=REPORT_HELP)
    rp.add_argument("-o", "--output", type=Path, required=True, help="file to write; - for stdout")
    rp.set_defaults(handler=_report)
    cp = sub.add_parser("compare", help="metrics of 2-10 runs side by side")
    cp.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    cp.add_argument("--json", action="store_true",
                    help="print {runs, metrics, best, correlation, config_differences}")
    cp.set_defaults(handler=_compare)


def _matching(db: Path, args: argparse.Namespace) -> list[RunRecord]:
    if args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: give a positive number of runs.")
    failed = {s for s in RunStatus if s.finished and s is not RunStatus.COMPLETED}
    wanted = failed if args.status == "failed-any" else \
        {RunStatus(args.status)} if args.status else set(RunStatus)
    needle = (args.strategy or "").casefold()
    found = [r for r in runs.list_runs(db, limit=1_000_000)
             if r.status in wanted and needle in r.strategy_name.casefold()]
    return found[:args.limit]


def _list(args: argparse.Namespace) -> int:
    s = reader()
    records = _matching(s.db_path, args)
    changes = run_admin.param_changes(s.db_path, records)
    origins = run_admin.run_origins(s.db_path, [r.id for r in records])
    rows = []
    for r in records:
        ret = runs.run_metrics(s.db_path, r.id).get("total_return")
        rows.append({"run_id": r.id, "status": r.status.value, "strategy": r.strategy_name,
                     "version": r.strategy_version, "symbol": r.config.symbol,
                     "market": r.config.market, "leverage": float(r.config.margin.leverage),
                     "timeframe": r.config.timeframe,
                     "start": r.config.start, "end": r.config.end,
                     "origin": origins.get(r.id, ""), "created_at": str(r.created_at),
                     "total_return": ret, "params_changed": changes[r.id]})
    by_id = {r.id: r for r in records}
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no runs match these filters" if args.strategy or args.status else
              "no runs yet: `pineopt backtest FILE --symbol BTCUSDT --timeframe 1h`")
        return 0
    print(table([[r["run_id"], r["status"], r["strategy"], r["version"], r["symbol"],
                  r["market"] + run_admin.leverage_text(by_id[r["run_id"]].config),
                  r["timeframe"], f"{r['start'] or '…'} → {r['end'] or '…'}",
                  r["created_at"][:19],
                  metrics.format_value("total_return", r["total_return"]),
                  r["origin"] or "-",
                  run_admin.param_text(r["params_changed"]).removeprefix(" · ")] for r in rows],
                ["ID", "STATUS", "STRATEGY", "VER", "SYMBOL", "MARKET", "TF", "DATES",
                 "CREATED (UTC)", "RETURN", "ORIGIN", "PARAMS (not default)"]))
    return 0


def _show(args: argparse.Namespace) -> int:
    s = settings()
    run = runs.get_run(s.db_path, args.run_id)
    values = runs.run_metrics(s.db_path, run.id)
    doc = {"run_id": run.id, "status": run.status.value, "strategy": run.strategy_name,
           "version": run.strategy_version, "config": run.config.to_dict(),
           "params_changed": run_admin.param_changes(s.db_path, [run])[run.id],
           "created_at": str(run.created_at), "duration_s": run.duration_s,
           "metrics": {n: values.get(n) for n in metrics.METRICS if n in values},
           "error": run.error, "log": run.log}
    if args.json:
        print_json(doc)
        return 0
    cfg = run.config
    print(f"run {run.id}: {run.status.value} · {run.strategy_name} v{run.strategy_version} · "
          f"{cfg.exchange}/{cfg.market} {cfg.symbol}{run_admin.leverage_text(cfg)} "
          f"{cfg.timeframe} {cfg.start or 'start'} to "
          f"{cfg.end or 'end'} · cash {cfg.cash_usdt:,.0f} USDT"
          f"{run_admin.param_text(doc['params_changed'])}")
    for line in common.labelled([(metrics.describe(n).label, metrics.format_value(n, values[n]))
                                 for n in doc["metrics"]]):
        print(line)
    if run.error:
        print(f"error: {run.error}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    s = settings()
    ids = sorted(set(args.run_ids) | set(run_admin.failed_run_ids(s.db_path) if args.failed else []))
    if not ids:
        raise ConfigError("Nothing to delete: give run ids (`pineopt runs list`) or --failed.")
    for run_id in ids:
        runs.get_run(s.db_path, run_id)  # an unknown id fails before anything is asked
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"Deleting {len(ids)} run(s) needs confirmation: add --yes "
                              "(stdin is not a terminal).")
        answer = input(f"Delete run(s) {', '.join(map(str, ids))} with their trades, equity, "
                       "metrics and reports? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            status("nothing deleted")
            return 1
    gone = run_admin.delete_runs(s.db_path, ids)
    if args.json:
        print_json({"deleted": gone})
    else:
        status(f"deleted run(s) {', '.join(map(str, gone))}")
    return 0


def _report(args: argparse.Namespace) -> int:
    # html and pdf are cached in the store (a write); the other formats only read
    content = export.report_bytes(settings() if args.format in ("html", "pdf") else reader(),
                                  args.run_id, args.format)
    where = write_output(args.output, content)
    status(f"wrote {where} ({len(content):,} bytes, {args.format})")
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
