"""Regenerate the engine golden (tests/golden/engine_*.csv): show the diff, write only with --accept.

    python scripts/regenerate_engine_golden.py            # run the engine, show what changed
    python scripts/regenerate_engine_golden.py --accept   # write the new CSV files

Only this script may rewrite those files. Exit code 1 when they differ and --accept was not
given, so it doubles as a check.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.golden import engine_golden  # noqa: E402

MAX_DIFF_LINES = 60


def changes(new: dict[str, str]) -> dict[str, list[str]]:
    """Unified-diff lines per pinned file whose text would change."""
    out = {}
    for name, path in engine_golden.paths().items():
        old = path.read_text() if path.exists() else ""
        if old != new[name]:
            out[name] = list(difflib.unified_diff(
                old.splitlines(), new[name].splitlines(), f"{path.name} (pinned)",
                f"{path.name} (engine now)", lineterm="", n=0))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run, compare, print and (with --accept) write. Returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept", action="store_true", help="write the new golden files")
    args = parser.parse_args(argv)
    new = engine_golden.as_csv(engine_golden.run())
    found = changes(new)
    if not found:
        print("engine golden unchanged")
        return 0
    for name, lines in found.items():
        print("\n".join(lines[:MAX_DIFF_LINES]))
        if len(lines) > MAX_DIFF_LINES:
            print(f"... {len(lines) - MAX_DIFF_LINES} more diff lines in {name}")
    if not args.accept:
        print(f"{len(found)} file(s) differ; re-run with --accept to write them")
        return 1
    for name in found:
        engine_golden.paths()[name].write_text(new[name])
        print(f"wrote {engine_golden.paths()[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
