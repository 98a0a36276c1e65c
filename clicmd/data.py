"""`pineopt data ...`: list, import, download, quality, export and search market data.

`download` talks to the exchange through ccxt; PINEOPT_CCXT_BASE_URL (a mirror or a local test
server) replaces the exchange's API host when set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clicmd.common import print_json, reader, settings, status_line, table
from core.market import export as data_export, download, importers, catalogue as market_data, quality
from core.market.layouts import ColumnMapping
from core.model import TIMEFRAMES


def add_parser(sub: Any) -> None:
    """Register `pineopt data`."""
    p = sub.add_parser("data", help="market data")
    ds = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    lp = ds.add_parser("list", help="stored datasets with coverage and quality")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)
    _add_import(ds)
    _add_download(ds)
    qp = ds.add_parser("quality", help="quality report of a stored dataset (repairs on request)")
    _dataset_args(qp)
    qp.add_argument("--repair", action="append", default=[], choices=list(quality.REPAIRS),
                    help="apply a repair (repeatable): " + "; ".join(
                        f"{k}: {v}" for k, v in quality.REPAIRS.items()))
    qp.add_argument("--json", action="store_true")
    qp.set_defaults(handler=_quality)
    ep = ds.add_parser("export", help="write bars to a .csv or .parquet file")
    _dataset_args(ep)
    ep.add_argument("--start", default="", help="first day, YYYY-MM-DD (UTC)")
    ep.add_argument("--end", default="", help="last day, YYYY-MM-DD (UTC), inclusive")
    ep.add_argument("-o", "--output", type=Path, required=True, help="FILE.csv or FILE.parquet")
    ep.set_defaults(handler=_export)
    sp = ds.add_parser("symbols", help="search the symbols catalogue (--refresh loads markets)")
    sp.add_argument("query", nargs="?", default="")
    sp.add_argument("--exchange", default="")
    sp.add_argument("--market", default="", choices=["", "spot", "perp"])
    sp.add_argument("--refresh", action="store_true", help="load the exchange's market list")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(handler=_symbols)


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbol", required=True, help="BTCUSDT, BTC/USDT or BTC/USDT:USDT")
    p.add_argument("--timeframe", required=True, choices=TIMEFRAMES)
    p.add_argument("--exchange", default="", help="only needed when several sources match")
    p.add_argument("--market", default="", choices=["", "spot", "perp"])


def _add_import(ds: Any) -> None:
    p = ds.add_parser("import", help="import a CSV/Parquet/JSON/zip file (Binance, ccxt, generic)")
    p.add_argument("file", type=Path)
    p.add_argument("--exchange", default="", help="default: binance for Binance files")
    p.add_argument("--market", default="", choices=["", "spot", "perp"])
    p.add_argument("--symbol", default="", help="default: from the file name (BTCUSDT-1h-...)")
    p.add_argument("--timeframe", default="", help="default: from the file name or the spacing")
    p.add_argument("--map", default="", metavar="time=COL,open=COL,...",
                   help="explicit columns when detection is unsure (names or 0-based positions)")
    p.add_argument("--tick-size", type=float, default=0.0,
                   help="price step (syminfo.mintick), e.g. 0.01; default: the catalogue's, "
                        "else inferred from the prices")
    p.add_argument("--lot-step", type=float, default=0.0,
                   help="quantity step in coins, e.g. 0.00001; default: the catalogue's, else "
                        "inferred from the prices (never from volumes)")
    p.add_argument("--replace", action="store_true",
                   help="overwrite stored bars the file changes (without it such an import is "
                        "refused and the differences are shown)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_import)


def _add_download(ds: Any) -> None:
    p = ds.add_parser("download", help="download bars (and perp funding) with ccxt")
    p.add_argument("--exchange", default="binance")
    p.add_argument("--symbol", required=True, help="BTC/USDT (spot) or BTC/USDT:USDT (perp)")
    p.add_argument("--market", default="", choices=["", "spot", "perp"],
                   help="default: perp for BASE/QUOTE:SETTLE symbols, else spot")
    p.add_argument("--timeframe", default="1h", choices=TIMEFRAMES)
    p.add_argument("--since", default="", help="first day (UTC); default: continue, or 30 days")
    p.add_argument("--until", default="", help="last day (UTC); default: now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_download)


def _progress_for(args: argparse.Namespace) -> Any:
    """A progress line on an interactive stderr; silent in scripts and with --json."""
    return _progress if sys.stderr.isatty() and not args.json else _noop


def _progress(fraction: float, message: str) -> None:
    status_line(f"{fraction:6.1%}  {message[:70]:<70}")
    if fraction >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _list(args: argparse.Namespace) -> int:
    s = reader()
    sets = market_data.list_datasets(s.db_path)
    badges = quality.saved_badges(s.db_path)
    rows = [{"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
             "timeframe": d.timeframe, "first": str(d.first), "last": str(d.last),
             "bars": d.bars, "missing_bars": d.missing_bars, "synthetic": d.synthetic,
             "quality": badges.get((d.exchange, d.market, d.symbol, d.timeframe), "unchecked")}
            for d in sets]
    if args.json:
        print_json(rows)
        return 0
    print(table([[r["exchange"], r["market"], r["symbol"], r["timeframe"], r["first"], r["last"],
                  r["bars"], r["missing_bars"], r["quality"],
                  "synthetic sample data" if r["synthetic"] else ""] for r in rows],
                ["EXCHANGE", "MARKET", "SYMBOL", "TF", "FIRST (UTC)", "LAST (UTC)", "BARS",
                 "MISSING", "QUALITY", ""]))
    return 0


def _import(args: argparse.Namespace) -> int:
    s = settings()
    target = importers.Target(exchange=args.exchange, market=args.market, symbol=args.symbol,
                              timeframe=args.timeframe, tick_size=args.tick_size,
                              lot_step=args.lot_step)
    mapping = ColumnMapping.parse(args.map) if args.map else None
    try:
        report = importers.import_file(s.db_path, args.file, target=target, mapping=mapping,
                                       replace=args.replace, progress=_progress_for(args))
    except importers.ReplaceNeeded as exc:
        print(table([[str(r.ts), r.field, f"{r.stored:g}", f"{r.imported:g}"]
                     for r in exc.changes.itertuples()],
                    ["TIME (UTC)", "FIELD", "STORED", "IN THE FILE"]), file=sys.stderr)
        raise
    if args.json:
        print_json({"file": report.file, "members": list(report.members),
                    "notes": list(report.notes),
                    "datasets": [{"kind": d.kind, "exchange": d.exchange, "market": d.market,
                                  "symbol": d.symbol, "timeframe": d.timeframe, "rows": d.rows,
                                  "new_rows": d.new_rows, "first": d.first, "last": d.last,
                                  "quality": d.quality.to_dict() if d.quality else None,
                                  "tick_size": d.tick_size, "lot_step": d.lot_step,
                                  "steps": d.steps}
                                 for d in report.datasets]})
        return 0
    print(report.summary)
    for note in report.notes:
        print(f"note: {note}")
    return 0


def _download(args: argparse.Namespace) -> int:
    s = settings()
    hint = market_data.split_symbol(args.symbol)[3]
    request = download.DownloadRequest(exchange=args.exchange, market=args.market or hint or "spot",
                                       symbol=args.symbol, timeframe=args.timeframe,
                                       since=args.since, until=args.until)
    result = download.download(s.db_path, request,
                               base_url=download.base_url_from_env(),
                               progress=_progress_for(args))
    if args.json:
        print_json({"exchange": result.exchange, "market": result.market,
                    "symbol": result.symbol, "ccxt_symbol": result.ccxt_symbol,
                    "timeframe": result.timeframe, "new_bars": result.new_bars,
                    "pages": result.pages, "new_funding": result.new_funding,
                    "first": result.first, "last": result.last, "resumed": result.resumed})
        return 0
    print(result.summary)
    return 0


def _noop(_fraction: float, _message: str) -> None:
    return None


def _quality(args: argparse.Namespace) -> int:
    s = settings()  # the report is saved for the catalogue badge: a write
    d = data_export.find_dataset(s.db_path, symbol=args.symbol, timeframe=args.timeframe,
                                 exchange=args.exchange, market=args.market)
    key = {"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
           "timeframe": d.timeframe}
    if args.repair:
        result = quality.repair(s.db_path, fixes=args.repair, **key)
        report, repaired = result.after, result.summary
    else:
        report, repaired = quality.dataset_report(s.db_path, **key), ""
    if args.json:
        print_json({**key, **report.to_dict(), "repaired": repaired})
        return 0
    print(f"{d.exchange}/{d.market}/{d.symbol} {d.timeframe}: {report.bars} bars, "
          f"{report.first} to {report.last} UTC — {report.badge}")
    if repaired:
        print(f"repaired: {repaired}")
    for issue in report.issues:
        fix = f"  (repair: --repair {issue.repair})" if issue.repair else ""
        print(f"  - {issue.message}; e.g. {', '.join(issue.examples[:3])}{fix}")
    return 0


def _export(args: argparse.Namespace) -> int:
    s = reader()
    d = data_export.find_dataset(s.db_path, symbol=args.symbol, timeframe=args.timeframe,
                                 exchange=args.exchange, market=args.market)
    rows = data_export.export_ohlcv(s.db_path, args.output, exchange=d.exchange, market=d.market,
                                    symbol=d.symbol, timeframe=args.timeframe, start=args.start,
                                    end=args.end)
    print(f"wrote {rows} {args.timeframe} bars of {d.exchange}/{d.market}/{d.symbol} to "
          f"{args.output}", file=sys.stderr)
    return 0


def _symbols(args: argparse.Namespace) -> int:
    s = settings() if args.refresh else reader()
    if args.refresh:
        count = download.refresh_markets(s.db_path, args.exchange or "binance",
                                         base_url=download.base_url_from_env())
        print(f"cached {count} markets", file=sys.stderr)
    found = market_data.list_symbols(s.db_path, query=args.query, exchange=args.exchange,
                                     market=args.market)
    rows = [{"exchange": i.exchange, "market": i.market, "symbol": i.symbol,
             "ccxt_symbol": i.ccxt_symbol, "tick_size": i.tick_size, "lot_step": i.lot_step,
             "min_notional": i.min_notional, "source": i.source} for i in found]
    if args.json:
        print_json(rows)
        return 0
    print(table([list(r.values()) for r in rows], [k.upper() for k in rows[0]] if rows else
                ["EXCHANGE", "MARKET", "SYMBOL"]))
    return 0
