"""Strategy parameters: extraction from source (never executed) and checking of chosen values.

Python convention (documented for users on the Strategies page and in every example):
class attributes of the Strategy subclass whose value is a literal int, float, bool or str
become ParameterDefs. The type is the default's type (``20`` -> int, ``0.5`` -> float,
``True`` -> bool, ``"long"`` -> str). A trailing comment gives a description and, optionally,
bounds, a step and a list of options, separated by ``;``. It is only a comment, so the file
stays runnable in plain backtesting.py:

    fast = 20  # Fast MA length; range: 5..100
    stop = 0.02  # Stop distance as a fraction; range: 0.005..0.1; step: 0.005
    mode = "long"  # Direction; options: long, short, both
    use_filter = True  # Only trade with the daily trend

Names starting with ``_`` are not parameters. Pine: input.* calls, from the Pine translation.
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import re
from dataclasses import replace
from typing import Any

from core.errors import ConfigError, TranslationError
from core.model import BacktestConfig, Language, ParameterDef

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"range:\s*({_NUMBER})\s*\.\.\s*({_NUMBER})")
_STEP = re.compile(rf"step:\s*({_NUMBER})")
_OPTIONS = re.compile(r"options:\s*([^;]+)")
_TYPE_WORDS = {"int": "whole number", "float": "number", "bool": "true/false", "str": "text"}


def _options(raw: str, kind: str) -> tuple[Any, ...]:
    items = [o.strip() for o in raw.split(",") if o.strip()]
    try:
        if kind == "int":
            return tuple(int(float(o)) for o in items)
        if kind == "float":
            return tuple(float(o) for o in items)
    except ValueError:
        return ()
    return tuple(items)


def comment_parts(comment: str, kind: str) -> tuple[str, dict[str, Any]]:
    """(description, {min, max, step, options}) from a parameter's trailing comment text."""
    extra: dict[str, Any] = {}
    if m := _RANGE.search(comment):
        low, high = float(m.group(1)), float(m.group(2))
        extra["min"], extra["max"] = min(low, high), max(low, high)
    if m := _STEP.search(comment):
        extra["step"] = float(m.group(1))
    if (m := _OPTIONS.search(comment)) and (opts := _options(m.group(1), kind)):
        extra["options"] = opts
    description = re.split(r";?\s*\b(range|step|options):", comment)[0].strip(" ;")
    return description, extra


def _literal(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        return -node.operand.value
    return None


def _assignment(stmt: ast.stmt) -> tuple[str, Any] | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], ast.Name):
        return stmt.targets[0].id, _literal(stmt.value)
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, _literal(stmt.value)
    return None


def _strategy_classes(tree: ast.Module) -> list[ast.ClassDef]:
    """The class the lab runs (core.strategies.strategy_class) after the file's own ancestors of it,
    base first, so a subclass's value of a parameter overrides its parent's."""
    from core.strategies import strategy_class
    from core.strategies.rules import check_imports

    classes = strategy_class.strategy_classes(tree, check_imports(tree)[0])
    leaves, concrete = strategy_class.runnable(classes)
    chosen = (concrete or leaves)[:1]
    chain = [*reversed(strategy_class.ancestors(chosen[0])), chosen[0]] if chosen else []
    return [c.node for c in chain]


def _widened(p: ParameterDef) -> ParameterDef:
    """Bounds stretched to include the default, so a form can always show it."""
    if p.type not in ("int", "float"):
        return p
    low = p.default if p.min is not None and p.default < p.min else p.min
    high = p.default if p.max is not None and p.default > p.max else p.max
    return replace(p, min=low, max=high)


