"""The single list of what untrusted strategy code may import and touch.

core.strategies.validation checks source against these lists statically (security.md A3-A7);
sandbox.child enforces the same lists at run time through RestrictedPython guards (B1-B5): a guarded
getattr that refuses dunders, the attribute deny-list and module objects off the allow-list; a write
guard that refuses modules, classes and library objects; a guarded ``__import__``; a capped
print collector. Imports only the standard library and RestrictedPython so it loads inside the
sandbox.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

from sandbox.policy_names import MODULE_NAMES, SELF_LISTED

# Full module names a strategy may import (prefix match is NOT implied: list each one).
ALLOWED_MODULES = frozenset({
    "math", "datetime", "decimal", "re", "statistics", "functools", "itertools", "collections",
    "numpy", "numpy.linalg", "numpy.random", "pandas",
    "scipy", "scipy.stats", "scipy.signal",
    "ta", "ta.trend", "ta.momentum", "ta.volatility", "ta.volume", "ta.others",
    "talib", "talib.abstract",
    "backtesting", "backtesting.lib", "backtesting.test",
    "core.pine.runtime", "core.sizing",
})
# What `from backtesting import X` may take: the Strategy base class, never Backtest.
ALLOWED_FROM = {"backtesting": frozenset({"Strategy"})}
# Distribution names users write in "dependencies" that differ from their module name.
DEPENDENCY_ALIASES = {"ta-lib": "talib", "backtesting.py": "backtesting", "numpy": "numpy",
                      "pandas": "pandas", "scipy": "scipy", "ta": "ta"}

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
    "open", "write_text", "write_bytes", "unlink", "rmdir", "mkdir", "chmod", "dump", "dumps",
    "FractionalBacktest", "MultiBacktest", "SharedMemoryManager", "currentframe",
    "compute_stats", "patch", "plot_heatmaps",
})
FORBIDDEN_ATTRIBUTE_PREFIXES = ("read_", "to_", "_")
# Conversions that only build in-memory values; every other to_* (file writers) stays refused.
SAFE_TO_ATTRIBUTES = frozenset({
    "to_numpy", "to_list", "to_frame", "to_series", "to_datetime", "to_timedelta", "to_numeric",
    "to_period", "to_timestamp", "to_pydatetime", "to_offset", "to_dict", "to_flat_index",
})
# Top-level modules whose classes and functions strategy code may never hold (B1).
DENIED_ROOT_MODULES = frozenset({
    "os", "posix", "nt", "sys", "subprocess", "pathlib", "io", "_io", "shutil", "socket",
    "ctypes", "_ctypes", "pickle", "_pickle", "marshal", "importlib", "codecs", "tempfile",
    "glob", "urllib", "http", "ftplib", "multiprocessing", "threading", "_thread", "signal",
    "resource", "inspect", "gc", "types", "code", "runpy", "posixpath", "sysconfig", "site",
    "zipfile", "tarfile", "sqlite3", "webbrowser", "asyncio", "fcntl", "mmap", "select",
    "selectors", "pty", "tty", "atexit", "weakref", "linecache", "tokenize", "ast", "dis",
})

MAX_SOURCE_BYTES = 512 * 1024  # no strategy is this big; a bigger source is refused as too large
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


def module_name_allowed(module: str, name: str) -> bool:
    """True if strategy code may take ``name`` from the allowed module ``module`` (deny by default).

    An allowed submodule always passes; otherwise the name must be on the module's reviewed
    list (sandbox.policy_names) and pass attribute_allowed. Our own modules list their __all__.
    """
    if module_allowed(f"{module}.{name}"):
        return True
    if not module_allowed(module) or not attribute_allowed(name):
        return False
    if module in SELF_LISTED:
        own = sys.modules.get(module) or importlib.import_module(module)
        return name in getattr(own, "__all__", ())
    return name in MODULE_NAMES.get(module, frozenset())


def attribute_allowed(name: str) -> bool:
    """True if an attribute of this name may be read or written by strategy code."""
    if name in FORBIDDEN_ATTRIBUTES:
        return False
    if name in SAFE_TO_ATTRIBUTES:
        return True
    return not any(name.startswith(p) for p in FORBIDDEN_ATTRIBUTE_PREFIXES)


def dependency_allowed(requirement: str) -> bool:
    """True if a declared dependency ("pandas>=2", "TA-Lib") names an allowed top-level module."""
    name = requirement.strip().lower()
    for stop in ("[", "=", "<", ">", "!", "~", ";", " "):
        name = name.split(stop, 1)[0]
    name = DEPENDENCY_ALIASES.get(name, name)
    return module_allowed(name)


class PolicyViolation(Exception):
    """Raised at run time when strategy code touches something the policy forbids."""


def origin_root(value: Any) -> str:
    """Top-level module a class or function comes from ('' for anything else)."""
    module = getattr(value, "__module__", None) if isinstance(
        value, (type, types.FunctionType, types.BuiltinFunctionType)) else None
    return module.split(".", 1)[0] if isinstance(module, str) else ""


def check_value(value: Any, where: str) -> Any:
    """Return ``value`` unless it is a module off the allow-list or comes from a denied module."""
    if isinstance(value, types.ModuleType) and not module_allowed(value.__name__):
        raise PolicyViolation(f"{where} reaches module {value.__name__!r}, which is not allowed")
    if origin_root(value) in DENIED_ROOT_MODULES:
        raise PolicyViolation(f"{where} reaches {value!r}, which is not allowed")
    return value


def _library_internal(name: str) -> bool:
    """True for an already imported module inside an allowed library (numpy._core._methods).

    C code of a library called from strategy code (``ndarray.mean()``) imports through the
    strategy's builtins with a list ``fromlist``; the strategy's own import statements pass a
    tuple or None, and it cannot name ``__import__``. Only modules already loaded qualify.
    """
    root = name.split(".", 1)[0]
    return name in sys.modules and root != name and module_allowed(root) and not root.startswith(
        "core")


def _guarded_import(name: str, globals_: Any = None, locals_: Any = None,
                    fromlist: Any = (), level: int = 0) -> types.ModuleType:
    if level != 0:
        raise PolicyViolation("relative imports are not allowed")
    if isinstance(fromlist, list) and _library_internal(name):
        return sys.modules[name]  # a library's own C code (np.mean) re-importing its internals
    if not module_allowed(name):
        raise PolicyViolation(f"import of {name!r} is not allowed")
    allowed_from = ALLOWED_FROM.get(name)
    module = importlib.import_module(name)
    for item in fromlist or ():
        if item == "*" or (allowed_from is not None and item not in allowed_from) or (
                not attribute_allowed(item) and not module_allowed(f"{name}.{item}")):
            raise PolicyViolation(f"'from {name} import {item}' is not allowed")
        if module_allowed(f"{name}.{item}"):  # a submodule: import it, as Python's import does
            importlib.import_module(f"{name}.{item}")
        check_value(getattr(module, item, None), f"'from {name} import {item}'")
        if not module_name_allowed(name, item):
            raise PolicyViolation(f"'from {name} import {item}' is not allowed: '{item}' is not "
                                  f"on the reviewed list of {name} names strategies may use")
    if fromlist:
        return module
    return importlib.import_module(name.split(".")[0])


def _make_decide(strategy_module: str) -> Callable[[Any, str], None]:
    """The uncached allow decision of _make_getattr's guarded getattr, for one strategy module."""
    from sandbox import names

    def decide(obj: Any, name: str) -> None:
        """Return when strategy code may read ``name`` of ``obj``; raise PolicyViolation if not."""
        if names.private_allowed(name) and names.is_own_object(obj, strategy_module):
            return
        if not attribute_allowed(name):
            raise PolicyViolation(f"access to attribute {name!r} is not allowed")
        if isinstance(obj, types.ModuleType) and not module_name_allowed(obj.__name__, name):
            raise PolicyViolation(f"{obj.__name__}.{name} is not allowed: it is not on the "
                                  f"reviewed list of {obj.__name__} names strategies may use")
    return decide


