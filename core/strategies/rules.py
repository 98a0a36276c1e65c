"""The AST rules of core.strategies.validation (security.md A3-A7), one function per rule family.

Input is an already parsed and size-checked tree; nothing here executes user code. Attribute
chains into modules (``np.f2py.subprocess``) are resolved against the allowed libraries
themselves (trusted code, imported on demand and looked up with ``vars``, never ``getattr``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.util
import re
import types

from core.strategies import strategy_class
from core.model import Severity, ValidationIssue
from sandbox import names as private_names
from sandbox import policy

_NAME_HINTS = {
    "eval": "strategies cannot run generated code", "exec": "strategies cannot run generated code",
    "compile": "strategies cannot run generated code",
    "open": "strategies cannot read or write files; use self.data for prices",
    "input": "strategies cannot ask for input; make it a class parameter",
    "getattr": "use plain attribute access such as self.data.Close",
    "setattr": "assign directly, e.g. self.level = 1", "hasattr": "use plain attribute access",
    "__import__": "write a normal import of an allowed module",
}
_ATTR_HINTS = (
    (("format", "format_map", "vformat"), "use an f-string such as f\"{value:.2f}\""),
    (("query", "eval"), "use a boolean mask such as df[df.Close > level]"),
    (("apply", "map", "agg", "aggregate", "transform", "pipe", "applymap"),
     "use vectorised pandas/numpy operations or a plain for loop"),
    (("load", "loads", "save", "savez", "savetxt", "loadtxt", "open", "dump", "dumps"),
     "strategies cannot read or write files; use self.data"),
)


def _issue(node: ast.AST, message: str, rule: str,
           severity: Severity = Severity.ERROR) -> ValidationIssue:
    line = getattr(node, "lineno", 0) or 0
    col = getattr(node, "col_offset", -1)
    if isinstance(node, ast.Attribute) and node.value.end_lineno == line:
        col = (node.value.end_col_offset or 0) + 1  # point at the attribute, after the dot
    return ValidationIssue(severity=severity, line=line, col=col + 1 if col >= 0 else 0,
                           message=message, rule=rule)


@functools.lru_cache(maxsize=2048)
def submodule(parent: str, attr: str) -> str | None:
    """Full name of the module ``parent.attr`` denotes, or None when it is not a module."""
    try:
        value = vars(importlib.import_module(parent)).get(attr)
    except Exception:  # noqa: BLE001 - a library that fails to import has no submodules for us
        return None
    if isinstance(value, types.ModuleType):
        return value.__name__
    if value is not None:
        return None
    try:
        return f"{parent}.{attr}" if importlib.util.find_spec(f"{parent}.{attr}") else None
    except (ImportError, ValueError, AttributeError):
        return None


@functools.lru_cache(maxsize=2048)
def denied_origin(parent: str, attr: str) -> str | None:
    """The denied module a class/function ``parent.attr`` comes from (inspect, os...), if any."""
    try:
        value = vars(importlib.import_module(parent)).get(attr)
    except Exception:  # noqa: BLE001 - see submodule()
        return None
    root = policy.origin_root(value)
    return root if root in policy.DENIED_ROOT_MODULES else None


def _allowed_list() -> str:
    return ", ".join(sorted(m for m in policy.ALLOWED_MODULES if not m.startswith("core.")))


def check_imports(tree: ast.Module) -> tuple[dict[str, str], set[str], list[ValidationIssue]]:
    """Import rules. Returns (alias -> module for names bound to allowed modules, every imported
    name, issues)."""
    modules: dict[str, str] = {}
    imported: set[str] = set()
    issues: list[ValidationIssue] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                imported.add(bound)
                if not policy.module_allowed(alias.name):
                    issues.append(_issue(node, f"Import of '{alias.name}' is not allowed. "
                                         f"Strategies can import only: {_allowed_list()}.",
                                         "import"))
                elif alias.asname or "." not in alias.name:
                    modules[bound] = alias.name
                elif policy.module_allowed(bound):
                    modules[bound] = bound
        elif isinstance(node, ast.ImportFrom):
            issues += _check_from(node, modules, imported)
    return modules, imported, issues


def _check_from(node: ast.ImportFrom, modules: dict[str, str],
                imported: set[str]) -> list[ValidationIssue]:
    module = node.module or ""
    for alias in node.names:
        imported.add(alias.asname or alias.name)
    if node.level or not policy.module_allowed(module):
        return [_issue(node, f"Import from '{'.' * node.level}{module}' is not allowed. "
                       f"Strategies can import only: {_allowed_list()}.", "import")]
    issues = []
    allowed = policy.ALLOWED_FROM.get(module)
    for alias in node.names:
        target = submodule(module, alias.name) if alias.name != "*" else None
        bad = (alias.name == "*" or (allowed is not None and alias.name not in allowed)
               or (target is not None and not policy.module_allowed(target))
               or (alias.name != "*" and denied_origin(module, alias.name) is not None)
               or (target is None and not policy.attribute_allowed(alias.name)))
        if not bad and alias.name != "*" and not policy.module_name_allowed(module, alias.name):
            issues.append(_unreviewed(node, module, alias.name))
        elif bad:
            hint = {"*": " Name each thing you import instead of '*'."}.get(alias.name, "")
            if module == "backtesting":
                hint = " Only 'from backtesting import Strategy' is allowed; the lab runs it."
            issues.append(_issue(node, f"'from {module} import {alias.name}' is not allowed."
                                 f"{hint or ' Import only allowed modules and their functions.'}",
                                 "import"))
        elif target is not None:
            modules[alias.asname or alias.name] = target
    return issues


def _module_of(node: ast.expr, modules: dict[str, str]) -> str | None:
    """The allowed module an expression denotes (Name alias or attribute chain), else None."""
    if isinstance(node, ast.Name):
        return modules.get(node.id)
    if isinstance(node, ast.Attribute):
        parent = _module_of(node.value, modules)
        target = submodule(parent, node.attr) if parent else None
        return target if target and policy.module_allowed(target) else None
    return None


def _unreviewed(node: ast.AST, module: str, name: str) -> ValidationIssue:
    """A name the module has but the sandbox has not reviewed (deny by default)."""
    return _issue(node, f"'{module}.{name}' is not on the list of reviewed {module} functions "
                  "strategies may use (new or file-, process- or import-related names are refused "
                  "until reviewed); use another function, or ask for it to be reviewed and added "
                  "to sandbox/policy_names.py.", "module-name")


def _attr_message(node: ast.Attribute, parent: str | None) -> str:
    name = node.attr
    if parent and policy.module_allowed(f"{parent}.{name}"):
        return (f"'.{name}' is not allowed here; import it instead, e.g. "
                f"`from {parent}.{name} import ...`.")
    if (reason := private_names.refusal(name)) is not None:
        return f"The attribute '.{name}' is not allowed: {reason}."
    if name.startswith("_"):
        return (f"The attribute '.{name}' is not allowed here: private attributes are open only "
                f"on your own objects, such as `self.{name}`; a library's are closed.")
    for names, hint in _ATTR_HINTS:
        if name in names:
            return f"The attribute '.{name}' is not allowed in strategies; {hint}."
    if name.startswith(("read_", "to_")):
        return (f"The attribute '.{name}' is not allowed: strategies cannot read or write "
                "files or the network; use self.data.")
    return f"The attribute '.{name}' is not allowed in strategies; remove it."


def _own_names(tree: ast.Module) -> set[str]:
    """Names denoting the strategy's own objects: its classes and each method's first
    parameter (self, cls)."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            own.add(node.name)
            own.update(f.args.args[0].arg for f in node.body
                       if isinstance(f, ast.FunctionDef) and f.args.args)
    return own


