"""Which class of a strategy file the lab runs, decided statically (never executes the source).

A class is a strategy when it derives, directly or through the file's own classes, from one of
backtesting.py's strategy classes: ``backtesting.Strategy``, ``backtesting.lib.SignalStrategy``
or ``backtesting.lib.TrailingStrategy``, however they were imported or renamed (``from
backtesting.lib import SignalStrategy as Strategy`` counts as SignalStrategy). Names are
resolved in file order, so ``class Strategy(SmaCross)`` is the file's own class. The lab runs the
most-derived concrete one: init() and next() written or inherited, and no other strategy class
of the file derives from it. sandbox.child.pick_strategy_class applies the same rule at run time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

# (module, class) -> the methods backtesting.py's class implements (Strategy's are abstract)
FRAMEWORK_CLASSES = {
    ("backtesting", "Strategy"): frozenset(),
    ("backtesting.lib", "SignalStrategy"): frozenset({"init", "next"}),
    ("backtesting.lib", "TrailingStrategy"): frozenset({"init", "next"}),
}
REQUIRED = ("init", "next")


@dataclass(slots=True, kw_only=True)
class StrategyClass:
    """One strategy class of the file: its node, the methods it has (own or inherited)."""

    node: ast.ClassDef
    own: dict[str, ast.FunctionDef]
    methods: set[str] = field(default_factory=set)
    parents: list[StrategyClass] = field(default_factory=list)

    @property
    def concrete(self) -> bool:
        """True when backtesting.py can instantiate it (init and next present)."""
        return all(m in self.methods for m in REQUIRED)


def _framework(node: ast.expr, bound: dict[str, object],
               modules: dict[str, str]) -> tuple[str, str] | None:
    """The backtesting.py class a base expression names (a Name or ``module.Class``)."""
    if isinstance(node, ast.Name):
        value = bound.get(node.id)
        return value if isinstance(value, tuple) else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        key = (modules.get(node.value.id, ""), node.attr)
        return key if key in FRAMEWORK_CLASSES else None
    return None


def _bind_import(node: ast.ImportFrom, bound: dict[str, object]) -> None:
    for alias in node.names:
        key = (node.module or "", alias.name)
        name = alias.asname or alias.name
        if key in FRAMEWORK_CLASSES and not node.level:
            bound[name] = key
        else:
            bound.pop(name, None)


def _targets(node: ast.stmt) -> list[str]:
    """Top-level names a statement (re)binds, besides imports and class definitions."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in node.names]
    return []


def _strategy(node: ast.ClassDef, bound: dict[str, object],
              modules: dict[str, str]) -> StrategyClass | None:
    own = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
    found = StrategyClass(node=node, own=own, methods=set(own))
    derives = False
    for base in node.bases:
        parent = bound.get(base.id) if isinstance(base, ast.Name) else None
        if isinstance(parent, StrategyClass):
            found.parents.append(parent)
            found.methods |= parent.methods
            derives = True
        elif (key := _framework(base, bound, modules)) is not None:
            found.methods |= FRAMEWORK_CLASSES[key]
            derives = True
    return found if derives else None


def strategy_classes(tree: ast.Module, modules: dict[str, str]) -> list[StrategyClass]:
    """Every top-level strategy class, in file order. ``modules``: alias -> allowed module."""
    bound: dict[str, object] = {}
    found: list[StrategyClass] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            _bind_import(node, bound)
        elif isinstance(node, ast.ClassDef):
            cls = _strategy(node, bound, modules)
            bound[node.name] = cls if cls is not None else node.name
            if cls is not None:
                found.append(cls)
        else:
            for name in _targets(node):
                bound.pop(name, None)
    return found


def runnable(classes: list[StrategyClass]) -> tuple[list[StrategyClass], list[StrategyClass]]:
    """(leaves, concrete leaves): classes no other strategy class derives from, and those of
    them backtesting.py can run. The lab runs the single concrete leaf."""
    bases = {id(p) for c in classes for p in ancestors(c)}
    leaves = [c for c in classes if id(c) not in bases]
    return leaves, [c for c in leaves if c.concrete]


def ancestors(cls: StrategyClass) -> list[StrategyClass]:
    """The file's own classes ``cls`` derives from, nearest first."""
    out: list[StrategyClass] = []
    stack = list(cls.parents)
    while stack:
        parent = stack.pop()
        out.append(parent)
        stack.extend(parent.parents)
    return out
