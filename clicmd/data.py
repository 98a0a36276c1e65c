"""`pineopt data list`: stored market data and its coverage."""

from __future__ import annotations

import argparse
from typing import Any

from clicmd.common import print_json, settings, table
from core import market_data


def add_parser(sub: Any) -> None:
    """Register `pineopt data`."""
    p = sub.add_parser("data", help="market data")
    ds = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    lp = ds.add_parser("list", help="stored datasets with coverage")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    s = settings()
    sets = market_data.list_datasets(s.db_path)
    if args.json:
        print_json([{"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
                     "timeframe": d.timeframe, "first": str(d.first), "last": str(d.last),
                     "bars": d.bars, "synthetic": d.synthetic} for d in sets])
        return 0
    print(table([[d.exchange, d.market, d.symbol, d.timeframe, str(d.first), str(d.last), d.bars,
                  "synthetic sample data" if d.synthetic else ""] for d in sets],
                ["EXCHANGE", "MARKET", "SYMBOL", "TF", "FIRST (UTC)", "LAST (UTC)", "BARS", ""]))
    return 0