def _make_getattr(strategy_module: str) -> Any:
    """The guarded getattr, which also reads allowed private attributes (sandbox.names) of the
    strategy's own objects.

    The allow decision is cached per (class, name), or (module, name) for a module: it depends
    only on the name (frozen lists), the class's MRO and a module's name, none of which strategy
    code can change (no dunders, no writes to classes or modules). The value read is checked on
    every access, skipping only values of a type that can never be a module, class or function
    (``_inert_type``). The caches live in this closure: one per strategy namespace.
    """
    decide = _make_decide(strategy_module)
    allowed: set[tuple[Any, str]] = set()
    inert: set[type] = set()
    owners, read = (type, types.ModuleType), builtins.getattr  # bound once: this runs per access

    def guarded(obj: Any, name: Any, *default: Any) -> Any:
        if type(name) is not str:  # noqa: E721 - a str subclass could fake its hash
            return _safe_getattr(obj, name, *default)
        owner = obj if isinstance(obj, owners) else type(obj)
        if (owner, name) not in allowed:
            decide(obj, name)
            allowed.add((owner, name))
        value = read(obj, name, default[0]) if default else read(obj, name)
        cls = type(value)
        if cls in inert:
            return value
        check_value(value, f"attribute {name!r}")
        if _inert_type(cls):
            inert.add(cls)
        return value
    return guarded