def check_attributes(tree: ast.Module, modules: dict[str, str]) -> list[ValidationIssue]:
    """Forbidden attribute names, and attribute chains that reach a module off the allow-list."""
    issues = []
    own = _own_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parent = _module_of(node.value, modules)
        target = submodule(parent, node.attr) if parent else None
        mine = isinstance(node.value, ast.Name) and node.value.id in own and parent is None
        if not policy.attribute_allowed(node.attr) and not (
                mine and private_names.private_allowed(node.attr)):
            issues.append(_issue(node, _attr_message(node, parent), "attribute"))
        elif target is not None and not policy.module_allowed(target):
            issues.append(_issue(node, f"'.{node.attr}' reaches the module '{target}', which "
                                 f"strategies may not use. Allowed modules: {_allowed_list()}.",
                                 "module-attribute"))
        elif parent and target is None and not policy.module_name_allowed(parent, node.attr):
            issues.append(_unreviewed(node, parent, node.attr))
        elif parent and (origin := denied_origin(parent, node.attr)):
            issues.append(_issue(node, f"'.{node.attr}' comes from the module '{origin}', which "
                                 "strategies may not use; remove it.", "module-attribute"))
    return issues


def _bound_names(node: ast.AST) -> list[str]:
    """Identifiers a node defines or refers to besides ast.Name (defs, args, keywords...)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return [node.name] if node.name else []
    if isinstance(node, ast.alias) and node.asname:
        return [node.asname]
    return []


def _name_message(name: str) -> str:
    if (reason := private_names.refusal(name)) is not None:
        return (f"The name '{name}' is not allowed: {reason}. Rename it, e.g. to "
                f"'my_{re.sub('_+', '_', name).strip('_')}'.")
    hint = _NAME_HINTS.get(name, "remove it")
    return f"The name '{name}' is not allowed in strategies; {hint}."


def check_names(tree: ast.Module) -> list[ValidationIssue]:
    """Forbidden names in any position (loads, stores, defs, args, keywords, decorators)."""
    issues = []
    for node in ast.walk(tree):
        names = [node.id] if isinstance(node, ast.Name) else _bound_names(node)
        for name in names:
            if name in policy.FORBIDDEN_NAMES or private_names.refusal(name) is not None:
                issues.append(_issue(node, _name_message(name), "name"))
    return issues


_BUILTIN_HINTS = {
    "bytearray": "use a list or a numpy array", "bytes": "use a str or a numpy array",
    "memoryview": "use a numpy array", "type": "use isinstance(value, SomeType)",
    "complex": "use two floats", "slice": "write the slice as a[start:stop]",
}


@functools.lru_cache(maxsize=1)
def sandbox_builtin_names() -> frozenset[str]:
    """The builtin names the sandbox child provides (sandbox.policy.strategy_builtins)."""
    return frozenset(policy.strategy_builtins())


def _defined_names(tree: ast.Module) -> set[str]:
    """Every name the module itself binds anywhere (assignments, defs, args, imports...)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif not isinstance(node, ast.keyword):
            bound.update(_bound_names(node))
    return bound


