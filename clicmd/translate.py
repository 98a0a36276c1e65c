"""`pineopt translate FILE.pine [-o OUT.py]`: the readable Python a Pine strategy runs as."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.strategies import files
from core.errors import PineOptError
from core.model import Language


def add_parser(sub: Any) -> None:
    """Register `pineopt translate`."""
    p = sub.add_parser("translate", help="translate a .pine strategy to Python (stdout or -o)")
    p.add_argument("file", type=Path, help="Pine Script strategy, .pine")
    p.add_argument("-o", "--output", type=Path, default=None, help="write the Python here")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print or write the translation; a TranslationError propagates (exit 1, one line)."""
    from core.pine.translation import api as pine

    upload = files.read_strategy_file(args.file)
    if upload.language is not Language.PINE:
        raise PineOptError(f"{args.file} is not a .pine file; only Pine Script is translated.")
    translation = pine.translate(upload.source)
    if args.output is None:
        sys.stdout.write(translation.python_source)
        return 0
    if args.output.suffix != ".py":
        raise PineOptError(f"{args.output}: the output must be a .py file.")
    args.output.write_text(translation.python_source, encoding="utf-8")
    print(f"{args.output}: written ({len(translation.params)} parameters)", file=sys.stderr)
    return 0