def extract_python(source: str, *, as_declared: bool = False) -> list[ParameterDef]:
    """ParameterDefs of the strategy class the lab runs, its own and those it inherits from the
    file's other classes (empty if none or unparsable).

    Bounds that exclude their own default are widened to include it (validation warns about
    them) unless ``as_declared``.
    """
    try:
        chain = _strategy_classes(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines = source.splitlines()
    found: dict[str, ParameterDef] = {}
    for stmt in (s for cls in chain for s in cls.body):
        assigned = _assignment(stmt)
        kind = _TYPES.get(type(assigned[1])) if assigned else None
        if assigned is None or kind is None or assigned[0].startswith("_"):
            continue
        name, value = assigned
        line = lines[stmt.lineno - 1] if stmt.lineno <= len(lines) else ""
        comment = line[stmt.end_col_offset:].partition("#")[2].strip() if (
            stmt.end_lineno == stmt.lineno) else ""
        description, extra = comment_parts(comment, kind)
        found[name] = ParameterDef(name=name, type=kind, default=value, description=description,
                                   **extra)
    out = list(found.values())
    return out if as_declared else [_widened(p) for p in out]


# Set by the lab, not the user: a Pine run's syminfo.mintick comes from the symbol's tick size
# (core.runs.pine_run.prepare_config). Still accepted from the CLI's --param for experiments.
INTERNAL_PARAMS = frozenset({"syminfo_mintick"})


def user_facing(defs: list[ParameterDef]) -> list[ParameterDef]:
    """The parameters a person tunes (INTERNAL_PARAMS left out)."""
    return [p for p in defs if p.name not in INTERNAL_PARAMS]


def extract(source: str, language: Language) -> list[ParameterDef]:
    """Parameters of a strategy in either language (Pine: its input.* calls)."""
    return list(_extracted(source, language))


@functools.lru_cache(maxsize=512)
def _extracted(source: str, language: Language) -> tuple[ParameterDef, ...]:
    """extract()'s result, kept per source (a pure function of the text; ParameterDefs are
    immutable): every run request checks its params against them, and the run picker labels
    every listed run with its changed parameters, on each rerun (a parse, or a Pine
    translation, each time before)."""
    if language is Language.PINE:
        from core.pine.translation import api as pine

        try:
            return tuple(pine.translate(source).params)
        except TranslationError:
            return ()
    return tuple(extract_python(source))


def _convert(param: ParameterDef, raw: Any) -> Any:
    if param.type == "bool":
        if isinstance(raw, str):
            if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.strip().lower() in ("true", "1", "yes")
        if not isinstance(raw, (bool, int)):
            raise ValueError(raw)
        return bool(raw)
    if param.type == "int":
        as_float = float(raw)
        if not math.isfinite(as_float) or as_float != int(as_float):
            raise ValueError(raw)
        return int(as_float)
    if param.type == "float":
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return value
    return str(raw)


def _bounds_text(param: ParameterDef) -> str:
    if param.min is not None and param.max is not None:
        return f"its range {param.min:g}..{param.max:g}"
    if param.min is not None:
        return f"its minimum {param.min:g}"
    return f"its maximum {param.max:g}"


def _number(value: float) -> str:
    """A value for a message: huge numbers (1e308 as an int has 309 digits) in short form."""
    return f"{float(value):g}" if abs(value) >= 1e15 else str(value)


def coerce(param: ParameterDef, raw: Any) -> Any:
    """Convert a value (CLI text or widget value) to the parameter's type and check bounds.

    Raises ConfigError naming the parameter, the bad value, the expected type or range.
    """
    try:
        value = _convert(param, raw)
    except (TypeError, ValueError, OverflowError):
        shown = _number(float(raw)) if isinstance(raw, (int, float)) else repr(raw)[:40]
        raise ConfigError(f"Parameter {param.name}={shown} is not a valid {param.type} "
                          f"({_TYPE_WORDS.get(param.type, param.type)}); the default is "
                          f"{param.default!r}.") from None
    if param.type in ("int", "float") and (
            (param.min is not None and value < param.min)
            or (param.max is not None and value > param.max)):
        raise ConfigError(f"Parameter {param.name}={_number(value)} is outside "
                          f"{_bounds_text(param)}; "
                          "choose a value inside it.")
    if param.options and value not in param.options:
        raise ConfigError(f"Parameter {param.name}={value!r} is not one of "
                          f"{', '.join(map(str, param.options))}.")
    return value


def definition_warnings(defs: list[ParameterDef]) -> list[tuple[str, str]]:
    """(name, message) for declared bounds that contradict their own default."""
    out = []
    for p in defs:
        if p.type in ("int", "float") and (
                (p.min is not None and p.default < p.min)
                or (p.max is not None and p.default > p.max)):
            out.append((p.name, f"The default {p.name} = {p.default} is outside "
                                f"{_bounds_text(p)}; fix the default or the range comment."))
    return out


def checked_config(config: BacktestConfig, source: str, language: Language) -> BacktestConfig:
    """The config with its params coerced to the declared types; unknown names refused."""
    defs = {p.name: p for p in extract(source, language)}
    clean = {}
    for name, raw in config.params.items():
        if name not in defs:
            close = difflib.get_close_matches(name, list(defs), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            known = ", ".join(defs) or "none"
            raise ConfigError(f"Unknown parameter '{name}'.{hint} Parameters: {known}.")
        clean[name] = coerce(defs[name], raw)
    return replace(config, params=clean)
