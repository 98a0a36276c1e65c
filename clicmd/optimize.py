"""`pineopt optimize FILE ...` (a parameter sweep in sandbox batches) and
`pineopt studies list|show|resume`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clicmd.backtest import (add_sweep_arguments, parse_params, saved_sweep_strategy)
from clicmd.common import print_json, settings, table
from core.errors import PineOptError
from core.model import BacktestConfig
from core.runs import admin as run_admin
from core.studies import space, stats, study_store, sweep
from core.studies.background import StudyRunner


def add_parser(sub: Any) -> None:
    """Register `pineopt optimize` and `pineopt studies`."""
    p = sub.add_parser("optimize", help="sweep a strategy's parameters (grid, random, tpe)",
                       description="Trials run in batches inside sandbox children; a killed "
                                   "sweep resumes with `pineopt studies resume ID`.")
    p.add_argument("file", type=Path, help="strategy source, .py or .pine")
    add_sweep_arguments(p, per_window=False)
    p.add_argument("--no-reuse", action="store_true",
                   help="run identical trials again instead of copying them")
    p.set_defaults(handler=handle_optimize)

    s = sub.add_parser("studies", help="list, show or resume studies")
    ss = s.add_subparsers(dest="studies_command", required=True, metavar="ACTION")
    ls = ss.add_parser("list", help="stored studies")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=handle_list)
    sh = ss.add_parser("show", help="a study's trials (best first) and overfitting statistics")
    sh.add_argument("study_id", type=int)
    sh.add_argument("--top", type=int, default=20, help="trials to print (default 20)")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(handler=handle_show)
    rs = ss.add_parser("resume", help="run only the missing trials of a study")
    rs.add_argument("study_id", type=int)
    rs.add_argument("--workers", type=int)
    rs.add_argument("--batch-size", type=int, default=sweep.DEFAULT_BATCH)
    rs.add_argument("--json", action="store_true")
    rs.set_defaults(handler=handle_resume)


def _printer(enabled: bool):  # noqa: ANN202 - a small callback factory
    def show(report: sweep.SweepReport) -> None:
        if enabled:
            print(f"stored {report.stored} trials (run {report.executed}, reused "
                  f"{report.reused})", flush=True)
    return show


def _summary(s: Any, report: sweep.SweepReport) -> dict[str, Any]:
    study = study_store.get_study(s.db_path, report.study_id)
    return {"study_id": report.study_id, "status": report.status, "method": study.method,
            "objective": study.objective, "direction": study.direction,
            "executed": report.executed, "reused": report.reused, "trials": report.stored,
            "best": report.best, "seconds": round(report.seconds, 3), "errors": report.errors,
            "overfitting": stats.study_statistics(s.db_path, report.study_id)}


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"study {summary['study_id']}: {summary['status']} — {summary['trials']} trials "
          f"({summary['executed']} run, {summary['reused']} reused) in {summary['seconds']} s")
    best = summary["best"]
    if best:
        print(f"best trial {best['n']}: {best['params']}  {summary['objective']} = "
              f"{best['objective']:.4f}  trades = {best['trades']}")
    over = summary["overfitting"]
    for line in over.get("lines", []):
        print(line)
    for err in summary["errors"]:
        print(f"error: {err}", file=sys.stderr)


def handle_optimize(args: argparse.Namespace) -> int:
    s, sid, config = saved_sweep_strategy(args)
    study_id = sweep.create(
        s, strategy_id=sid, config=config, specs=parse_params(args.param), method=args.method,
        max_trials=args.trials, time_budget_s=args.time_budget, objective=args.objective,
        direction="min" if args.minimize else "max", min_trades=args.min_trades,
        constraints=args.constraint, seed=args.seed)
    if not args.json:
        print(f"study {study_id} created", flush=True)
    report = StudyRunner(s).run(study_id, workers=args.workers, batch_size=args.batch_size,
                                reuse=not args.no_reuse, on_progress=_printer(not args.json))
    return _finish(s, report, args.json)


def _finish(s: Any, report: sweep.SweepReport, as_json: bool) -> int:
    summary = _summary(s, report)
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    if report.status == "failed":
        if not as_json:
            raise PineOptError(f"study {report.study_id} failed: {'; '.join(report.errors)}")
        return 1
    return 0


def handle_resume(args: argparse.Namespace) -> int:
    s = settings()
    study = study_store.get_study(s.db_path, args.study_id)
    if study.status == "running" and not study.interrupted:
        raise PineOptError(f"Study {study.id} is running in process {study.owner_pid}.")
    if study.kind == "walkforward":
        from clicmd import walkforward

        return walkforward.resume(s, study.id, workers=args.workers,
                                  batch_size=args.batch_size, as_json=args.json)
    report = StudyRunner(s).run(args.study_id, workers=args.workers,
                                batch_size=args.batch_size, on_progress=_printer(not args.json))
    return _finish(s, report, args.json)


def handle_list(args: argparse.Namespace) -> int:
    s = settings()
    rows = study_store.list_studies(s.db_path)
    if args.json:
        print_json([{"id": st.id, "strategy": st.strategy_name, "method": st.method,
                     "objective": st.objective, "status": st.shown_status, "trials": n,
                     "max_trials": st.max_trials, "planned_trials": _budget(st),
                     "config": st.config, "created_at": st.created_at}
                    for st, n in rows])
        return 0
    print(table([[st.id, st.strategy_name, _market(st), _method(st),
                  f"{st.direction} {st.objective}", st.shown_status, _trials_text(st, n),
                  f"{st.created_at:%Y-%m-%d %H:%M:%S}"] for st, n in rows],
                ["id", "strategy", "market", "method", "objective", "status", "trials",
                 "created"]))
    return 0


def _method(study: study_store.Study) -> str:
    """'grid', or 'grid walk-forward' for a walk-forward (its windows are studies of their own)."""
    return f"{study.method} walk-forward" if study.kind == "walkforward" else study.method


def _trials_text(study: study_store.Study, stored: int) -> str:
    """'3/6' trials stored of those it can run; '—' for a walk-forward (it read '0/200': its
    trials are its windows' studies, listed with it)."""
    return "—" if study.kind == "walkforward" else f"{stored}/{_budget(study)}"


def _market(study: study_store.Study) -> str:
    """'BTCUSDT perp 3× 1h · 2024-01-01 → 2024-03-31': what the study's trials ran on."""
    config = BacktestConfig.from_dict(study.config)
    return (f"{run_admin.market_text(config)} · {config.start or 'first bar'} → "
            f"{config.end or 'last bar'}")


def _budget(study: study_store.Study) -> int:
    """The trials a study can run: a grid's size (after constraints) when that is below the
    trial budget, otherwise the budget."""
    if study.method != "grid" or study.kind == "walkforward":
        return study.max_trials
    dims = sweep.dimensions(study)
    if space.size(dims) > study.max_trials:
        return study.max_trials
    return sum(1 for _ in space.grid(dims, sweep.rules(study)))


def handle_show(args: argparse.Namespace) -> int:
    s = settings()
    study = study_store.get_study(s.db_path, args.study_id)
    if study.kind == "walkforward":
        from clicmd import walkforward

        return walkforward.show(s, study.id, as_json=args.json)
    frame = study_store.trials_frame(s.db_path, study.id)
    ranked = frame.sort_values(["objective", "n"], ascending=[study.direction == "min", True],
                               na_position="last")
    over = stats.study_statistics(s.db_path, study.id)
    if args.json:
        print_json({"study_id": study.id, "status": study.shown_status, "method": study.method,
                    "config": study.config, "objective": study.objective,
                    "direction": study.direction,
                    "space": study.space, "constraints": study.constraints,
                    "trials": ranked.to_dict(orient="records"), "overfitting": over})
        return 0
    print(f"study {study.id}: {study.strategy_name} v{study.strategy_version} on "
          f"{_market(study)}, {study.method}, {study.direction} {study.objective}, "
          f"{study.shown_status}, {len(frame)} trials")
    print(table([[r.n, r.params, r.status, _num(r.objective), r.trades, _num(r.sharpe_ratio),
                  _num(r.total_return)] for r in ranked.head(args.top).itertuples()],
                ["n", "params", "status", "objective", "trades", "sharpe", "return"]))
    for line in over.get("lines", []):
        print(line)
    return 0


def _num(value: Any) -> str:
    return "—" if value is None or value != value else f"{value:.4f}"
