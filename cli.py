"""The `pineopt` command: a thin shell over the same services the app uses.

Exit codes: 0 success, 1 a user error (one clear line on stderr), 2 usage.
Everything printed goes through core.inert.InertStream: control characters in text that came
from a strategy or a user (error text, logs, names, tags) are shown escaped, never sent raw.
Each command group lives in clicmd/<name>.py and registers itself through add_parser().
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

from api import hooks
from clicmd import (api, backtest, common, data, doctor, forward, lookahead, montecarlo, optimize,
                    runs, serve, strategies, translate, validate, walkforward, worker)

COMMAND_MODULES = (common, serve, api, doctor, validate, strategies, backtest, runs, data,
                   translate, optimize, montecarlo, walkforward, worker, lookahead)


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
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `pineopt ... | head`: the reader left; quiet, as Unix tools are
        return _reader_left(out)
    finally:
        if isinstance(sys.stdout, InertStream):
            sys.stdout = out
        sys.stderr.flush()
        sys.stderr = err


def _reader_left(out: object) -> int:
    """Exit code 141 (SIGPIPE) with stdout pointed at /dev/null, so the interpreter's final
    flush of what is still buffered cannot print a BrokenPipeError traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())  # type: ignore[attr-defined]
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor (tests)
        pass
    return 141


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    hooks.set_cli_runner(functools.partial(forward.execute, build_parser=build_parser,
                                           run_handler=run_handler))
    forwarded = _forwarded(parser, args, argv)
    return run_handler(args) if forwarded is None else forwarded


def _forwarded(parser: argparse.ArgumentParser, args: argparse.Namespace,
               argv: list[str]) -> int | None:
    """The exit code of the command run by the store's running owner, or None to run it here
    (no owner, a stale owner, or a command that does not open the store)."""
    from core.errors import PineOptError
    from core.settings import load_settings

    route = forward.COMMANDS.get(forward.command_of(parser, argv))
    if route is None or not route.forward:
        return None
    try:
        home = load_settings().home
        ep = forward.owner(home)
        if ep is None:
            return None
        confirmed = forward.confirm_delete(args, argv)
        return 1 if confirmed is None else forward.send(ep, home, confirmed)
    except PineOptError as exc:
        return _failed(args, exc)


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    if getattr(args, "json", False):
        common.print_json({"error": str(exc)})
    print(f"pineopt: {exc}", file=sys.stderr)
    return 1


def run_handler(args: argparse.Namespace) -> int:
    """Run a parsed command here; returns its exit code (errors printed as one line)."""
    from core.errors import PineOptError

    try:
        _configure_logging()
        return int(args.handler(args) or 0)
    except PineOptError as exc:
        return _failed(args, exc)
    except KeyboardInterrupt:
        print("pineopt: interrupted", file=sys.stderr)
        return 130


def _configure_logging() -> None:
    from core import logs
    from core.settings import load_settings

    settings = load_settings()
    common.check_home(settings.home)
    logs.configure(settings)


def run() -> None:
    """The `pineopt` executable: main(), then exit without the interpreter's teardown.

    Once the command is done, the exit handlers run (stores closed, sandbox pools stopped, logs
    flushed) and the process ends at once: the interpreter's own teardown, which stops daemon
    threads by unwinding them, once aborted a finished command inside a native library
    ("terminate called after throwing an instance of ..."; exit -6 instead of 1). The sandbox
    child ends the same way.
    """
    import atexit

    try:
        code = main()
    except SystemExit as done:  # argparse: usage errors (2), --help and --version (0)
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left, or a closed stream
            pass
    atexit._run_exitfuncs()  # noqa: SLF001 - the exit handlers, then no teardown
    os._exit(code)


if __name__ == "__main__":
    run()
