"""`pineopt worker --scheduler tcp://HOST:8786`: join a Dask cluster as a sandboxed worker.

The self-test runs here first (exit 1 with the reason when the sandbox does not work); then the
process becomes `dask worker` with the PineOpt preload (core.executors.preload), which runs the
self-test again inside the worker and refuses to join if it fails. Tasks from an app running
other PineOpt code are refused with both versions named (core.executors.version).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

PRELOAD = "core.executors.preload"


def add_parser(sub: Any) -> None:
    """Register `pineopt worker`."""
    p = sub.add_parser("worker", help="join a Dask cluster as a sandboxed PineOpt worker",
                       description="Start a Dask worker that runs PineOpt jobs in this machine's "
                                   "firejail sandbox. Arguments after -- go to `dask worker` "
                                   "(e.g. -- --tls-ca-file ca.pem --tls-cert w.pem --tls-key "
                                   "w.key for a scheduler reachable beyond loopback).")
    p.add_argument("--scheduler", default=os.environ.get("PINEOPT_DASK_SCHEDULER", ""),
                   help="the scheduler's address, e.g. tcp://127.0.0.1:8786 (default "
                        "PINEOPT_DASK_SCHEDULER)")
    p.add_argument("--nthreads", type=int, default=1,
                   help="jobs this worker runs at once, each in its own sandbox (default 1)")
    p.add_argument("--name", help="the worker's name on the dashboard")
    p.add_argument("dask_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(handler=handle)


def command(args: argparse.Namespace) -> list[str]:
    """The `dask worker` command line this worker becomes."""
    argv = [sys.executable, "-m", "distributed.cli.dask_worker", args.scheduler,
            "--nthreads", str(max(1, args.nthreads)), "--nworkers", "1", "--preload", PRELOAD]
    if args.name:
        argv += ["--name", args.name]
    extra = list(args.dask_args or [])
    return argv + (extra[1:] if extra[:1] == ["--"] else extra)


def handle(args: argparse.Namespace) -> int:
    """Check the sandbox, then exec `dask worker`; 1 (with the reason) if the sandbox fails."""
    from sandbox import selftest as sandbox_check
    from core.errors import ConfigError
    from core.settings import load_settings

    if not args.scheduler:
        raise ConfigError("Name the scheduler: pineopt worker --scheduler tcp://HOST:8786 (or "
                          "set PINEOPT_DASK_SCHEDULER).")
    status = sandbox_check.self_test(load_settings(), refresh=True)
    if not status.ok or status.unsafe:
        print(f"pineopt worker: refusing to join {args.scheduler}: {status.message}",
              file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(sys.executable, command(args))  # noqa: S606 - our own interpreter, an argv list
    return 0  # not reached
