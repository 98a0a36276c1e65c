r"""Inert output: text and CSV cells that came from a strategy or a user, made harmless.

Two operator-facing sinks can be attacked by strings a strategy controls (its error text, prints,
trade tags, names):

- a terminal: C0/C1 control characters drive it (ESC sequences recolour, move the cursor, retitle
  the window; OSC 52 writes the clipboard). ``terminal_text`` shows each one as a visible escape
  (``\x1b``) instead, keeping only newline and tab;
- a spreadsheet: a CSV cell starting with ``= + - @`` (or tab / carriage return) is read as a
  formula (``=HYPERLINK(...)``, DDE). ``csv_bytes`` prefixes such text cells with a single quote,
  the neutralisation OWASP's "CSV Injection" guidance recommends; numeric columns are left alone,
  so a negative P&L stays a number. Every CSV export goes through it.
"""

from __future__ import annotations

import io
import re
from typing import Any, TextIO

import pandas as pd

# C0 controls except \t and \n, DEL, C1 controls, and the bidirectional overrides/isolates that
# reorder what a terminal shows (CVE-2021-42574, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    r"""``text`` with every control character (but newline and tab) shown as ``\xNN``/``\uNNNN``."""
    return _UNSAFE.sub(_visible, text)


class InertStream(io.TextIOBase):
    """A text stream that passes everything written through ``terminal_text``.

    ``write_trusted`` bypasses the filter for the program's own control output (the progress
    bar's carriage return).
    """

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        """Write ``text`` made inert; returns len(text) as TextIO.write does."""
        self.target.write(terminal_text(text))
        return len(text)

    def write_trusted(self, text: str) -> int:
        """Write program-made text unchanged (never text from a strategy or a user)."""
        return self.target.write(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self.target.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        return self.target.isatty()

    def fileno(self) -> int:
        """The wrapped stream's descriptor."""
        return self.target.fileno()

    @property
    def buffer(self) -> Any:
        """The wrapped stream's byte buffer: a file's exact bytes (`-o -`), never escaped (a PDF
        or Parquet file must stay intact; CSV and JSON exports are made inert when built)."""
        return self.target.buffer

    def writable(self) -> bool:
        """Always True."""
        return True


def csv_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate, prefixed with ``'``; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (object/string columns) went through ``csv_cell``.

    Numeric, boolean and datetime columns are unchanged, so numbers stay numbers.
    """
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(
                out[column]):
            out[column] = out[column].map(csv_cell).astype(object)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame, **options: Any) -> bytes:
    """``frame`` as inert CSV (UTF-8, no index): text cells through ``csv_cell``, RFC 4180 CRLF
    line ends, so a text cell holding a CR or LF is quoted rather than splitting its row.
    ``options`` go to DataFrame.to_csv (e.g. date_format)."""
    return csv_frame(frame).to_csv(index=False, lineterminator="\r\n", **options).encode()
