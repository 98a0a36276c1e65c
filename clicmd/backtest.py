"""`pineopt backtest FILE ...`: save the file as a strategy version and run it in the sandbox."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from clicmd import common
from clicmd.common import print_json, settings, status_line
from core.analytics import run_bundle as analytics, metrics
from core.runs import config_file, pine_run, notes as run_notes, service as runs, semantics
from core.strategies import files, crud as strategies
from core.errors import ConfigError, PineOptError
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from core.studies import sweep
from reports import export


# (flag, BacktestConfig path, type, help): every broker flag, its place in the config
BROKER_FLAGS: tuple[tuple[str, tuple[str, ...], type, str], ...] = (
    ("--maker-fee", ("costs", "maker_fee_rate"), float,
     "maker fee, fraction of notional (limit orders, take-profits); default: exchange preset"),
    ("--taker-fee", ("costs", "taker_fee_rate"), float,
     "taker fee (market/stop orders, stop-losses); default: exchange preset"),
    ("--slippage-bps", ("costs", "slippage_bps"), float, "taker slippage, basis points of price"),
    ("--slippage-range", ("costs", "slippage_range_frac"), float,
     "taker slippage as a fraction of the bar's high-low range"),
    ("--leverage", ("margin", "leverage"), float, "perp leverage, 1 to 125"),
    ("--maintenance-margin", ("margin", "maintenance_margin_rate"), float,
     "maintenance margin rate; default: exchange tier 1 (0.004 for BTCUSDT)"),
    ("--liquidation-fee", ("margin", "liquidation_fee_rate"), float,
     "fee on liquidated notional; default: exchange preset"),
    ("--funding-rate", ("margin", "funding_rate_8h"), float,
     "constant funding rate per 8 h used when no rates are stored (default 0.0001)"),
    ("--stop-loss", ("risk", "stop_loss_pct"), float, "default stop-loss, fraction (0.05 = 5%%)"),
    ("--take-profit", ("risk", "take_profit_pct"), float, "default take-profit, fraction"),
    ("--trailing-stop", ("risk", "trailing_stop_pct"), float, "trailing stop, fraction"),
    ("--max-position", ("risk", "max_position_pct"), float,
     "max position notional, fraction of equity"),
    ("--max-drawdown-halt", ("risk", "max_drawdown_halt"), float,
     "flatten and stop trading past this drawdown (0.3 = 30%%)"),
    ("--max-daily-loss", ("risk", "max_daily_loss"), float,
     "flatten and pause until the next UTC day past this daily loss"),
)
FLAG_NAMES = {path[-1]: flag for flag, path, _, _ in BROKER_FLAGS} | {
    "cash_usdt": "--cash", "fill_timing": "--fill", "market": "--market",
    "finalize_trades": "--semantics backtesting (finalize_trades)"}


def add_parser(sub: Any) -> None:
    """Register `pineopt backtest`."""
    p = sub.add_parser("backtest", help="run a strategy file (.py or .pine) in the sandbox",
                       description="Flags override --config FILE.toml, which overrides defaults.")
    p.add_argument("file", type=Path, help="strategy source, .py or .pine")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="settings file: top-level data keys, [costs], [margin], [risk], [params]")
    p.add_argument("--symbol", help="e.g. BTCUSDT")
    p.add_argument("--timeframe", help="1m 5m 15m 30m 1h 4h 1d 1w")
    p.add_argument("--exchange", help="data source (default: sample)")
    p.add_argument("--market", choices=["spot", "perp"], help="spot (default) or perp")
    p.add_argument("--start", help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--end", help="last day, YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--cash", type=float, help="initial capital in USDT (default 100000)")
    p.add_argument("--commission", type=float,
                   help="one fee for maker and taker fills, fraction (0.001 = 0.1%%)")
    for flag, _path, kind, text in BROKER_FLAGS:
        p.add_argument(flag, type=kind, help=text)
    p.add_argument("--fill", choices=["next_open", "this_close"], help="fill timing")
    p.add_argument("--spot-margin", action="store_true", default=None,
                   help="allow shorting on spot")
    p.add_argument("--semantics", choices=list(semantics.CHOICES), default="crypto",
                   help="crypto (default: fractional coins, no spot shorts, fee presets, open "
                        "trades closed at the end) or backtesting (exactly backtesting.py's "
                        "Backtest(data, cls, cash=..., commission=...))")
    p.add_argument("--whole-units", action="store_true",
                   help="trade whole coins like plain backtesting.py (no lot step)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="lower this run's wall-clock limit (never above PINEOPT_TIMEOUT_S)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="strategy parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="run again even if an identical run exists")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handle)


def flag_layer(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given explicitly on the command line, shaped like a config file."""
    layer: dict[str, Any] = {
        "exchange": args.exchange, "market": args.market, "symbol": args.symbol,
        "timeframe": args.timeframe, "start": args.start, "end": args.end,
        "cash_usdt": args.cash, "commission": args.commission,
        "costs": {"fill_timing": args.fill}, "margin": {"spot_margin": args.spot_margin},
        "risk": {}, "params": parse_params(args.param)}
    if args.commission is not None:  # one rate for both sides unless given separately
        layer["costs"].update(maker_fee_rate=args.commission, taker_fee_rate=args.commission)
    for flag, (block, key), _kind, _text in BROKER_FLAGS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            layer[block][key] = value
    if args.whole_units:
        layer["fractional"] = False
    if args.timeout is not None:
        layer["extra"] = {"limits": {"timeout_s": args.timeout}}
    return layer


