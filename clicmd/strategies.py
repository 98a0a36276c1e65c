"""`pineopt strategies list`: the strategy library."""

from __future__ import annotations

import argparse
from typing import Any

from clicmd.common import print_json, settings, table
from core import strategies


def add_parser(sub: Any) -> None:
    """Register `pineopt strategies`."""
    p = sub.add_parser("strategies", help="the strategy library")
    ss = p.add_subparsers(dest="strategies_command", required=True, metavar="ACTION")
    lp = ss.add_parser("list", help="list strategies")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    s = settings()
    records = strategies.list_strategies(s.db_path)
    if args.json:
        print_json([{"id": r.id, "name": r.meta.name, "language": r.language.value,
                     "version": r.latest_version, "valid": r.valid,
                     "updated_at": str(r.updated_at)} for r in records])
        return 0
    print(table([[r.id, r.meta.name, r.language.value, r.latest_version,
                  "valid" if r.valid else "invalid", str(r.updated_at)[:19]] for r in records],
                ["ID", "NAME", "LANG", "VER", "STATUS", "UPDATED (UTC)"]))
    return 0