# Built-in types whose own __getattribute__ finds __class__ on the type first (generic lookup).
_TYPE_FIRST_GETATTR = frozenset({object, float, int, bool, str, bytes, tuple, list, dict, set,
                                 frozenset, complex, types.MethodType})


def _inert_type(cls: type) -> bool:
    """True when no instance of ``cls`` can pass for a module, class or function in isinstance:
    not a subclass of one, and no ``__class__`` or ``__getattribute__`` of its own in its MRO
    beyond the built-ins' type-first lookup (the only ways an instance's ``__class__`` can
    differ from its type)."""
    if issubclass(cls, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        return False
    return not any("__class__" in vars(c) or "__getattribute__" in vars(c)
                   for c in cls.__mro__ if c not in _TYPE_FIRST_GETATTR)


def _safe_getattr(obj: Any, name: Any, *default: Any) -> Any:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise PolicyViolation(f"access to attribute {name!r} is not allowed")
    if isinstance(obj, types.ModuleType) and not module_name_allowed(obj.__name__, name):
        raise PolicyViolation(f"{obj.__name__}.{name} is not allowed: it is not on the reviewed "
                              f"list of {obj.__name__} names strategies may use")
    value = builtins.getattr(obj, name, *default[:1])
    return check_value(value, f"attribute {name!r}")


class _ItemWriter:
    """Lets strategy code set items of numpy/pandas containers but none of their attributes."""

    __slots__ = ("_target",)
    _target: Any

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]

    def __setattr__(self, name: str, value: Any) -> None:
        raise PolicyViolation(f"changing attribute {name!r} of "
                              f"{type(self._target).__name__} objects is not allowed")


class _StopWriter(_ItemWriter):
    """Lets strategy code move stop-loss / take-profit of a backtesting Trade or Order only."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ("sl", "tp"):
            raise PolicyViolation(f"only .sl and .tp of a trade or order can be changed, "
                                  f"not {name!r}")
        setattr(self._target, name, value)


_STOP_TYPES = ("backtesting.backtesting.Trade", "backtesting.backtesting.Order")


def _make_write_guard(strategy_module: str) -> Any:
    def guard(obj: Any) -> Any:
        if isinstance(obj, (types.ModuleType, type, types.FunctionType,
                            types.BuiltinFunctionType, types.MethodType)):
            raise PolicyViolation("changing modules, classes or functions is not allowed")
        if isinstance(obj, (list, dict, set, bytearray)):
            return obj
        cls = type(obj)
        if any(getattr(c, "__module__", "") == strategy_module for c in cls.__mro__):
            return obj  # instances of the strategy's own classes (the Strategy itself)
        if f"{cls.__module__}.{cls.__qualname__}" in _STOP_TYPES:
            return _StopWriter(obj)
        if cls.__module__.split(".", 1)[0] in ("numpy", "pandas"):
            return _ItemWriter(obj)
        raise PolicyViolation(f"changing {cls.__name__} objects is not allowed")
    return guard


def strategy_builtins() -> dict[str, Any]:
    """The builtins a strategy module sees in the child: the one table validation checks
    names against too (core.strategies.rules), so the two cannot disagree."""
    from RestrictedPython import safe_builtins

    names = {k: v for k, v in safe_builtins.items()
             if k not in FORBIDDEN_NAMES and not k.startswith("_")}
    for name in _EXTRA_BUILTINS:
        names[name] = getattr(builtins, name)
    names["__import__"] = _guarded_import
    names["super"] = builtins.super
    names["__build_class__"] = builtins.__build_class__
    return names


def restricted_globals(*, module_name: str, printer: Any) -> dict[str, Any]:
    """The globals a strategy module executes with (RestrictedPython guards + allow-list).

    ``printer`` is the _print_ factory (a capped collector class). No module objects are
    exposed through the builtins (B5).
    """
    from RestrictedPython import Guards
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter

    return {
        "__builtins__": strategy_builtins(),
        "__name__": module_name,
        "__metaclass__": type,
        "_getattr_": _make_getattr(module_name),
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
