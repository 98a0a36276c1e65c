"""Which names starting with '_' strategy code may use, and the compiler policy enforcing it.

backtesting.py users write ``self._done``, ``class _Base(Strategy)`` and ``_helper()`` all the
time; plain RestrictedPython refuses every name starting with '_'. PineOpt allows a
single-underscore name unless it can reach something the sandbox or the framework owns. Refused,
in source and at run time:

- dunders and any name containing '__' (``__class__``, ``__globals__``, name-mangled
  ``_Strategy__params``): the introspection routes out of every Python sandbox;
- names ending in '_' (``_getattr_``, ``_write_``, ``_print_``...), ``_print`` and ``_tmpN``:
  RestrictedPython's guard hooks and temporaries; defining one would replace a guard;
- backtesting.py's own private attributes of a Strategy, ``RESERVED_STRATEGY_ATTRIBUTES``
  (``_broker``, ``_data``, ``_indicators``, ``_params``, ...): they hold the broker's cash and
  order book and the whole price frame (look-ahead), which a strategy must not change or read.

A private attribute is allowed in source only on the strategy's own objects (``self._x``,
``cls._x``, ``MyClass._x``); at run time sandbox.policy reads it only from instances of the
strategy's own classes. validation and the sandbox compile with the same ``StrategyTransformer``,
so they agree. Imports only the standard library and RestrictedPython (loads inside the sandbox).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from RestrictedPython.transformer import RestrictingNodeTransformer

# Every private attribute backtesting.py 0.6.6 gives a Strategy (class and instance, Strategy,
# SignalStrategy, TrailingStrategy); tests/compat checks the list against the installed library.
RESERVED_STRATEGY_ATTRIBUTES = frozenset({
    "_broker", "_data", "_indicators", "_params", "_check_params", "_FULL_EQUITY", "_abc_impl",
})
_HOOK = re.compile(r"_tmp\d*|_print")  # RestrictedPython's generated names
# Trusted subclasses the engine (progress, sizing) and the lookahead recorder wrap strategies in.
FRAMEWORK_MODULES = frozenset({"backtesting.backtesting", "backtesting.lib", "core.engine.backtest",
                               "core.engine.batch", "builtins"})


def refusal(name: str) -> str | None:
    """Why the '_'-prefixed ``name`` is refused to strategy code, or None when it is allowed.

    Names not starting with '_' (and '_' itself) are not this module's business: None.
    """
    if not name.startswith("_") or name == "_":
        return None
    if name.startswith("__") or "__" in name:
        return ("names with a double underscore (dunders and name-mangled privates) reach "
                "Python's and the framework's internals")
    if name.endswith("_") or _HOOK.fullmatch(name):
        return "it is reserved for the sandbox's own guards"
    if name in RESERVED_STRATEGY_ATTRIBUTES:
        return ("it is backtesting.py's own private Strategy attribute (broker, data, "
                "indicators or parameters); use self.data, self.position, self.trades, "
                "self.orders and self.equity instead")
    return None


def private_allowed(name: str) -> bool:
    """True for a '_'-prefixed name strategy code may define and use (``_done``, ``_Base``)."""
    return name.startswith("_") and name != "_" and refusal(name) is None


def is_own_object(obj: Any, module_name: str) -> bool:
    """True if ``obj`` is a class of the strategy module, or an instance of one, built only on
    the strategy's classes, backtesting.py's Strategy classes and ``object``."""
    cls = obj if isinstance(obj, type) else type(obj)
    mro = cls.__mro__
    own = [c for c in mro if c.__module__ == module_name]
    others = [c for c in mro if c.__module__ != module_name]
    return bool(own) and all(c.__module__ in FRAMEWORK_MODULES and (
        c.__module__ != "builtins" or c is object) for c in others)


class StrategyTransformer(RestrictingNodeTransformer):
    """RestrictedPython's compiler policy, allowing the private names ``refusal`` allows."""

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        """Accept allowed private names; everything else goes through RestrictedPython."""
        if name is not None and private_allowed(name):
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Attribute(self, node: ast.Attribute) -> Any:  # noqa: N802 - ast visitor name
        """Rewrite ``a._x`` like any attribute (through the guards) when ``_x`` is allowed."""
        name = node.attr
        if not private_allowed(name):
            return super().visit_Attribute(node)
        node.attr = "p" + name  # a public stand-in, so the base rewrite raises no error
        new = super().visit_Attribute(node)
        if isinstance(new, ast.Call):  # load: _getattr_(a, "p_x")
            new.args[1] = ast.copy_location(ast.Constant(name), new)
        elif isinstance(new, ast.Attribute):  # store / delete: _write_(a).p_x
            new.attr = name
        return new