def build_config(args: argparse.Namespace,
                 strategy_defaults: dict[str, float] | None = None) -> BacktestConfig:
    """Defaults < the strategy's own (Pine strategy()) < --config file < flags -> a checked
    BacktestConfig (ConfigError names the flag)."""
    own = {k: v for k, v in config_file.request_layers(strategy_defaults).items()
           if k in ("cash_usdt", "costs")}
    defaults = config_file.merge(
        config_file.request_layers(),
        semantics.defaults(getattr(args, "semantics", "crypto"), commission=args.commission),
        own)
    file_layer = config_file.read_toml(args.config) if args.config else {}
    mapping = config_file.merge(defaults, file_layer, flag_layer(args))
    for key, flag in (("symbol", "--symbol"), ("timeframe", "--timeframe")):
        if not mapping.get(key):
            raise ConfigError(f"{flag} is missing: give it on the command line or as {key} = "
                              "\"...\" in the --config file.")
    names = dict(FLAG_NAMES)
    if args.commission is not None:  # a fee given as --commission is reported as --commission
        for side in ("maker", "taker"):
            if getattr(args, f"{side}_fee") is None:
                names[f"{side}_fee_rate"] = "--commission"
    return config_file.build_config(mapping, names=names)


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
            status_line(f"[{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%")
    return show


def handle(args: argparse.Namespace) -> int:
    """Run the backtest; print the run id, metrics and the cost split (or JSON)."""
    upload = files.read_strategy_file(args.file)
    own = pine_run.strategy_defaults(upload.source) if upload.language is Language.PINE else {}
    config = build_config(args, own)
    # one run, one sandbox: no pre-started workers this process would never use (forwarded to
    # the owner, the run takes one of the app's warm workers: sandbox.pool.pool_for)
    s = dataclasses.replace(settings(), pool_size=0)
    runs.check_request(s, source=upload.source, language=upload.language, config=config)
    sid, _version = strategies.save_by_name(
        s.db_path, meta=StrategyMeta(name=args.file.stem), source=upload.source,
        language=upload.language)
    interactive = sys.stderr.isatty() and not args.json
    run = runs.run_sync(s, strategy_id=sid, config=config, force=args.force,
                        progress=_progress_printer(interactive))
    if interactive:
        sys.stderr.write("\n")
    done = run.status is RunStatus.COMPLETED
    bundle = analytics.load(s, run.id) if done else None  # read once: metrics, equity, trades
    split = runs.run_cost_split(s.db_path, run.id) if done else {}
    notes: list[str] = []
    if bundle is not None:
        bars = bundle.equity.index
        short = run_notes.range_note(run.config, bars[0], bars[-1])
        notes = run_notes.run_warnings(run.config, split, bundle.metrics) + (
            [short] if short else [])
    values = bundle.metrics.get("all", {}) if bundle is not None else {}
    if args.json:  # the metric set of `pineopt report --format json`
        values = export.run_document(bundle)["metrics"] if bundle is not None else {}
        print_json({"run_id": run.id, "status": run.status.value, "metrics": values,
                    "costs": split, "trades": int(values.get("total_trades", 0)),
                    "warnings": notes, "error": run.error})
    else:
        print(f"run {run.id}: {run.status.value}")
        for note in notes:
            print(f"  warning: {note}")
        # the documented headline set (`pineopt report` has all), then the cost split
        pairs = [(metrics.describe(n).label, metrics.format_value(n, values[n]))
                 for n in metrics.METRICS if n in values]
        pairs += [(n.replace("_", " "), common.split_text(n, v)) for n, v in split.items()]
        print("\n".join(common.labelled(pairs)))
    if run.status is not RunStatus.COMPLETED:
        if not args.json:
            raise PineOptError(f"run {run.id} {run.status.value}: {run.error}")
        return 1
    return 0


