"""Regenerate tests/golden/metrics_golden.json: show the diff, write only with --accept.

    python scripts/regenerate_golden.py                  # show what would change
    python scripts/regenerate_golden.py --accept         # write the new values
    python scripts/regenerate_golden.py --rerun-engine   # also re-run the golden backtest

Only this script may rewrite the golden file (zipline-style). Exit code 1 when values differ and
--accept was not given, so CI can call it as a check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.golden import golden_run  # noqa: E402


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def diff(old: dict, new: dict) -> list[str]:
    """Human lines 'kind.name: old -> new' for every changed, added or removed value."""
    lines = []
    for kind in sorted(set(old) | set(new)):
        a, b = old.get(kind, {}), new.get(kind, {})
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b or not _same(a[name], b[name]):
                lines.append(f"{kind}.{name}: {a.get(name, '(absent)')} -> "
                             f"{b.get(name, '(absent)')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Compare, print and (with --accept) write. Returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept", action="store_true", help="write the new golden values")
    parser.add_argument("--rerun-engine", action="store_true",
                        help="re-run the golden backtest and refresh its frozen CSV inputs")
    args = parser.parse_args(argv)
    if args.rerun_engine:
        if not args.accept:
            print("--rerun-engine rewrites the frozen inputs: add --accept to do it")
            return 1
        frame, trades = golden_run.engine_inputs()
        frame.to_csv(golden_run.EQUITY_CSV)
        trades.to_csv(golden_run.TRADES_CSV, index=False)
    new = golden_run.compute()
    old = golden_run.stored() if golden_run.GOLDEN_JSON.exists() else {}
    changes = diff(old, new)
    print("\n".join(changes) if changes else "golden metrics unchanged")
    if changes and not args.accept:
        print(f"{len(changes)} value(s) differ; re-run with --accept to write them")
        return 1
    if changes:
        golden_run.GOLDEN_JSON.write_text(json.dumps(
            {"run": golden_run.__doc__.split("\n\n")[0], "metrics": new}, indent=1) + "\n")
        print(f"wrote {golden_run.GOLDEN_JSON}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
