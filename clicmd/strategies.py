"""`pineopt strategies list|show|add|export|delete`: the strategy library from the shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clicmd.common import print_json, reader, settings, table
from core.strategies import files, params, crud as strategies, library as strategy_library, validation
from core.analytics import metrics
from core.model import Language, StrategyMeta


def add_parser(sub: Any) -> None:
    """Register `pineopt strategies`."""
    p = sub.add_parser("strategies", help="the strategy library")
    ss = p.add_subparsers(dest="strategies_command", required=True, metavar="ACTION")
    lp = ss.add_parser("list", help="list strategies (search and filter like the library page)")
    lp.add_argument("--search", default="", help="words to find in name, author, tags...")
    lp.add_argument("--language", choices=[x.value for x in Language])
    lp.add_argument("--tag", default="")
    lp.add_argument("--status", choices=strategy_library.STATUSES)
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=_list)
    sp = ss.add_parser("show", help="metadata, versions, parameters and issues of one strategy")
    sp.add_argument("id", type=int)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(handler=_show)
    ap = ss.add_parser("add", help="save a .py/.pine file as a strategy (a new version if the "
                                   "name exists)")
    ap.add_argument("file", type=Path)
    ap.add_argument("--name", default="", help="strategy name (default: the file name)")
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(handler=_add)
    ep = ss.add_parser("export", help="write a version's source file")
    ep.add_argument("id", type=int)
    ep.add_argument("--version", type=int, help="version number (default: latest)")
    ep.add_argument("-o", "--output", type=Path, help="file or folder (default: current folder)")
    ep.add_argument("--json", action="store_true")
    ep.set_defaults(handler=_export)
    dp = ss.add_parser("delete", help="remove a strategy from the library (runs stay readable)")
    dp.add_argument("id", type=int)
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(handler=_delete)


def _list(args: argparse.Namespace) -> int:
    rows = strategy_library.library(
        reader().db_path, search=args.search, tag=args.tag or None, status=args.status,
        language=Language(args.language) if args.language else None)
    if args.json:
        print_json([{"id": r.id, "name": r.name, "language": r.language.value,
                     "author": r.author, "version": r.version, "tags": list(r.tags),
                     "timeframes": list(r.timeframes), "assets": list(r.assets),
                     "status": r.status, "updated_at": str(r.updated_at),
                     "last_return": r.last_return} for r in rows])
        return 0
    print(table([[r.id, r.name, r.language.value, r.version, r.status, ",".join(r.tags),
                  str(r.updated_at)[:19], metrics.format_value("total_return", r.last_return)
                  if r.last_return is not None else "-"] for r in rows],
                ["ID", "NAME", "LANG", "VER", "STATUS", "TAGS", "UPDATED (UTC)", "LAST RETURN"]))
    return 0


def _show(args: argparse.Namespace) -> int:
    db = reader().db_path
    record = strategies.get(db, args.id)
    hist = strategies.history(db, args.id)
    latest = hist[0]
    defs = params.extract(latest.source, record.language)
    data = {"id": record.id, "name": record.meta.name, "language": record.language.value,
            "description": record.meta.description, "author": record.meta.author,
            "version_label": record.meta.version, "tags": list(record.meta.tags),
            "timeframes": list(record.meta.timeframes), "assets": list(record.meta.assets),
            "dependencies": list(record.meta.dependencies), "deleted": record.deleted,
            "valid": latest.valid, "issues": validation.issues_to_json(latest.issues),
            "parameters": [{"name": p.name, "type": p.type, "default": p.default, "min": p.min,
                            "max": p.max, "description": p.description} for p in defs],
            "versions": [{"version": h.version, "sha256": h.sha256, "message": h.message,
                          "valid": h.valid, "created_at": str(h.created_at)} for h in hist]}
    if args.json:
        print_json(data)
        return 0
    print(f"{record.id}: {strategies.strategy_label(record.meta.name, deleted=record.deleted)} "
          f"({record.language.value}) by {record.meta.author or 'unknown'}")
    for issue in latest.issues:
        print(f"  line {issue.line}, col {issue.col}: {issue.severity.value}: {issue.message}")
    for p in defs:
        bounds = f" [{p.min:g}..{p.max:g}]" if p.min is not None and p.max is not None else ""
        print(f"  param {p.name}: {p.type} = {p.default!r}{bounds}  {p.description}")
    print(table([[h.version, h.sha256[:12], "valid" if h.valid else "invalid",
                  str(h.created_at)[:19], h.message] for h in hist],
                ["VER", "SHA256", "STATUS", "CREATED (UTC)", "MESSAGE"]))
    return 0


def _add(args: argparse.Namespace) -> int:
    upload = files.read_strategy_file(args.file)
    name = args.name.strip() or args.file.stem
    sid, version = strategies.save_by_name(settings().db_path, meta=StrategyMeta(name=name),
                                           source=upload.source, language=upload.language)
    ver = strategies.get_version(settings().db_path, sid, version)
    if args.json:
        print_json({"id": sid, "version": version, "valid": ver.valid,
                    "issues": validation.issues_to_json(ver.issues)})
    else:
        print(f"saved strategy {sid} '{name}' version {version}: "
              f"{'valid' if ver.valid else f'{len(ver.issues)} issue(s), see strategies show'}")
    return 0


def _export(args: argparse.Namespace) -> int:
    filename, data = strategies.export(reader().db_path, args.id, args.version)
    target = args.output or Path.cwd()
    if target.is_dir():
        target = target / filename
    target.write_bytes(data)
    if args.json:
        print_json({"id": args.id, "file": str(target), "bytes": len(data)})
    else:
        print(f"wrote {target} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace) -> int:
    db = settings().db_path
    name = strategies.get(db, args.id).meta.name
    strategies.delete(db, args.id)
    if args.json:
        print_json({"id": args.id, "deleted": True})
    else:
        print(f"deleted strategy {args.id} '{name}'; its past runs stay readable", file=sys.stdout)
    return 0
