"""`pineopt walkforward FILE ...`: optimise on rolling or anchored in-sample windows, run the
best parameters out-of-sample, stitch the out-of-sample equity; `pineopt studies resume ID`
resumes one too."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clicmd.backtest import (add_sweep_arguments, parse_params, saved_sweep_strategy)
from clicmd.common import print_json, table
from core.analytics import metrics
from core.errors import PineOptError
from core.studies import walkforward
from core.studies.background import StudyRunner

HEADLINE = ("total_return", "annualized_return", "cagr", "sharpe_ratio", "max_drawdown",
            "total_trades")


def add_parser(sub: Any) -> None:
    """Register `pineopt walkforward`."""
    p = sub.add_parser("walkforward", help="walk-forward optimisation (rolling or anchored)",
                       description="Each in-sample window is a sweep (trials stored like any "
                                   "study's); its best parameters run on the out-of-sample "
                                   "window that follows. A killed walk-forward resumes with "
                                   "`pineopt studies resume ID`.")
    p.add_argument("file", type=Path, help="strategy source, .py or .pine")
    p.add_argument("--is", dest="is_len", required=True, metavar="LENGTH",
                   help="in-sample length: 180d, 12h, 8w")
    p.add_argument("--oos", dest="oos_len", required=True, metavar="LENGTH",
                   help="out-of-sample length (e.g. 60d)")
    p.add_argument("--step", metavar="LENGTH",
                   help="how far each window moves (default and minimum: the --oos length)")
    p.add_argument("--anchored", action="store_true",
                   help="in-sample windows all start at the first bar (default: rolling)")
    add_sweep_arguments(p, per_window=True)
    p.set_defaults(handler=handle)


def _printer(enabled: bool):  # noqa: ANN202 - a small callback factory
    def show(report: walkforward.WalkForwardReport) -> None:
        if enabled and report.current is not None:
            state = "done" if report.done >= report.current else "optimising in-sample"
            print(f"window {report.current} of {report.windows}: {state}", flush=True)
    return show


def handle(args: argparse.Namespace) -> int:
    s, sid, config = saved_sweep_strategy(args)
    study_id = walkforward.create(
        s, strategy_id=sid, config=config, specs=parse_params(args.param),
        is_len=args.is_len, oos_len=args.oos_len, step=args.step, anchored=args.anchored,
        method=args.method, max_trials=args.trials, time_budget_s=args.time_budget,
        objective=args.objective, direction="min" if args.minimize else "max",
        min_trades=args.min_trades, constraints=args.constraint, seed=args.seed)
    if not args.json:
        print(f"walk-forward {study_id} created", flush=True)
    return resume(s, study_id, workers=args.workers, batch_size=args.batch_size,
                  as_json=args.json)


def resume(s: Any, study_id: int, *, workers: int | None, batch_size: int,
           as_json: bool) -> int:
    """Run (or resume) a walk-forward and print its outcome; 1 when it failed."""
    report = StudyRunner(s).run(study_id, workers=workers, batch_size=batch_size,
                                on_progress=_printer(not as_json))
    out = walkforward.result(s, study_id)
    summary = _summary(out, status=report.status, seconds=report.seconds,
                       errors=report.errors)
    if as_json:
        print_json(summary)
        return 1 if report.status == "failed" else 0
    _print(summary, out)
    if report.status == "failed":
        raise PineOptError(f"walk-forward {study_id} failed: {'; '.join(report.errors)}")
    return 0


def show(s: Any, study_id: int, *, as_json: bool) -> int:
    """Print a stored walk-forward (`pineopt studies show ID`)."""
    out = walkforward.result(s, study_id)
    errors = [e for e in out.study.error.splitlines() if e]
    summary = _summary(out, status=out.study.shown_status, seconds=0.0, errors=errors)
    if as_json:
        print_json(summary)
    else:
        _print(summary, out)
    return 0


def _summary(out: walkforward.WalkForwardResult, *, status: str, seconds: float,
             errors: list[str]) -> dict[str, Any]:
    return {"study_id": out.study.id, "status": status, **out.lengths,
            "method": out.study.method, "objective": out.study.objective,
            "direction": out.study.direction, "windows": out.window_records(),
            "oos_metrics": out.metrics, "is_annualized_return": out.is_annualised,
            "oos_annualized_return": out.oos_annualised, "wfe": out.efficiency,
            "seconds": round(seconds, 3), "errors": errors}


def _fmt(value: Any, unit: str = "ratio") -> str:
    """A figure for the window table: "—" when missing; percent as a number (the header says
    %), ratios with 2 decimals."""
    if value is None or value != value:
        return "—"
    return f"{float(value) * 100:,.2f}" if unit == "pct" else metrics.format_unit(unit,
                                                                                  float(value))


def _print(summary: dict[str, Any], out: walkforward.WalkForwardResult) -> None:
    kind = "anchored" if summary["anchored"] else "rolling"
    print(f"walk-forward {summary['study_id']}: {summary['status']} — {kind}, in-sample "
          f"{summary['is_len']}, out-of-sample {summary['oos_len']}, step {summary['step']}, "
          f"{summary['method']} {summary['direction']} {summary['objective']}")
    swept = [d["name"] for d in out.study.space]
    rows = [[w["window"], w["oos_start"][:16], w["oos_end"][:16], w["status"],
             *((w["params"] or {}).get(name, "—") for name in swept),
             _fmt(w["is_annualized_return"], "pct"), _fmt(w["oos_annualized_return"], "pct"),
             _fmt(w["oos_total_return"], "pct"), _fmt(w["oos_sharpe_ratio"]),
             _fmt(w["wfe"]), w["oos_run_id"] or "—"]
            for w in summary["windows"]]
    print(table(rows, ["Window", "OOS from (UTC)", "OOS to (UTC, excl.)", "Status", *swept,
                       "IS return ann. %", "OOS return ann. %", "OOS return %", "OOS Sharpe",
                       "WFE", "OOS run"]))
    if out.metrics:
        print("stitched out-of-sample: " + ", ".join(
            f"{metrics.describe(m).label} {metrics.format_value(m, out.metrics[m])}"
            for m in HEADLINE))
    print(f"walk-forward efficiency (OOS / IS mean daily return ×365): "
          f"{_fmt(summary['wfe'])}")
    for err in summary["errors"]:
        print(f"error: {err}")
