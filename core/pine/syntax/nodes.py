"""The Pine syntax tree: one class per construct, each with 1-based line and col.

Node names follow pynescript's AST where they overlap, so the two are easy to compare. Nodes are
plain slotted classes built with keyword arguments (dataclass creation costs too much at import
for a cold translation); treat them as immutable. ``_fields`` lists each node's own fields.
"""

from __future__ import annotations

from typing import Any


class Node:
    """Base: where the construct starts in the source."""

    __slots__ = ("line", "col")
    _fields: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, **values: Any) -> None:
        self.line = values.pop("line")
        self.col = values.pop("col")
        for name in self._fields:
            if name in values:
                setattr(self, name, values.pop(name))
            elif name in self._defaults:
                default = self._defaults[name]
                setattr(self, name, dict(default) if isinstance(default, dict) else default)
            else:
                raise TypeError(f"{type(self).__name__} needs {name}")
        if values:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(values))}")

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in ("line", "col", *self._fields))
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in ("line", "col", *self._fields))

    __hash__ = None  # type: ignore[assignment]


class Constant(Node):
    """A literal: int, float, str, bool, None (na); ``kind`` is 'color' for #RRGGBB literals."""

    __slots__ = ('value', 'kind')
    _fields = __slots__
    _defaults = {'kind': ""}
    value: Any
    kind: str


class Name(Node):
    """An identifier."""

    __slots__ = ('id',)
    _fields = __slots__
    id: str


class Attribute(Node):
    """``value.attr`` (namespaces such as ta.sma, or a method on a variable)."""

    __slots__ = ('value', 'attr')
    _fields = __slots__
    value: Node
    attr: str


class Arg(Node):
    """One call argument; ``name`` is set for keyword arguments."""

    __slots__ = ('value', 'name')
    _fields = __slots__
    _defaults = {'name': ""}
    value: Node
    name: str


class Call(Node):
    """``func<generic>(args)``."""

    __slots__ = ('func', 'args', 'generic')
    _fields = __slots__
    _defaults = {'generic': ()}
    func: Node
    args: tuple[Arg, ...]
    generic: tuple[str, ...]


class Subscript(Node):
    """The history operator ``value[index]``."""

    __slots__ = ('value', 'index')
    _fields = __slots__
    value: Node
    index: Node


class UnaryOp(Node):
    """``op operand`` with op in '+', '-', 'not'."""

    __slots__ = ('op', 'operand')
    _fields = __slots__
    op: str
    operand: Node


class BinOp(Node):
    """Arithmetic, comparison and boolean binary operators."""

    __slots__ = ('op', 'left', 'right')
    _fields = __slots__
    op: str
    left: Node
    right: Node


class Conditional(Node):
    """``test ? body : orelse``."""

    __slots__ = ('test', 'body', 'orelse')
    _fields = __slots__
    test: Node
    body: Node
    orelse: Node


class Tuple(Node):
    """``[a, b, ...]`` as a value (function results, array literals)."""

    __slots__ = ('items',)
    _fields = __slots__
    items: tuple[Node, ...]


class If(Node):
    """``if test`` body, optional ``else`` (an ``else if`` is an If inside orelse)."""

    __slots__ = ('test', 'body', 'orelse')
    _fields = __slots__
    _defaults = {'orelse': ()}
    test: Node
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]


class Case(Node):
    """One switch arm; ``pattern`` None is the default arm."""

    __slots__ = ('pattern', 'body')
    _fields = __slots__
    pattern: Node | None
    body: tuple[Node, ...]


class Switch(Node):
    """``switch [subject]`` with arms."""

    __slots__ = ('subject', 'cases')
    _fields = __slots__
    subject: Node | None
    cases: tuple[Case, ...]


class ForTo(Node):
    """``for var = start to end [by step]`` (bounds inclusive)."""

    __slots__ = ('var', 'start', 'end', 'step', 'body')
    _fields = __slots__
    var: str
    start: Node
    end: Node
    step: Node | None
    body: tuple[Node, ...]


class ForIn(Node):
    """``for x in array`` or ``for [i, x] in array``."""

    __slots__ = ('targets', 'iterable', 'body')
    _fields = __slots__
    targets: tuple[str, ...]
    iterable: Node
    body: tuple[Node, ...]


class While(Node):
    """``while test`` body."""

    __slots__ = ('test', 'body')
    _fields = __slots__
    test: Node
    body: tuple[Node, ...]


class Break(Node):
    """``break``."""

    __slots__ = ()
    _fields = __slots__


class Continue(Node):
    """``continue``."""

    __slots__ = ()
    _fields = __slots__


class Assign(Node):
    """A declaration ``[var|varip] [type] name = value``; ``mode`` is '', 'var' or 'varip'."""

    __slots__ = ('target', 'value', 'mode', 'type')
    _fields = __slots__
    _defaults = {'mode': "", 'type': ""}
    target: str
    value: Node
    mode: str
    type: str


class TupleAssign(Node):
    """``[a, b] = value``."""

    __slots__ = ('targets', 'value')
    _fields = __slots__
    targets: tuple[str, ...]
    value: Node


class ReAssign(Node):
    """``name := value`` or an augmented ``name op= value`` (op '' for ':=')."""

    __slots__ = ('target', 'value', 'op')
    _fields = __slots__
    _defaults = {'op': ""}
    target: str
    value: Node
    op: str


class Expr(Node):
    """An expression used as a statement."""

    __slots__ = ('value',)
    _fields = __slots__
    value: Node


class Param(Node):
    """One function parameter with an optional default."""

    __slots__ = ('name', 'default')
    _fields = __slots__
    _defaults = {'default': None}
    name: str
    default: Node | None


class FunctionDef(Node):
    """``name(params) => body``; the body's last statement is the result."""

    __slots__ = ('name', 'params', 'body')
    _fields = __slots__
    name: str
    params: tuple[Param, ...]
    body: tuple[Node, ...]


class Script(Node):
    """A whole script."""

    __slots__ = ('body', 'version', 'extra')
    _fields = __slots__
    _defaults = {'version': 5, 'extra': {}}
    body: tuple[Node, ...]
    version: int
    extra: dict[str, Any]
