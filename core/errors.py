"""The one exception tree. Pages and the CLI catch PineOptError and show its message.

Anything else escaping a service is a bug and must surface with its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.model import ValidationIssue


class PineOptError(Exception):
    """A problem the user can fix; ``str(err)`` says what is wrong and how to fix it.

    Caught by: pages (st.error) and cli.py (stderr, exit code 1).
    """


class ValidationError(PineOptError):
    """User source failed static checks. Carries every issue with line and column."""

    def __init__(self, issues: Sequence[ValidationIssue], summary: str = "") -> None:
        self.issues = tuple(issues)
        text = summary or "The strategy did not pass validation"
        lines = [text + ":"] + [f"  {i}" for i in self.issues]
        super().__init__("\n".join(lines))


class TranslationError(PineOptError):
    """Pine source could not be parsed or translated; line/col point at the construct."""

    def __init__(self, message: str, *, line: int = 0, col: int = 0) -> None:
        self.line = line
        self.col = col
        self.detail = message  # without the position, for reports that show it themselves
        where = f"line {line}, col {col}: " if line else ""
        super().__init__(where + message)


class DataError(PineOptError):
    """Market data is missing, malformed or does not cover the request."""


class ConfigError(PineOptError):
    """A backtest setting or parameter is out of range or of the wrong type."""


class NotFoundError(PineOptError):
    """A strategy, version or run id does not exist."""


class SandboxError(PineOptError):
    """The sandbox could not run the strategy (unavailable, limit hit, crash, bad result).

    ``status`` is the RunStatus value the run ends with.
    """

    def __init__(self, message: str, *, status: str = "failed", log: str = "") -> None:
        self.status = status
        self.log = log
        super().__init__(message)


class SandboxUnavailableError(SandboxError):
    """The sandbox self-test failed: strategies are refused (fail closed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status="sandbox_unavailable")
