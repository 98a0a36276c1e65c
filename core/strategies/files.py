"""Reading strategy files a user uploads or names on the command line.

Refuses, with a message naming the problem and the fix: a wrong extension, an empty file,
binary or non-UTF-8 content, and anything over MAX_UPLOAD_BYTES (the sandbox's source limit).
Nothing is saved by this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import PineOptError
from core.model import Language
from sandbox.policy import MAX_SOURCE_BYTES

MAX_UPLOAD_BYTES = MAX_SOURCE_BYTES  # one limit: what the sandbox accepts as a source
MAX_UPLOAD_TEXT = f"{MAX_UPLOAD_BYTES // 1024} KB"
EXTENSIONS = {".py": Language.PYTHON, ".pine": Language.PINE}


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyFile:
    """A decoded strategy source and the language its extension names."""

    name: str
    source: str
    language: Language


def decode_upload(name: str, data: bytes) -> StrategyFile:
    """Check and decode uploaded bytes. Raises PineOptError saying what is wrong."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise PineOptError(f"{name}: only .py (Python) and .pine (Pine Script) files can be "
                           "uploaded; rename the file or paste its text into the editor.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PineOptError(f"{name} is {len(data) / 1024:,.0f} KB; strategies are limited to "
                           f"{MAX_UPLOAD_TEXT}. Remove unused code or data from it.")
    if not data.strip():
        raise PineOptError(f"{name} is empty; choose the file that holds your strategy.")
    if b"\x00" in data:
        raise PineOptError(f"{name} looks binary (it contains NUL bytes); upload the source text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PineOptError(f"{name} is not UTF-8 text (bad byte at line {line}); save it as UTF-8 "
                           "in your editor and upload again.") from None
    return StrategyFile(name=name, source=text.replace("\r\n", "\n"), language=EXTENSIONS[suffix])


def read_strategy_file(path: Path) -> StrategyFile:
    """Read and check a strategy file from disk (CLI)."""
    if not path.is_file():
        raise PineOptError(f"{path} does not exist or is not a file; check the path.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise PineOptError(f"{path} is larger than {MAX_UPLOAD_TEXT}, the limit for a strategy "
                           "source; remove unused code or data from it.")
    return decode_upload(path.name, path.read_bytes())
