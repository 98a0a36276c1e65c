"""`python -m bench`: run every bench module and print one table.

Modules: bench/spine_bench.py plus any bench/*_bench.py exposing run() -> list of rows
{"name", "seconds", "baseline_seconds", "ratio", "target"}. Baselines are plain backtesting.py
(or the named reference) measured in the same process run.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*_bench.py"))
    names.sort(key=lambda n: n != "spine_bench")
    return [n for n in names if not selected or any(s in n for s in selected)]


def _fmt(value: object, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def main(argv: list[str]) -> int:
    """Print the table; exit 1 if a bench module failed."""
    os.environ.setdefault("PINEOPT_POOL_SIZE", "2")
    rows, failed = [], []
    for name in _modules(argv):
        try:
            module = importlib.import_module(f"bench.{name}")
            rows.extend(module.run())
        except Exception:  # noqa: BLE001 - report and continue with the other figures
            failed.append(name)
            traceback.print_exc()
    print(f"\n{'benchmark':<58} {'ours (s)':>10} {'baseline (s)':>13} {'ratio':>7}  target")
    print("-" * 104)
    for r in rows:
        print(f"{r['name']:<58} {_fmt(r['seconds'], '10.3f')} "
              f"{_fmt(r['baseline_seconds'], '13.3f')} {_fmt(r['ratio'], '7.2f')}  {r['target']}")
    if failed:
        print(f"\nfailed bench modules: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
