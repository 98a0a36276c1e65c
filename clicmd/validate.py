"""`pineopt validate FILE`: static checks without running anything."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clicmd.common import print_json
from core.strategies import files, validation


def add_parser(sub: Any) -> None:
    """Register `pineopt validate`."""
    p = sub.add_parser("validate", help="check a strategy file (exit 0 valid, 1 invalid)")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print diagnostics as FILE:LINE:COL: severity: message; exit 1 when any error is found."""
    upload = files.read_strategy_file(args.file)
    issues = validation.validate_source(upload.source, upload.language)
    errors = validation.errors_only(issues)
    if args.json:
        print_json({"file": str(args.file), "valid": not errors,
                    "issues": validation.issues_to_json(issues)})
    else:
        for issue in issues:
            print(f"{args.file}:{issue.line}:{issue.col}: {issue.severity.value}: {issue.message}")
        print(f"{args.file}: {'valid' if not errors else f'{len(errors)} error(s)'}")
    return 1 if errors else 0