def sweep_config_args(args: argparse.Namespace) -> argparse.Namespace:
    """A sweep's (optimize, walkforward) arguments as the namespace build_config expects: the
    fixed parameters as --param (the broker flags are the same as backtest's)."""
    values = vars(args).copy()
    values.update(param=args.fixed, fill=None, spot_margin=None, whole_units=False, timeout=None)
    for flag, *_ in BROKER_FLAGS:
        values.setdefault(flag[2:].replace("-", "_"), None)
    return argparse.Namespace(**values)


def saved_sweep_strategy(args: argparse.Namespace) -> tuple[Settings, int, BacktestConfig]:
    """A sweep command's file saved as a strategy (by its name, a new version if it changed)
    and its run settings: (settings, strategy id, config)."""
    upload = files.read_strategy_file(args.file)
    own = pine_run.strategy_defaults(upload.source) if upload.language is Language.PINE else {}
    config = build_config(sweep_config_args(args), own)
    s = settings()
    sid, _version = strategies.save_by_name(
        s.db_path, meta=StrategyMeta(name=args.file.stem), source=upload.source,
        language=upload.language)
    return s, sid, config


def add_sweep_arguments(p: argparse.ArgumentParser, *, per_window: bool) -> None:
    """The options every sweep command takes (optimize, walkforward): the search space, method,
    objective, batches and the run's data and broker; ``per_window`` words the budgets for a
    walk-forward, where they apply to each in-sample window."""
    p.add_argument("--param", action="append", default=[], metavar="NAME=LOW:HIGH[:STEP]",
                   help="a swept parameter (repeatable): LOW:HIGH:STEP, a,b,c, or one value")
    p.add_argument("--fixed", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter held at one value for every trial")
    p.add_argument("--method", choices=sweep.METHODS, default="grid")
    each = " of each window" if per_window else ""
    p.add_argument("--trials", type=int, default=1000, help=f"trial budget{each} (default 1000)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help=("per window: " if per_window else "")
                   + "stop starting batches after this many seconds")
    p.add_argument("--objective", default="sharpe_ratio", help="any stored metric")
    p.add_argument("--minimize", action="store_true", help="minimise the objective")
    p.add_argument("--min-trades", type=int, default=0, help="trials with fewer trades have no "
                   "objective")
    p.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help='e.g. "fast < slow" (repeatable; all must hold)')
    p.add_argument("--seed", type=int, default=0, help="seed of random and tpe (default 0)")
    p.add_argument("--workers", type=int, help="sandbox children at once (default: cores)")
    p.add_argument("--batch-size", type=int, default=sweep.DEFAULT_BATCH,
                   help="the most trials per sandbox child (default %(default)s; each batch is "
                        "sized to about 30 s of work)")
    for flag in ("--symbol", "--timeframe", "--exchange", "--start", "--end"):
        p.add_argument(flag)
    p.add_argument("--market", choices=["spot", "perp"])
    p.add_argument("--cash", type=float)
    p.add_argument("--commission", type=float)
    for flag, _path, kind, text in BROKER_FLAGS:  # as `backtest` and the Optimize page's form
        p.add_argument(flag, type=kind, help=text)
    p.add_argument("--config", type=Path, metavar="FILE.toml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
