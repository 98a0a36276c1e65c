"""`pineopt doctor`: every setup fact the sandbox depends on, then the self-test itself."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.settings import load_settings


def add_parser(sub: Any) -> None:
    """Register `pineopt doctor`."""
    p = sub.add_parser("doctor", help="check the sandbox setup fact by fact (exit 1 if any fails)",
                       description="Checks firejail, the sandbox user and its home, the sandbox "
                                   "interpreter, the jobs root and the container marker, says "
                                   "which per-run limits the host enforces, then "
                                   "runs the sandbox self-test through the real job command "
                                   "line. Each failure is printed with its fix.")
    p.set_defaults(handler=handle)


def handle(_args: argparse.Namespace) -> int:
    """Print each fact with ✓/✗ (and the fix under each ✗); 1 if anything failed."""
    from sandbox import selftest as sandbox_check
    from sandbox import doctor

    settings = load_settings()
    facts = doctor.facts(settings)
    if settings.sandbox_mode != "none":
        facts.extend(doctor.run_limits(settings))
        status = sandbox_check.self_test(settings, refresh=True)
        facts.append(doctor.Fact("sandbox self-test", status.ok, status.message))
    print(doctor.report(facts))
    failed = [f.name for f in facts if not f.ok and not f.optional]
    if failed:
        print(f"\npineopt doctor: {len(failed)} problem(s): {', '.join(failed)}. Strategies will "
              "not run until each is fixed (see 'fix:' above).", file=sys.stderr)
        return 1
    print("\npineopt doctor: the sandbox is ready.")
    return 0
