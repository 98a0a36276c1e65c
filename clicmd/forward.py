"""The CLI talks to a running owner of the store instead of opening the DuckDB file.

While a server owns the store (`pineopt api`, `pineopt serve`) it publishes
PINEOPT_HOME/endpoint.json (core.runs.endpoint). A command marked ``forward`` in COMMANDS is then sent
to the owner's ``POST /api/cli`` with the argv and the caller's working folder; the owner runs
the very same handler with its own store and settings, and streams the handler's stdout and
stderr back as they are written (NDJSON), then its exit code; they are replayed here byte for
byte as they arrive: a forwarded command prints what the local one prints (text and --json),
and a backtest on a terminal draws its progress bar while it runs. Paths on the command line
are made absolute against the caller's folder before the owner sees them and shown back as
typed.

With no endpoint file, the command runs locally. A stale file (its owner is dead, or it does not
answer) is ignored with a one-line notice and the command runs locally. A wrong token is refused
by the owner with what to do; nothing is ever reported as "busy".

COMMANDS maps every `pineopt` command to the REST endpoint that offers the same service; adding
a command is one line here (tests/integration/test_owner.py walks the parser and the routes).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import contextvars
import io
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clicmd import common
from core.runs import endpoint
from core.errors import PineOptError
from core.settings import Settings

CLI_PATH = "/api/cli"
NDJSON = "application/x-ndjson"  # the streamed reply: one JSON object per line
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Route:
    """A CLI command's REST endpoint ("METHOD /path"); ``forward`` = sent to a running owner
    (False: the command never opens the store, or is a server itself); ``cwd_default``: Path
    arguments whose None means "the current folder"."""

    endpoint: str
    forward: bool = True
    cwd_default: tuple[str, ...] = ()


COMMANDS: dict[str, Route] = {
    "init": Route("GET /api/health"),
    "serve": Route("GET /api/health", forward=False),
    "api": Route("GET /api/health", forward=False),
    "doctor": Route("GET /api/doctor", forward=False),
    "validate": Route("POST /api/validate", forward=False),
    "translate": Route("POST /api/translate", forward=False),
    "strategies list": Route("GET /api/strategies"),
    "strategies show": Route("GET /api/strategies/{strategy_id}"),
    "strategies add": Route("POST /api/strategies/upload"),
    "strategies export": Route("GET /api/strategies/{strategy_id}/export",
                               cwd_default=("output",)),
    "strategies delete": Route("DELETE /api/strategies/{strategy_id}"),
    "backtest": Route("POST /api/backtests"),
    "runs list": Route("GET /api/backtests"),
    "runs show": Route("GET /api/backtests/{run_id}"),
    "runs delete": Route("DELETE /api/backtests/{run_id}"),
    "report": Route("GET /api/backtests/{run_id}/report"),
    "compare": Route("POST /api/backtests/compare"),
    "data list": Route("GET /api/data"),
    "data import": Route("POST /api/data/import"),
    "data download": Route("POST /api/data/download"),
    "data quality": Route("GET /api/data/quality"),
    "data export": Route("GET /api/data/export"),
    "data symbols": Route("GET /api/data/symbols"),
    "optimize": Route("POST /api/studies"),
    "studies list": Route("GET /api/studies"),
    "studies show": Route("GET /api/studies/{study_id}"),
    "studies resume": Route("POST /api/studies/{study_id}/resume"),
    "montecarlo": Route("POST /api/studies/montecarlo"),
    "walkforward": Route("POST /api/walkforwards"),
    "lookahead": Route("POST /api/lookahead"),
    # a server itself (a Dask worker; never opens the store): the endpoint closest in meaning
    # is the sandbox check it runs before joining
    "worker": Route("GET /api/doctor", forward=False),
}


def command_of(parser: argparse.ArgumentParser, argv: list[str]) -> str:
    """The command path of ``argv`` ("runs list", "backtest"): its leading sub-command words."""
    words: list[str] = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for i, word in enumerate(argv):
                if word in action.choices:
                    words.append(word)
                    words += command_of(action.choices[word], argv[i + 1:]).split()
                    break
    return " ".join(words)


# ---- client side ---------------------------------------------------------------------------

def notice(text: str) -> None:
    """One line on stderr saying what the CLI does instead."""
    print(f"pineopt: {text}", file=sys.stderr)


def owner(home: Path) -> endpoint.Endpoint | None:
    """The live owner of ``home`` or None (no file; a dead owner's file is removed, noticed)."""
    ep = endpoint.read(home)
    if ep is None:
        if endpoint.path(home).exists():
            notice(f"{endpoint.path(home)} is unreadable; using the store directly.")
        return None
    if endpoint.discard_stale(home, ep):
        notice(f"the server recorded in {endpoint.path(home)} (process {ep.pid}, port "
               f"{ep.port}) is gone; using the store directly.")
        return None
    return ep


def confirm_delete(args: argparse.Namespace, argv: list[str]) -> list[str] | None:
    """`runs delete` without --yes on a terminal asks here, then forwards with --yes; None
    when the answer is no."""
    if getattr(args, "yes", True) or not sys.stdin.isatty():
        return argv
    what = ", ".join(map(str, args.run_ids)) or "every failed run"
    if args.failed and args.run_ids:
        what += " and every failed run"
    answer = input(f"Delete run(s) {what} with their trades, equity, metrics and reports? "
                   "[y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        print("nothing deleted", file=sys.stderr)
        return None
    return [*argv, "--yes"]


def send(ep: endpoint.Endpoint, home: Path, argv: list[str]) -> int | None:
    """Run ``argv`` in the owner and replay its output as it is written (an NDJSON stream of
    parts, then the exit code); None when the owner does not answer (the caller runs it
    locally). Raises PineOptError when the owner refuses the token."""
    import httpx

    body = {"argv": argv, "cwd": str(Path.cwd()), "tty": sys.stderr.isatty()}
    headers = {"Authorization": f"Bearer {ep.token}", "Accept": NDJSON}
    timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)
    try:
        with httpx.stream("POST", ep.url + CLI_PATH, json=body, headers=headers,
                          timeout=timeout) as reply:
            if reply.status_code != 200:
                reply.read()
                raise PineOptError("the server that owns the store "
                                   f"({ep.url}) refused the command: {_detail(reply)}")
            if not reply.headers.get("content-type", "").startswith(NDJSON):
                return replay(json.loads(reply.read()))  # a server that does not stream
            return _replay_stream(ep, reply.iter_lines())
    except KeyboardInterrupt:
        notice(f"interrupted; the command goes on in the server ({ep.url}) until it ends.")
        return 130
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        notice(f"the server recorded in {endpoint.path(home)} ({ep.url}, process {ep.pid}) "
               f"does not answer ({type(exc).__name__}); using the store directly.")
        return None
    except (httpx.TransportError, ValueError) as exc:  # it answered: never run it twice
        notice(f"the server ({ep.url}) stopped answering during the command "
               f"({type(exc).__name__}); check its outcome with `pineopt runs list`.")
        return 1


def _detail(reply: Any) -> str:
    try:
        return str(reply.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return str(reply.text[:500])


def _replay_stream(ep: endpoint.Endpoint, lines: Iterator[str]) -> int:
    """Write each streamed part as it arrives; returns the exit code of the last line."""
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        if "exit_code" in item:
            sys.stdout.flush()
            sys.stderr.flush()
            return int(item["exit_code"])
        write_part(item["part"])
    sys.stdout.flush()
    notice(f"the server ({ep.url}) ended the command's output without an exit code (it was "
           "stopped?); check the outcome with `pineopt runs list`.")
    return 1


def write_part(part: list[str]) -> None:
    """Write one part of the owner's output here: text (made inert by the CLI's streams),
    raw bytes (`-o -`), or the progress bar's carriage return."""
    stream, kind, data = part
    target = sys.stdout if stream == "stdout" else sys.stderr
    if kind == "bytes":
        target.flush()
        target.buffer.write(base64.b64decode(data))
    elif kind == "control":
        if data == "\r":  # the only control output a command makes; anything else: text
            getattr(target, "write_trusted", target.write)(data)
        else:
            target.write(data)
    else:
        target.write(data)
    target.flush()  # shown as it arrives


def replay(result: dict[str, Any]) -> int:
    """Write the owner's captured output here, in order; returns its exit code."""
    for part in result["parts"]:
        write_part(part)
    sys.stdout.flush()
    sys.stderr.flush()
    return int(result["exit_code"])


# ---- owner side ----------------------------------------------------------------------------

class _Capture(io.TextIOBase):
    """One stream of one forwarded command: text and raw bytes, kept in order."""

    def __init__(self, name: str, parts: Parts, tty: bool = False) -> None:
        super().__init__()
        self._name = name
        self._parts = parts
        self._tty = tty
        self.buffer = _Bytes(self)

    def write(self, text: str) -> int:  # noqa: D102 - io API
        self._parts.append([self._name, "text", text])
        return len(text)

    def write_trusted(self, text: str) -> int:
        """The program's own control output (the progress bar's carriage return)."""
        self._parts.append([self._name, "control", text])
        return len(text)

    def add_bytes(self, data: bytes) -> int:
        """Raw bytes (`-o -` content), sent base64."""
        self._parts.append([self._name, "bytes", base64.b64encode(data).decode()])
        return len(data)

    def isatty(self) -> bool:  # noqa: D102 - io API: the caller's terminal, if it has one
        return self._tty

    def readline(self, _size: int = -1) -> str:  # noqa: D102 - stdin of a forwarded command
        return ""

    @property
    def encoding(self) -> str:  # noqa: D102 - io API
        return "utf-8"


class _Bytes:
    def __init__(self, owner: _Capture) -> None:
        self._owner = owner

    def write(self, data: bytes) -> int:
        return self._owner.add_bytes(bytes(data))

    def flush(self) -> None:
        return None


_STREAMS: contextvars.ContextVar[dict[str, _Capture] | None] = contextvars.ContextVar(
    "pineopt_cli_streams", default=None)
_INSTALL = threading.Lock()


class _Router:
    """sys.stdout/stderr/stdin of the owner process: a forwarded command's thread writes to its
    own capture (a context variable), everything else to the real stream."""

    def __init__(self, name: str, real: Any) -> None:
        self._name = name
        self._real = real

    def _target(self) -> Any:
        streams = _STREAMS.get()
        return self._real if streams is None else streams[self._name]

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._target(), attr)

    def write(self, text: str) -> int:
        """Write to the current command's capture, or the real stream."""
        return self._target().write(text)

    def isatty(self) -> bool:
        """What the current target says (a capture is never a terminal)."""
        return self._target().isatty()


def _install() -> None:
    with _INSTALL:
        for name in ("stdout", "stderr", "stdin"):
            if not isinstance(getattr(sys, name), _Router):
                setattr(sys, name, _Router(name, getattr(sys, name)))


class Parts(list[list[str]]):
    """The ordered output of one forwarded command: [stream, kind, data]. Paths made absolute
    for the owner are shown back as typed (``shown``); ``listener`` hears each part as it is
    written (a streamed reply)."""

    def __init__(self, listener: Callable[[list[str]], None] | None = None) -> None:
        super().__init__()
        self.shown: dict[str, str] = {}
        self.listener = listener

    def append(self, part: list[str]) -> None:
        """Keep ``part`` (its paths as typed) and pass it on."""
        if part[1] == "text":
            for full, typed in self.shown.items():
                part[2] = part[2].replace(full, typed)
        super().append(part)
        if self.listener is not None:
            self.listener(part)


@contextlib.contextmanager
def captured(*, tty: bool = False,
             listener: Callable[[list[str]], None] | None = None) -> Iterator[Parts]:
    """Capture stdout/stderr of this thread's command; yields the ordered parts. ``tty``: the
    caller's stderr is a terminal (progress is drawn)."""
    _install()
    parts = Parts(listener)
    streams = {name: _Capture(name, parts, tty and name == "stderr")
               for name in ("stdout", "stderr", "stdin")}
    token = _STREAMS.set(streams)
    try:
        yield parts
    finally:
        _STREAMS.reset(token)


def _absolute(args: argparse.Namespace, cwd: Path, route: Route) -> dict[str, str]:
    """Make Path arguments absolute against ``cwd``; returns absolute text -> as typed."""
    shown: dict[str, str] = {}
    for name, value in vars(args).items():
        if value is None and name in route.cwd_default:
            setattr(args, name, cwd)
        elif isinstance(value, Path) and str(value) != "-" and not value.is_absolute():
            setattr(args, name, cwd / value)
            shown[str(cwd / value)] = str(value)
    return shown


def execute(argv: list[str], cwd: str, settings: Settings, *,
            build_parser: Callable[[], argparse.ArgumentParser],
            run_handler: Callable[[argparse.Namespace], int], tty: bool = False,
            listener: Callable[[list[str]], None] | None = None) -> dict[str, Any]:
    """Run a forwarded command in this (owner) process with its ``settings`` (the store is
    ready: no migration, no recovery), output captured: {exit_code, parts}; ``listener`` hears
    each part as it is written. The parser and the handler runner are the CLI's own (cli.py
    registers them with api.hooks)."""
    parser = build_parser()
    with captured(tty=tty, listener=listener) as parts, common.as_owner(settings):
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse already wrote the usage error to the capture
            return {"exit_code": int(exc.code or 0), "parts": list(parts)}
        route = COMMANDS.get(command_of(parser, argv))
        if route is None or not route.forward:
            print(f"pineopt: {' '.join(argv[:2])} is not run by the server; run it locally.",
                  file=sys.stderr)
            return {"exit_code": 2, "parts": list(parts)}
        parts.shown.update(_absolute(args, Path(cwd), route))
        code = run_handler(args)
    return {"exit_code": code, "parts": list(parts)}
