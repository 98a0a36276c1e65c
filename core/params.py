"""Strategy parameters: extraction from source (never executed) and checking of chosen values.

Python: class attributes of the Strategy subclass whose value is a literal int, float, bool or
str become ParameterDefs; the type is the default's type. A trailing comment declares a
description and optional bounds, and keeps the file runnable in plain backtesting.py:

    fast = 20  # Fast MA length; range: 5..100
    stop = 0.02  # Stop distance as a fraction; range: 0.005..0.1; step: 0.005
    mode = "long"  # Direction; options: long, short, both

Pine: input.* calls, provided by the Pine translation.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import replace
from typing import Any

from core.errors import ConfigError, TranslationError
from core.model import BacktestConfig, Language, ParameterDef

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
_RANGE = re.compile(r"range:\s*(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)")
_STEP = re.compile(r"step:\s*([\d.eE+-]+)")
_OPTIONS = re.compile(r"options:\s*([^;]+)")


def _comment_parts(line: str) -> tuple[str, dict[str, Any]]:
    if "#" not in line:
        return "", {}
    comment = line.split("#", 1)[1].strip()
    extra: dict[str, Any] = {}
    if m := _RANGE.search(comment):
        extra["min"], extra["max"] = float(m.group(1)), float(m.group(2))
    if m := _STEP.search(comment):
        extra["step"] = float(m.group(1))
    if m := _OPTIONS.search(comment):
        extra["options"] = tuple(o.strip() for o in m.group(1).split(",") if o.strip())
    description = re.split(r";\s*(range|step|options):", comment)[0].strip()
    return description, extra


def extract_python(source: str) -> list[ParameterDef]:
    """ParameterDefs of the first Strategy subclass in ``source`` (empty if none or unparsable)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    lines = source.splitlines()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any((isinstance(b, ast.Name) and b.id == "Strategy")
                   or (isinstance(b, ast.Attribute) and b.attr == "Strategy") for b in node.bases):
            continue
        out = []
        for stmt in node.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Constant)):
                continue
            value = stmt.value.value
            kind = _TYPES.get(type(value))
            name = stmt.targets[0].id
            if kind is None or name.startswith("_"):
                continue
            description, extra = _comment_parts(lines[stmt.lineno - 1])
            out.append(ParameterDef(name=name, type=kind, default=value, description=description,
                                    **extra))
        return out
    return []


def extract(source: str, language: Language) -> list[ParameterDef]:
    """Parameters of a strategy in either language (Pine: its input.* calls)."""
    if language is Language.PINE:
        from core import pine

        try:
            return list(pine.translate(source).params)
        except TranslationError:
            return []
    return extract_python(source)


def coerce(param: ParameterDef, raw: Any) -> Any:
    """Convert a value (CLI text or widget value) to the parameter's type and check bounds.

    Raises ConfigError naming the parameter, the bad value and the allowed range.
    """
    try:
        if param.type == "bool":
            if isinstance(raw, str):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                value: Any = raw.lower() in ("true", "1", "yes")
            else:
                value = bool(raw)
        elif param.type == "int":
            as_float = float(raw)
            if as_float != int(as_float):
                raise ValueError(raw)
            value = int(as_float)
        elif param.type == "float":
            value = float(raw)
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Parameter {param.name}={raw!r} is not a valid {param.type}; the "
                          f"default is {param.default!r}.")
    if param.type in ("int", "float"):
        low = param.min if param.min is not None else float("-inf")
        high = param.max if param.max is not None else float("inf")
        if not low <= value <= high:
            raise ConfigError(f"Parameter {param.name}={value} is outside its range "
                              f"{param.min:g}..{param.max:g}; choose a value inside it.")
    if param.options and value not in param.options:
        raise ConfigError(f"Parameter {param.name}={value!r} is not one of "
                          f"{', '.join(map(str, param.options))}.")
    return value


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
