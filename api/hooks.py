"""What the process serving the API plugs in, so that api/ never imports the command line.

The CLI forwards its commands to a running owner (``POST /api/cli``), and the owner runs them with
the CLI's own parser and handlers. The API cannot import those (the CLI imports the API to serve
it: a cycle), so ``pineopt`` registers its runner here before it serves; a server started any
other way has none and answers 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


# (argv, cwd, settings, *, tty=False, listener=None) -> {exit_code, parts}; ``listener`` hears
# each output part as it is written (a streamed reply)
CliRunner = Callable[..., dict[str, Any]]
_runner: list[CliRunner] = []


def set_cli_runner(runner: CliRunner) -> None:
    """Register how this process runs a forwarded command (see CliRunner)."""
    _runner[:] = [runner]


def cli_runner() -> CliRunner | None:
    """The registered runner, or None when the API was not started by ``pineopt``."""
    return _runner[0] if _runner else None
