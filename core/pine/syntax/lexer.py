"""Pine Script lexer: source text -> tokens with 1-based line and column.

Owns the layout rules: ``//`` comments are dropped (``//@version=N`` is read), a block is indented
by 4 spaces or a tab per level (INDENT/DEDENT tokens), a line indented by a number of spaces that
is not a multiple of 4 continues the previous line, and so does every line inside open brackets.
Statements on one line may be separated by commas (the parser handles that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import TranslationError

KEYWORDS = frozenset({
    "and", "or", "not", "if", "else", "for", "to", "by", "in", "while", "switch", "var", "varip",
    "true", "false", "import", "export", "type", "method", "break", "continue", "enum",
})
OPERATORS = (":=", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "=>", "<", ">", "=", "+",
             "-", "*", "/", "%", "?", ":", ",", "(", ")", "[", "]", ".")
MAX_SOURCE_CHARS = 1_000_000
_TOKEN = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<comment>//[^\n]*)
  | (?P<number>(?:\d+\.?\d*(?:[eE][+-]?\d+)?)|(?:\.\d+(?:[eE][+-]?\d+)?))
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<color>\#[0-9A-Fa-f]{8}\b|\#[0-9A-Fa-f]{6}\b)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>:=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|=>|[<>=+\-*/%?:,()\[\].])
""", re.VERBOSE)
_VERSION = re.compile(r"^\s*//\s*@version\s*=\s*(\d+)")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: kind is NAME, KEYWORD, NUMBER, STRING, COLOR, OP, NEWLINE, INDENT, DEDENT, EOF."""

    kind: str
    value: str
    line: int
    col: int


def script_version(source: str) -> int:
    """The ``//@version=N`` of the script, 5 when absent."""
    for line in source.splitlines():
        match = _VERSION.match(line)
        if match:
            return int(match.group(1))
    return 5


def _unescape(text: str) -> str:
    out, i = [], 1
    while i < len(text) - 1:
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) - 1:
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _indent_width(line: str, lineno: int) -> int:
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4
        else:
            break
    return width


def _line_tokens(text: str, lineno: int, start_col: int,
                 depth: list[tuple[int, int]]) -> list[Token]:
    tokens, pos = [], start_col
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise TranslationError(f"unexpected character {text[pos]!r}", line=lineno, col=pos + 1)
        kind = match.lastgroup or ""
        value = match.group()
        col = pos + 1
        pos = match.end()
        if kind in ("ws", "comment"):
            continue
        if kind == "name" and value in KEYWORDS:
            kind = "keyword"
        elif kind == "string":
            value = _unescape(value)
        elif kind == "op" and value in "([":
            depth.append((lineno, col))
        elif kind == "op" and value in ")]":
            if not depth:
                raise TranslationError(f"unmatched {value!r}", line=lineno, col=col)
            depth.pop()
        tokens.append(Token(kind.upper(), value, lineno, col))
    return tokens


def tokenize(source: str) -> list[Token]:
    """All tokens of ``source``, ending with NEWLINE, the closing DEDENTs and EOF.

    Raises TranslationError (with line and column) on characters, strings or brackets that do
    not lex, and on indentation that does not match an enclosing block.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise TranslationError("the script is longer than 1,000,000 characters", line=1, col=1)
    tokens: list[Token] = []
    levels = [0]
    depth: list[tuple[int, int]] = []
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("//"):
            continue
        width = _indent_width(raw, lineno)
        continuation = bool(depth) or (width % 4 != 0 and len(levels) > 0 and bool(tokens))
        if not continuation:
            _layout(tokens, levels, width // 4, lineno, width)
        elif tokens and tokens[-1].kind == "NEWLINE":
            tokens.pop()
        start = len(raw) - len(raw.lstrip(" \t"))
        tokens.extend(_line_tokens(raw, lineno, start, depth))
        if not depth:
            tokens.append(Token("NEWLINE", "", lineno, len(raw) + 1))
    if depth:
        raise TranslationError("a bracket opened here is never closed", line=depth[-1][0],
                               col=depth[-1][1])
    end = len(lines) + 1
    if tokens and tokens[-1].kind != "NEWLINE":
        tokens.append(Token("NEWLINE", "", end, 1))
    for _ in levels[1:]:
        tokens.append(Token("DEDENT", "", end, 1))
    tokens.append(Token("EOF", "", end, 1))
    return tokens


def _layout(tokens: list[Token], levels: list[int], level: int, lineno: int, width: int) -> None:
    if level > levels[-1]:
        if level != levels[-1] + 1:
            raise TranslationError("indented by more than one block level (use 4 spaces per "
                                   "level)", line=lineno, col=width + 1)
        levels.append(level)
        tokens.append(Token("INDENT", "", lineno, 1))
        return
    while level < levels[-1]:
        levels.pop()
        tokens.append(Token("DEDENT", "", lineno, 1))
