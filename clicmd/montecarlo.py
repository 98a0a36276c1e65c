"""`pineopt montecarlo RUN_ID`: trade shuffle, trade bootstrap or block bootstrap of a run."""

from __future__ import annotations

import argparse
from typing import Any

from clicmd.common import print_json, settings, table
from core.studies import montecarlo


def add_parser(sub: Any) -> None:
    """Register `pineopt montecarlo`."""
    p = sub.add_parser("montecarlo", help="Monte Carlo paths of a completed run")
    p.add_argument("run_id", type=int)
    p.add_argument("--method", choices=montecarlo.METHODS, default="shuffle",
                   help="shuffle: trade order; bootstrap: trades with replacement; block: "
                        "stationary bootstrap of daily returns")
    p.add_argument("--paths", type=int, default=1000, help="number of paths (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--block", type=float, default=5.0, help="mean block length in days (block)")
    p.add_argument("--loss", type=float, default=0.1,
                   help="report the probability of losing at least this fraction (0.1 = 10%%)")
    p.add_argument("--drawdown", type=float, default=0.2,
                   help="report the probability of a drawdown beyond this fraction")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    s = settings()
    result = montecarlo.for_run(s, args.run_id, method=args.method, paths=args.paths,
                                seed=args.seed, mean_block=args.block)
    out = montecarlo.summary(result, loss=args.loss, drawdown=args.drawdown)
    if args.json:
        print_json({"run_id": args.run_id, "seed": args.seed, **out})
        return 0
    print(f"run {args.run_id}: {out['method']}, {out['paths']} paths, seed {args.seed}")
    pct = out["percentiles"]
    print(table([[name.replace("_", " "), *(f"{v:.2%}" for v in pct[name].values())]
                 for name in pct], ["", *(f"p{p}" for p in montecarlo.PERCENTILES)]))
    print(f"P(lose >= {args.loss:.0%}) = {out['prob_loss']:.3f}; "
          f"P(drawdown > {args.drawdown:.0%}) = {out['prob_drawdown']:.3f}")
    return 0
