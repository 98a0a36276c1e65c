"""The Pine syntax tree: one frozen dataclass per construct, each with 1-based line and col.

Node names follow pynescript's AST where they overlap, so the two are easy to compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base: where the construct starts in the source."""

    line: int
    col: int


# ----- expressions -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Constant(Node):
    """A literal: int, float, str, bool, None (na); ``kind`` is 'color' for #RRGGBB literals."""

    value: Any
    kind: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    """An identifier."""

    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute(Node):
    """``value.attr`` (namespaces such as ta.sma, or a method on a variable)."""

    value: Node
    attr: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Arg(Node):
    """One call argument; ``name`` is set for keyword arguments."""

    value: Node
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    """``func<generic>(args)``."""

    func: Node
    args: tuple[Arg, ...]
    generic: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscript(Node):
    """The history operator ``value[index]``."""

    value: Node
    index: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class UnaryOp(Node):
    """``op operand`` with op in '+', '-', 'not'."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class BinOp(Node):
    """Arithmetic, comparison and boolean binary operators."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditional(Node):
    """``test ? body : orelse``."""

    test: Node
    body: Node
    orelse: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Tuple(Node):
    """``[a, b, ...]`` as a value (function results, array literals)."""

    items: tuple[Node, ...]


# ----- statements (the block ones are also expressions) ---------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class If(Node):
    """``if test`` body, optional ``else`` (an ``else if`` is an If inside orelse)."""

    test: Node
    body: tuple[Node, ...]
    orelse: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Case(Node):
    """One switch arm; ``pattern`` None is the default arm."""

    pattern: Node | None
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch(Node):
    """``switch [subject]`` with arms."""

    subject: Node | None
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForTo(Node):
    """``for var = start to end [by step]`` (bounds inclusive)."""

    var: str
    start: Node
    end: Node
    step: Node | None
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForIn(Node):
    """``for x in array`` or ``for [i, x] in array``."""

    targets: tuple[str, ...]
    iterable: Node
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class While(Node):
    """``while test`` body."""

    test: Node
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Break(Node):
    """``break``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Continue(Node):
    """``continue``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Assign(Node):
    """A declaration ``[var|varip] [type] name = value``; ``mode`` is '', 'var' or 'varip'."""

    target: str
    value: Node
    mode: str = ""
    type: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TupleAssign(Node):
    """``[a, b] = value``."""

    targets: tuple[str, ...]
    value: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class ReAssign(Node):
    """``name := value`` or an augmented ``name op= value`` (op '' for ':=')."""

    target: str
    value: Node
    op: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Expr(Node):
    """An expression used as a statement."""

    value: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Param(Node):
    """One function parameter with an optional default."""

    name: str
    default: Node | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionDef(Node):
    """``name(params) => body``; the body's last statement is the result."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Script(Node):
    """A whole script."""

    body: tuple[Node, ...]
    version: int = 5
    extra: dict[str, Any] = field(default_factory=dict)
