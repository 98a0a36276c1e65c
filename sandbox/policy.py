"""The single list of what untrusted strategy code may import and touch.

core.validation checks source against these lists statically; sandbox.child enforces the same
lists at run time through RestrictedPython guards and an import hook. Imports only the standard
library and RestrictedPython so it loads inside the sandbox.
"""

from __future__ import annotations

import builtins
import importlib
import types
from typing import Any

# Full module names a strategy may import (prefix match is NOT implied: list each one).
ALLOWED_MODULES = frozenset({
    "math", "datetime", "decimal", "re", "statistics", "functools", "itertools", "collections",
    "numpy", "pandas",
    "scipy", "scipy.stats", "scipy.signal",
    "ta", "ta.trend", "ta.momentum", "ta.volatility", "ta.volume", "ta.others",
    "talib", "talib.abstract",
    "backtesting", "backtesting.lib", "backtesting.test",
    "core.pine.runtime", "core.sizing",
})
# What `from backtesting import X` may take: the Strategy base class, never Backtest.
ALLOWED_FROM = {"backtesting": frozenset({"Strategy"})}

FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "globals",
    "locals", "vars", "dir", "type", "input", "breakpoint", "memoryview", "object", "help",
    "exit", "quit", "__import__", "importlib", "string", "super_", "classmethod", "staticmethod",
    "property", "id",
})
# Attribute names refused in source and at run time (security.md A5).
FORBIDDEN_ATTRIBUTES = frozenset({
    "os", "sys", "subprocess", "builtins", "ctypes", "ctypeslib", "f2py", "pickle", "io", "compat",
    "common", "stata", "core", "errors", "testing", "lib", "modules", "environ", "system", "popen",
    "fork", "to_csv", "to_pickle", "to_parquet", "to_sql", "to_excel", "to_hdf", "to_json",
    "to_html", "to_clipboard", "to_feather", "to_latex", "to_markdown", "to_xml", "to_stata",
    "load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
    "fromfile", "tofile", "memmap", "DataSource", "urlopen", "eval", "query", "format",
    "format_map", "vformat", "get_field", "Formatter", "plot", "optimize", "stdin", "secrets",
    "gi_frame", "gi_code", "cr_frame", "ag_frame", "f_back", "f_globals", "f_locals", "tb_frame",
    "tb_next", "func_globals", "mro", "register", "pipe", "apply", "agg", "aggregate",
    "transform", "applymap", "map", "style", "ufunc", "frompyfunc", "vectorize", "piecewise",
    "exec_", "system_info", "show_config", "info", "lookfor", "source", "who", "Backtest",
})
FORBIDDEN_ATTRIBUTE_PREFIXES = ("read_", "to_", "_")

MAX_SOURCE_BYTES = 10 * 1024 * 1024
MAX_PRINT_BYTES = 256 * 1024

# Builtins a legitimate strategy needs that RestrictedPython's safe_builtins lacks (A9).
_EXTRA_BUILTINS = ("min", "max", "sum", "enumerate", "zip", "sorted", "list", "dict", "set",
                   "any", "all", "map", "filter", "reversed", "tuple", "frozenset", "round", "abs",
                   "len", "range", "isinstance", "issubclass", "bool", "int", "float", "str",
                   "divmod", "pow", "iter", "next", "print", "Exception", "ValueError",
                   "TypeError", "KeyError", "IndexError", "ZeroDivisionError", "ArithmeticError",
                   "StopIteration", "NotImplementedError", "RuntimeError")


def module_allowed(name: str) -> bool:
    """True if ``name`` (a full dotted module name) is on the allow-list."""
    return name in ALLOWED_MODULES


def attribute_allowed(name: str) -> bool:
    """True if an attribute of this name may be read or written by strategy code."""
    if name in FORBIDDEN_ATTRIBUTES:
        return False
    return not any(name.startswith(p) for p in FORBIDDEN_ATTRIBUTE_PREFIXES)


class PolicyViolation(Exception):
    """Raised at run time when strategy code touches something the policy forbids."""


def _guarded_import(name: str, globals_: Any = None, locals_: Any = None,
                    fromlist: Any = (), level: int = 0) -> types.ModuleType:
    if level != 0:
        raise PolicyViolation("relative imports are not allowed")
    if not module_allowed(name):
        raise PolicyViolation(f"import of {name!r} is not allowed")
    allowed_from = ALLOWED_FROM.get(name)
    for item in fromlist or ():
        if item == "*":
            raise PolicyViolation(f"'from {name} import *' is not allowed")
        if allowed_from is not None and item not in allowed_from:
            raise PolicyViolation(f"'from {name} import {item}' is not allowed")
        if not attribute_allowed(item) and not module_allowed(f"{name}.{item}"):
            raise PolicyViolation(f"'from {name} import {item}' is not allowed")
    module = importlib.import_module(name)
    if fromlist:
        return module
    return importlib.import_module(name.split(".")[0])


def _safe_getattr(obj: Any, name: str, default: Any = None, getattr_: Any = builtins.getattr) -> Any:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed")
    value = getattr_(obj, name) if default is None else getattr_(obj, name, default)
    if isinstance(value, types.ModuleType) and not module_allowed(value.__name__):
        raise PolicyViolation(f"access to module {value.__name__!r} is not allowed")
    return value


def _make_write_guard(strategy_module: str) -> Any:
    def guard(obj: Any) -> Any:
        if isinstance(obj, (types.ModuleType, type)):
            raise PolicyViolation("changing modules or classes is not allowed")
        cls_module = getattr(type(obj), "__module__", "")
        if cls_module != strategy_module and not isinstance(obj, (list, dict, set)):
            # Instances of the user's own classes (the Strategy) may be written; library objects not.
            mro = getattr(type(obj), "__mro__", ())
            if not any(getattr(c, "__module__", "") == strategy_module for c in mro):
                raise PolicyViolation(
                    f"changing attributes of {type(obj).__name__} objects is not allowed")
        return obj
    return guard


def restricted_globals(*, module_name: str, printer: Any) -> dict[str, Any]:
    """The globals a strategy module executes with (RestrictedPython guards + allow-list).

    ``printer`` is the _print_ factory (a capped collector class).
    """
    from RestrictedPython import Guards, safe_builtins
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter

    names = dict(safe_builtins)
    for name in _EXTRA_BUILTINS:
        names[name] = getattr(builtins, name)
    names["__import__"] = _guarded_import
    names["super"] = builtins.super
    names["__build_class__"] = builtins.__build_class__
    return {
        "__builtins__": names,
        "__name__": module_name,
        "__metaclass__": type,
        "_getattr_": _safe_getattr,
        "_write_": _make_write_guard(module_name),
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": Guards.guarded_iter_unpack_sequence,
        "_unpack_sequence_": Guards.guarded_unpack_sequence,
        "_inplacevar_": _inplacevar,
        "_print_": printer,
        "_apply_": _apply,
    }


def _apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


_INPLACE = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    "**=": lambda a, b: a ** b, "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
    "^=": lambda a, b: a ^ b, "<<=": lambda a, b: a << b, ">>=": lambda a, b: a >> b,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise PolicyViolation(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)
