"""The `pineopt` command: a thin shell over the same services the app uses.

Exit codes: 0 success, 1 a user error (one clear line on stderr), 2 usage.
Everything printed goes through core.inert.InertStream: control characters in text that came
from a strategy or a user (error text, logs, names, tags) are shown escaped, never sent raw.
Each command group lives in clicmd/<name>.py and registers itself through add_parser().
"""

from __future__ import annotations

import argparse
import os
import sys

from clicmd import (api, backtest, common, data, doctor, montecarlo, optimize, runs, serve,
                    strategies, translate, validate, worker)

COMMAND_MODULES = (common, serve, api, doctor, validate, strategies, backtest, runs, data,
                   translate, optimize, montecarlo, worker)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group."""
    parser = argparse.ArgumentParser(prog="pineopt", description="PineOpt crypto strategy lab")
    parser.add_argument("--version", action="version", version=f"pineopt {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pineopt")
    except metadata.PackageNotFoundError:  # run from a checkout without `pip install -e .`
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code. stdout and stderr are made inert while it runs.
    Errors are one line on stderr, or with --json one object {"error": message} on stdout."""
    from core.inert import InertStream

    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = InertStream(out), InertStream(err)
    try:
        return _main(argv)
    finally:
        if isinstance(sys.stdout, InertStream):
            sys.stdout.flush()
            sys.stdout = out
        sys.stderr.flush()
        sys.stderr = err


def _main(argv: list[str] | None) -> int:
    from core.errors import PineOptError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _configure_logging()
        return int(args.handler(args) or 0)
    except PineOptError as exc:
        if getattr(args, "json", False):
            common.print_json({"error": str(exc)})
        print(f"pineopt: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pineopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `pineopt runs list | head`: the reader left, not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


def _configure_logging() -> None:
    from core import logs
    from core.settings import load_settings

    settings = load_settings()
    common.check_home(settings.home)
    logs.configure(settings)


if __name__ == "__main__":
    sys.exit(main())
