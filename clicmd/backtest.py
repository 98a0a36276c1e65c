"""`pineopt backtest FILE ...`: save the file as a strategy version and run it in the sandbox."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clicmd.common import print_json, settings
from core import files, metrics, runs, strategies
from core.errors import ConfigError, PineOptError
from core.model import BacktestConfig, RunStatus, StrategyMeta


def add_parser(sub: Any) -> None:
    """Register `pineopt backtest`."""
    p = sub.add_parser("backtest", help="run a strategy file (.py or .pine) in the sandbox")
    p.add_argument("file", type=Path, help="strategy source, .py or .pine")
    p.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    p.add_argument("--timeframe", required=True, help="1m 5m 15m 30m 1h 4h 1d 1w")
    p.add_argument("--exchange", default="sample", help="data source (default: sample)")
    p.add_argument("--market", default="spot", choices=["spot", "perp"])
    p.add_argument("--start", default="", help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--end", default="", help="last day, YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--cash", type=float, default=100_000.0, help="initial capital in USDT")
    p.add_argument("--commission", type=float, default=0.001,
                   help="fee per fill as a fraction of notional (0.001 = 0.1%%)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="strategy parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="run again even if an identical run exists")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handle)


def parse_params(items: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs -> dict. Raises ConfigError for a malformed item."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param {item!r} must look like NAME=VALUE, e.g. --param fast=10")
        out[name.strip()] = value.strip()
    return out


def _progress_printer(enabled: bool):  # noqa: ANN202 - small local callback factory
    def show(fraction: float) -> None:
        if enabled:
            filled = int(fraction * 30)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%")
            sys.stderr.flush()
    return show


def handle(args: argparse.Namespace) -> int:
    """Run the backtest; print the run id and metrics (or JSON)."""
    if args.cash <= 0:
        raise ConfigError(f"--cash {args.cash:g} must be positive (USDT), e.g. --cash 10000")
    if not 0 <= args.commission < 0.1:
        raise ConfigError(f"--commission {args.commission:g} must be a fraction between 0 and 0.1 "
                          "(0.001 = 0.1%)")
    s = settings()
    upload = files.read_strategy_file(args.file)
    sid, _version = strategies.save_by_name(
        s.db_path, meta=StrategyMeta(name=args.file.stem), source=upload.source,
        language=upload.language)
    config = BacktestConfig(exchange=args.exchange, market=args.market, symbol=args.symbol,
                            timeframe=args.timeframe, start=args.start, end=args.end,
                            cash_usdt=args.cash, commission=args.commission,
                            params=parse_params(args.param))
    interactive = sys.stderr.isatty() and not args.json
    run = runs.run_sync(s, strategy_id=sid, config=config, force=args.force,
                        progress=_progress_printer(interactive))
    if interactive:
        sys.stderr.write("\n")
    values = runs.run_metrics(s.db_path, run.id) if run.status is RunStatus.COMPLETED else {}
    if args.json:
        print_json({"run_id": run.id, "status": run.status.value, "metrics": values,
                    "trades": int(values.get("total_trades", 0)), "error": run.error})
    else:
        print(f"run {run.id}: {run.status.value}")
        for name, value in values.items():
            print(f"  {metrics.describe(name).label:<22} {metrics.format_value(name, value)}")
    if run.status is not RunStatus.COMPLETED:
        if not args.json:
            raise PineOptError(f"run {run.id} {run.status.value}: {run.error}")
        return 1
    return 0
