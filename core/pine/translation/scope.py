"""Translator scopes: which Pine names a body declares, which need stored history or ``var``
slots, and the numbering of call sites (``st[k]``) inside one scope."""

from __future__ import annotations

from core.pine.syntax import nodes as n


def _walk(body: tuple[n.Node, ...] | list[n.Node], depth: int, out: dict[str, set[str]]) -> None:
    for stmt in body:
        if isinstance(stmt, n.FunctionDef):
            continue
        if isinstance(stmt, n.Assign):
            if stmt.mode:
                out["var"].add(stmt.target)
            if depth:
                out["nested"].add(stmt.target)
        if isinstance(stmt, n.TupleAssign) and depth:
            out["nested"].update(stmt.targets)
        _visit(stmt, depth, out)


def _visit(node: object, depth: int, out: dict[str, set[str]]) -> None:
    if isinstance(node, n.Subscript) and isinstance(node.value, n.Name):
        out["hist"].add(node.value.id)
    if isinstance(node, (tuple, list)):
        for item in node:
            _visit(item, depth, out)
        return
    if not isinstance(node, n.Node) or isinstance(node, n.FunctionDef):
        return
    for name in node._fields:
        value = getattr(node, name)
        if name in ("body", "orelse") and isinstance(value, tuple) and value and \
                isinstance(node, (n.If, n.ForTo, n.ForIn, n.While, n.Case)):
            _walk(value, depth + 1, out)
        elif name == "cases":
            for case in value:
                _visit(case.pattern, depth, out)
                _walk(case.body, depth + 1, out)
        else:
            _visit(value, depth, out)


def analyse(body: tuple[n.Node, ...]) -> dict[str, set[str]]:
    """{'var': var/varip names, 'hist': names used with [], 'nested': names declared in blocks}."""
    out: dict[str, set[str]] = {"var": set(), "hist": set(), "nested": set()}
    _walk(body, 0, out)
    return out


class Scope:
    """One Python function's worth of Pine names (the script body or a user function)."""

    def __init__(self, kind: str, body: tuple[n.Node, ...], parent: Scope | None = None,
                 extra_hist: set[str] | None = None) -> None:
        info = analyse(body)
        self.kind = kind
        self.parent = parent
        self.var_names = info["var"]
        self.hist_names = info["hist"] | (extra_hist or set())
        self.nested = info["nested"]
        self.names: dict[str, str] = {}
        self.bools: set[str] = set()
        self.slots: dict[str, int] = {}
        self.params: set[str] = set()
        self.counter = 0
        self.live: list[set[str]] = [set()]  # names declared in each open block, outermost first

    def enter_block(self) -> None:
        """An if/for/while/switch branch starts: its declarations are its own (Pine scoping)."""
        self.live.append(set())

    def exit_block(self) -> None:
        """The branch ended: names it declared may be declared again by a sibling block."""
        self.live.pop()

    def is_declared(self, name: str) -> bool:
        """True when ``name`` was declared in the current block or a block enclosing it."""
        return any(name in names for names in self.live)

    def next_number(self) -> int:
        """A fresh call-site or slot number in this scope."""
        self.counter += 1
        return self.counter

    def declare(self, name: str, *, is_bool: bool = False) -> str:
        """Register a Pine variable; returns its Python name (allocating a slot if stored)."""
        py = "unused" if name == "_" else f"v_{name}"
        if name == "_":
            return py
        self.names[name] = py
        self.live[-1].add(name)
        if is_bool:
            self.bools.add(name)
        if (name in self.var_names or name in self.hist_names) and name not in self.slots:
            self.slots[name] = self.next_number()
        return py

    def lookup(self, name: str) -> str | None:
        """Python name of a visible Pine variable, or None."""
        if name in self.names:
            return self.names[name]
        return self.parent.lookup(name) if self.parent is not None else None

    def bools_all(self) -> set[str]:
        """Names known to hold bools here or in the enclosing scope."""
        return self.bools | (self.parent.bools if self.parent is not None else set())

    def history_slot(self, name: str) -> tuple[str, str, int] | None:
        """(node expression, python name, slot) for ``name[k]``, or None for non-variables."""
        if name in self.names:
            slot = self.slots.get(name)
            return None if slot is None else ("st", self.names[name], slot)
        if self.parent is not None and name in self.parent.names:
            slot = self.parent.slots.get(name)
            return None if slot is None else ("root", self.parent.names[name], slot)
        return None
