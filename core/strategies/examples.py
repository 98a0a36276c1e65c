"""Example strategies shipped in examples/ (the gallery on the Strategies page).

Each example file's module docstring is its description; the text before its first colon is its
title ("SMA cross: go long when ..." -> "SMA cross").
Parameters follow the core.strategies.params comment convention (``fast = 20  # Fast MA; range:
5..100``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from core.errors import NotFoundError
from core.model import Language
from core.settings import REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "examples"
DEFAULT_EXAMPLE = "sma_cross"


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One shipped example: ``key`` is its file stem (also its id)."""

    key: str
    title: str
    description: str
    language: Language
    source: str


def _title(doc: str, key: str) -> str:
    head = doc.split("\n", 1)[0]
    return head.split(":", 1)[0].strip() if ":" in head else key.replace("_", " ").capitalize()


def _load(path_key: str) -> Example:
    path = EXAMPLES_DIR / f"{path_key}.py"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc = (ast.get_docstring(tree) or "").strip()
    return Example(key=path_key, title=_title(doc, path_key), description=doc.split("\n\n")[0],
                   language=Language.PYTHON, source=source)


PINE_DIR = EXAMPLES_DIR / "pine"
PINE_PREFIX = "pine/"  # keys of Pine examples: "pine/rsi_strategy"
_PINE_TITLE = re.compile(r"""strategy\(\s*(?:title\s*=\s*)?["']([^"']+)["']""")


# What a user should know before running a Pine example on crypto bars.
_PINE_NOTES = {
    "bar_up_dn": "It enters only on an opening gap (an open beyond the previous close); 24/7 "
                 "crypto bars open where the last one closed, so expect few or no trades on "
                 "crypto data (the bundled sample bars have no gaps: no trades).",
    "greedy": "It enters on opening gaps (an open beyond the previous bar's high or low) and "
              "then adds on them; 24/7 crypto bars rarely gap, so expect few or no trades on "
              "crypto data (the bundled sample bars have no gaps: no trades).",
}


def _load_pine(stem: str) -> Example:
    source = (PINE_DIR / f"{stem}.pine").read_text(encoding="utf-8")
    found = _PINE_TITLE.search(source)
    title = found.group(1) if found else stem.replace("_", " ").capitalize()
    return Example(key=PINE_PREFIX + stem, title=title, language=Language.PINE, source=source,
                   description=f"TradingView's built-in “{title}”"
                               + ("" if title.lower().endswith("strategy") else " strategy")
                               + " in Pine Script, "
                               "written from its known behaviour; runs through the Pine "
                               "translator." + (f" {_PINE_NOTES[stem]}" if stem in _PINE_NOTES
                                                else ""))


def list_examples(*, language: Language | None = Language.PYTHON) -> list[Example]:
    """Shipped examples of one language (None: all, Python first). Python: the default (SMA
    cross) first, then by file name; Pine (examples/pine/*.pine): by file name."""
    out: list[Example] = []
    if language in (None, Language.PYTHON):
        keys = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py"))
        keys.sort(key=lambda k: k != DEFAULT_EXAMPLE)
        out += [_load(k) for k in keys]
    if language in (None, Language.PINE):
        out += [_load_pine(p.stem) for p in sorted(PINE_DIR.glob("*.pine"))]
    return out


def get_example(key: str) -> Example:
    """One example by its file stem. Raises NotFoundError listing the keys."""
    if key.startswith(PINE_PREFIX) and (PINE_DIR / f"{key[len(PINE_PREFIX):]}.pine").is_file():
        return _load_pine(key[len(PINE_PREFIX):])
    names = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py"))
    if key not in names:
        raise NotFoundError(f"No example '{key}'; examples: {', '.join(names)}.")
    return _load(key)


def default_python_source() -> str:
    """The SMA-cross example the editor starts with."""
    return get_example(DEFAULT_EXAMPLE).source


def default_pine_source() -> str:
    """The Pine example a new Pine strategy starts with (MovingAvg2Line Cross)."""
    return (EXAMPLES_DIR / "pine" / "moving_avg_2line_cross.pine").read_text(encoding="utf-8")
