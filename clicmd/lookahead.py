"""`pineopt lookahead FILE`: re-run a strategy on truncated data and flag lookahead bias."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clicmd.backtest import build_config, sweep_config_args
from clicmd.common import print_json, settings
from core.strategies import files
from core.runs import pine_run
from core.model import Language
from core.studies import lookahead


def add_parser(sub: Any) -> None:
    """Register `pineopt lookahead`."""
    p = sub.add_parser("lookahead", help="check a strategy for lookahead bias and repainting",
                       description="Runs the strategy on the whole range, then on data cut at "
                                   "several bars, in the sandbox; up to each cut the indicators "
                                   "and orders must match the full run. Exit 0 passed, "
                                   "3 lookahead found, 1 an error.")
    p.add_argument("file", type=Path, help="strategy source, .py or .pine")
    for flag in ("--symbol", "--timeframe", "--exchange", "--start", "--end"):
        p.add_argument(flag)
    p.add_argument("--market", choices=["spot", "perp"])
    p.add_argument("--cuts", type=int, default=lookahead.DEFAULT_CUTS,
                   help=f"truncated runs (1-{lookahead.MAX_CUTS}, default "
                        f"{lookahead.DEFAULT_CUTS})")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a strategy parameter (repeatable)")
    p.add_argument("--cash", type=float)
    p.add_argument("--commission", type=float)
    p.add_argument("--config", type=Path, metavar="FILE.toml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the check; print each finding with its bar and line (or JSON). Exit 3 on findings."""
    upload = files.read_strategy_file(args.file)
    own = pine_run.strategy_defaults(upload.source) if upload.language is Language.PINE else {}
    values = vars(args).copy()
    values["fixed"] = args.param
    config = build_config(sweep_config_args(argparse.Namespace(**values)), own)
    s = settings()
    prepared = lookahead.prepare(s, name=args.file.name, source=upload.source,
                                 language=upload.language, config=config)
    if not args.json:
        print(f"{args.file.name}: {prepared.config.symbol} {prepared.config.timeframe}, "
              f"{len(prepared.data)} bars; running the full range and {args.cuts} cuts in "
              "the sandbox", flush=True)
    report = lookahead.check(s, prepared, cuts=args.cuts)
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"compared {len(report.indicators)} indicator series and {report.orders} orders "
              f"at {len(report.cuts)} cuts: {', '.join(report.cuts)}")
        for finding in report.findings:
            print(f"LOOKAHEAD {finding.text()}")
        print("passed: no lookahead found" if report.passed else
              f"failed: {len(report.findings)} differences (lookahead bias or repainting)")
    return 0 if report.passed else 3
