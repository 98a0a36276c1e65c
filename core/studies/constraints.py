"""Constraints between parameters, e.g. ``fast < slow`` or ``fast * 2 <= slow and stop < 0.1``.

A tiny expression language, tokenised and parsed here (never ``eval``): numbers, parameter
names, ``true``/``false``, quoted strings, parentheses, ``+ - * / %``, unary minus, the
comparisons ``< <= > >= == !=`` (chainable: ``5 <= fast < slow``), and ``and``/``or``/``not``.
A parsed constraint is a small tree of tuples evaluated against one parameter set.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError

_TOKEN = re.compile(r"""\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
                     |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
                     |(?P<str>"[^"]*"|'[^']*')
                     |(?P<op><=|>=|==|!=|[<>+\-*/%()]))""", re.VERBOSE)
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "%": operator.mod}
MAX_LENGTH = 500


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError(f"Constraint {text!r}: unexpected character "
                              f"{text[pos:].strip()[:1]!r}"
                              f" at position {pos + 1}; use names, numbers, comparisons, + - * / "
                              "%, and, or, not, parentheses.")
        pos = m.end()
        if m.group("num") is not None:
            out.append(("num", float(m.group("num"))))
        elif m.group("name") is not None:
            word = m.group("name")
            if word in ("and", "or", "not"):
                out.append(("op", word))
            elif word in ("true", "True", "false", "False"):
                out.append(("num", word.lower() == "true"))
            else:
                out.append(("name", word))
        elif m.group("str") is not None:
            out.append(("str", m.group("str")[1:-1]))
        else:
            out.append(("op", m.group("op")))
    return out


class _Parser:
    def __init__(self, text: str, names: set[str] | None) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.names = names
        self.used: set[str] = set()

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f"Constraint {self.text!r}: {what}. Example: \"fast < slow\".")

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take_op(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ops:
            self.i += 1
            return tok[1]
        return None

    def parse(self) -> tuple:
        if not self.toks:
            raise self.fail("it is empty")
        node = self.or_()
        extra = self.peek()
        if extra is not None:
            raise self.fail(f"unexpected {extra[1]!r}")
        return node

    def or_(self) -> tuple:
        node = self.and_()
        while self.take_op("or"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.not_()
        while self.take_op("and"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple:
        if self.take_op("not"):
            return ("not", self.not_())
        return self.compare()

    def compare(self) -> tuple:
        first = self.sum_()
        pairs = []
        while (op := self.take_op(*_COMPARE)) is not None:
            pairs.append((op, self.sum_()))
        return ("cmp", first, tuple(pairs)) if pairs else first

    def sum_(self) -> tuple:
        node = self.product()
        while (op := self.take_op("+", "-")) is not None:
            node = ("arith", op, node, self.product())
        return node

    def product(self) -> tuple:
        node = self.unary()
        while (op := self.take_op("*", "/", "%")) is not None:
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.take_op("-"):
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> tuple:
        tok = self.peek()
        if tok is None:
            raise self.fail("it ends too early")
        self.i += 1
        if tok[0] in ("num", "str"):
            return ("const", tok[1])
        if tok[0] == "name":
            if self.names is not None and tok[1] not in self.names:
                known = ", ".join(sorted(self.names)) or "none"
                raise self.fail(f"unknown parameter {tok[1]!r} (parameters: {known})")
            self.used.add(tok[1])
            return ("name", tok[1])
        if tok[1] == "(":
            node = self.or_()
            if not self.take_op(")"):
                raise self.fail("a '(' is not closed")
            return node
        raise self.fail(f"unexpected {tok[1]!r}")


@dataclass(frozen=True, slots=True)
class Constraint:
    """One parsed constraint; ``holds(params)`` evaluates it (never eval)."""

    text: str
    tree: tuple
    names: frozenset[str]

    def holds(self, params: Mapping[str, Any]) -> bool:
        """True when the parameter set satisfies the constraint (a division by zero: False)."""
        try:
            return bool(_eval(self.tree, params))
        except (ZeroDivisionError, TypeError, KeyError):
            return False


def parse(text: str, names: Iterable[str] | None = None) -> Constraint:
    """Parse ``text``; ``names`` (the strategy's parameters) makes unknown names an error.

    Raises ConfigError with the position or the unknown name.
    """
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"Constraint is longer than {MAX_LENGTH} characters.")
    parser = _Parser(text, set(names) if names is not None else None)
    tree = parser.parse()
    return Constraint(text=text.strip(), tree=tree, names=frozenset(parser.used))


def _eval(node: tuple, params: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "name":
        return params[node[1]]
    if kind == "neg":
        return -_eval(node[1], params)
    if kind == "not":
        return not _eval(node[1], params)
    if kind == "and":
        return bool(_eval(node[1], params)) and bool(_eval(node[2], params))
    if kind == "or":
        return bool(_eval(node[1], params)) or bool(_eval(node[2], params))
    if kind == "arith":
        return _ARITH[node[1]](_eval(node[2], params), _eval(node[3], params))
    left = _eval(node[1], params)
    for op, right_node in node[2]:
        right = _eval(right_node, params)
        if not _COMPARE[op](left, right):
            return False
        left = right
    return True


def all_hold(constraints: Iterable[Constraint], params: Mapping[str, Any]) -> bool:
    """True when every constraint holds for ``params``."""
    return all(c.holds(params) for c in constraints)
