"""Helpers shared by command modules, and the `init` command."""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.settings import Settings, load_settings


# Set while the owner of the store (a server) runs a command forwarded by the CLI
# (clicmd.forward): its settings, with the store it initialised once at start.
_OWNER: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("pineopt_owner",
                                                                         default=None)


@contextlib.contextmanager
def as_owner(owner: Settings) -> Iterator[None]:
    """Run commands of this thread with the owner's settings and its ready store."""
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


def forwarded() -> bool:
    """True while this thread runs a command forwarded to the owner of the store."""
    return _OWNER.get() is not None


def settings() -> Settings:
    """Settings with the store initialised (migrations + sample data), for commands that write.
    Inside the owner (a forwarded command) its settings: it migrated once, at its start."""
    from core import bootstrap

    owner = _OWNER.get()
    if owner is not None:
        return owner
    s = load_settings()
    bootstrap.init_store(s)
    return s


def check_home(home: Path) -> None:
    """Raise PineOptError (one line) unless PINEOPT_HOME is, or can become, a writable folder."""
    from core.errors import PineOptError

    fix = "point PINEOPT_HOME at a writable folder (e.g. export PINEOPT_HOME=$HOME/.pineopt)"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PineOptError(f"PINEOPT_HOME={home} is a file, not a folder; {fix}.") from None
    except OSError as exc:
        raise PineOptError(f"PINEOPT_HOME={home} cannot be created ({exc.strerror}); "
                           f"{fix}.") from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise PineOptError(f"PINEOPT_HOME={home} is not writable by this user; {fix}.")


def status(message: str) -> None:
    """A status line ("wrote ...") on stderr, so stdout carries only the command's output."""
    print(message, file=sys.stderr)


def write_output(output: Path, content: bytes) -> str:
    """Write content to the file ``output``, or to stdout when it is "-"; returns where."""
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return "stdout"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    return str(output)


def reader() -> Settings:
    """Settings for a read-only command: the store is checked, never migrated or written."""
    from core import bootstrap

    owner = _OWNER.get()
    if owner is not None:
        return owner
    s = load_settings()
    bootstrap.check_readable(s)
    return s


def jsonable(value: Any) -> Any:
    """Replace non-finite floats with None so output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def print_json(obj: Any) -> None:
    """One strict JSON document on stdout."""
    json.dump(jsonable(obj), sys.stdout, default=str, allow_nan=False)
    sys.stdout.write("\n")


def status_line(text: str) -> None:
    """Rewrite the current stderr line with ``text`` (a progress display); ``text`` stays inert,
    only the leading carriage return is the program's own control character."""
    write_trusted = getattr(sys.stderr, "write_trusted", sys.stderr.write)
    write_trusted("\r")
    sys.stderr.write(text)
    sys.stderr.flush()


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain aligned text table."""
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)


_COUNTS = ("liquidations", "orders_rejected", "open_trades_at_end")  # cost-split counts


def split_text(name: str, value: float) -> str:
    """A cost-split value: counts (liquidations, rejected orders) as integers, USDT with 4
    decimals."""
    return f"{value:,.0f}" if name.startswith(_COUNTS) else f"{value:,.4f}"


def labelled(pairs: list[tuple[str, str]]) -> list[str]:
    """'  label  value' lines with the values in one column, however long the labels."""
    width = max((len(label) for label, _ in pairs), default=0)
    return [f"  {label:<{width}}  {value}" for label, value in pairs]


def add_parser(sub: Any) -> None:
    """Register `pineopt init`."""
    p = sub.add_parser("init", help="create the store (migrations + sample data) if absent")
    p.set_defaults(handler=_init)


def _init(_args: Any) -> int:
    s = settings()
    print(f"store ready: {s.db_path}")
    return 0