def check_builtins(tree: ast.Module) -> list[ValidationIssue]:
    """Python builtins the sandbox does not provide (bytearray, type...): each would end the
    run with a NameError, so validation names it with its position and a fix."""
    provided = sandbox_builtin_names()
    python = set(dir(builtins))
    own = _defined_names(tree)
    issues = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
            continue
        name = node.id
        if (name not in python or name in provided or name in own
                or name in policy.FORBIDDEN_NAMES or private_names.refusal(name) is not None):
            continue
        hint = _BUILTIN_HINTS.get(name, "rewrite the code without it")
        issues.append(_issue(node, f"The builtin '{name}' is not available in the sandbox; "
                             f"{hint}. Builtins strategies can use: "
                             f"{', '.join(sorted(n for n in provided if n[0] != '_'))}.",
                             "builtin"))
    return issues


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def check_strings(tree: ast.Module) -> list[ValidationIssue]:
    """String or bytes constants containing '__' (they can hide dunders); docstrings excepted."""
    docs = _docstrings(tree)
    return [_issue(node, "Strings containing '__' are not allowed (they can hide dunder "
                   "access); rename or reword the text.", "dunder-string")
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
            and ("__" in node.value if isinstance(node.value, str) else b"__" in node.value)
            and id(node) not in docs]


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def check_stores(tree: ast.Module, imported: set[str]) -> list[ValidationIssue]:
    """Stores into imported names (monkeypatching) and decorators."""
    issues = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(
                node.ctx, (ast.Store, ast.Del)):
            root = _root_name(node)
            if root in imported:
                issues.append(_issue(node, f"Changing '{root}' (an imported module, class or "
                                     "function) is not allowed; keep your own values in "
                                     "variables or on self.", "import-store"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            issues += [_issue(d, f"Decorators are not allowed (on '{node.name}'); call the "
                              "function directly instead.", "decorator")
                       for d in node.decorator_list]
    return issues


def _signature_warning(cls: ast.ClassDef, method: ast.FunctionDef) -> list[ValidationIssue]:
    args = method.args
    required = len(args.posonlyargs) + len(args.args) - len(args.defaults)
    if required <= 1 and not [a for a, d in zip(args.kwonlyargs, args.kw_defaults,
                                                 strict=True) if d is None]:
        return []
    return [_issue(method, f"{cls.name}.{method.name}() takes arguments besides self; "
                   f"backtesting.py calls it with none. Use `def {method.name}(self):`.",
                   "strategy-methods", Severity.WARNING)]


def _listed(classes: list[strategy_class.StrategyClass]) -> str:
    return ", ".join(f"{c.node.name} (line {c.node.lineno})" for c in classes)


def check_strategy_class(tree: ast.Module, modules: dict[str, str]) -> list[ValidationIssue]:
    """Exactly one runnable strategy class: the most-derived concrete subclass of
    backtesting.py's Strategy, SignalStrategy or TrailingStrategy
    (core.strategies.strategy_class)."""
    classes = strategy_class.strategy_classes(tree, modules)
    if not classes:
        return [ValidationIssue(
            severity=Severity.ERROR, line=1, col=1, rule="strategy-class",
            message="No Strategy subclass found. Add `from backtesting import Strategy` and "
                    "`class MyStrategy(Strategy):` with init() and next() methods (subclasses of "
                    "backtesting.lib's SignalStrategy and TrailingStrategy count too).")]
    leaves, concrete = strategy_class.runnable(classes)
    if len(concrete) > 1:
        return [_issue(c.node, f"Found {len(concrete)} strategy classes the lab could run: "
                       f"{_listed(concrete)}. Which one should run? Keep that one and delete the "
                       "others, or make it derive from them (the lab runs the most-derived "
                       "class).", "strategy-class") for c in concrete[1:]]
    cls = concrete[0] if concrete else leaves[-1]
    when = {"init": "called once before the first bar", "next": "called on every bar"}
    issues = [_issue(cls.node, f"Strategy '{cls.node.name}' has no {m}() method, written or "
                     f"inherited; add `def {m}(self):` ({when[m]}).", "strategy-methods")
              for m in strategy_class.REQUIRED if m not in cls.methods]
    for name in strategy_class.REQUIRED:
        if name in cls.own:
            issues += _signature_warning(cls.node, cls.own[name])
    return issues


def check_tree(tree: ast.Module) -> list[ValidationIssue]:
    """Every AST rule over one parsed, size-checked module."""
    modules, imported, issues = check_imports(tree)
    issues += check_attributes(tree, modules)
    issues += check_names(tree)
    issues += check_builtins(tree)
    issues += check_strings(tree)
    issues += check_stores(tree, imported)
    issues += check_strategy_class(tree, modules)
    return issues
