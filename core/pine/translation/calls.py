"""Function-call half of the Pine -> Python translator (a part of translator.Translator).

Maps ta.*, math.*, str.*, array.*, input.*, strategy.* and user functions to runtime calls with
arguments normalised to Pine's parameter order; refuses what is not supported, naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.pine.translation import catalog as cat
from core.pine.syntax import nodes as n
from core.pine.translation.codegen import dotted, literal

if TYPE_CHECKING:
    from core.pine.translation.translator import Translator

_CASTS = {"int": "as_int", "float": "as_float", "bool": "as_bool"}
ORDER_CALLS = frozenset({"entry", "order", "close", "close_all", "exit"})  # place orders
_NA_FUNCS = {"na": "isna", "nz": "nz"}


class CallCompiler:
    """Call rules of one Translator ``tr``: arguments compile through ``tr.exprs``."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr

    def code(self, node: n.Node) -> str:
        """Python code of the expression ``node``."""
        return self.tr.exprs.expr(node)[0]

    def bind(self, node: n.Call, signature: tuple[str, ...], what: str) -> dict[str, n.Node]:
        """Pine arguments of ``node`` by parameter name (positional ones in signature order)."""
        bound: dict[str, n.Node] = {}
        for i, arg in enumerate(node.args):
            if arg.name:
                if arg.name not in signature:
                    raise self.tr.fail(f"{what}() has no parameter '{arg.name}'", arg)
                bound[arg.name] = arg.value
            elif i < len(signature):
                bound[signature[i]] = arg.value
            else:
                raise self.tr.fail(f"too many arguments for {what}()", arg)
        return bound

    def positional(self, node: n.Call, signature: tuple[str, ...], what: str) -> list[str]:
        """Python codes of the bound arguments in signature order (stops at the first gap)."""
        bound = self.bind(node, signature, what)
        codes = []
        for name in signature:
            if name not in bound:
                if any(later in bound for later in signature[signature.index(name) + 1:]):
                    codes.append("None")
                    continue
                break
            codes.append(self.code(bound[name]))
        return codes

    def call(self, node: n.Call) -> tuple[str, bool, bool]:
        path = dotted(node.func)
        if path is None:
            raise self.tr.fail("only named functions can be called", node)
        head, _, rest = path.partition(".")
        target = self.tr.scope.lookup(head)
        if target is not None and rest:
            return self.method_call(node, target, head, rest)
        if path in self.tr.functions:
            return self.user_call(node, path)
        handler = {"ta": self.ta_call, "strategy": self.strategy_call, "math": self.math_call,
                   "input": self.input_ref, "array": self.array_call, "str": self.str_call,
                   "request": self.refuse, "ticker": self.refuse}.get(head)
        if handler is not None:
            return handler(node, rest)
        return self.plain_call(node, path)

    def refuse(self, node: n.Call, rest: str) -> tuple[str, bool, bool]:
        path = dotted(node.func)
        raise self.tr.fail(f"{path}() is not supported (only the chart's own symbol and "
                           "timeframe can be used)", node)

    def plain_call(self, node: n.Call, path: str) -> tuple[str, bool, bool]:
        if path in _NA_FUNCS:
            self.tr.use(_NA_FUNCS[path])
            args = [self.code(a.value) for a in node.args]
            return f"{_NA_FUNCS[path]}({', '.join(args)})", path == "na", True
        if path == "fixnan":
            self.tr.use("ta_fixnan")
            return f"ta_fixnan({self.tr.site()}, {self.code(node.args[0].value)})", False, True
        if path in _CASTS:
            self.tr.use(_CASTS[path])
            return f"{_CASTS[path]}({self.code(node.args[0].value)})", path == "bool", True
        if path == "string" or path == "str":
            return f"str({self.code(node.args[0].value)})", False, True
        if path == "timestamp":
            joined = ", ".join(self.code(a.value) for a in node.args)
            return f"rt.timestamp({joined})", False, True
        if path in cat.CALENDAR:
            return f"rt.calendar({path!r}, {self.code(node.args[0].value)})", False, True
        if path == "input":
            return self.input_ref(node, "")
        if path in cat.IGNORED_CALLS or path.split(".")[0] in cat.DRAWING_NAMESPACES:
            self.tr.use("na")
            return "na", False, True
        if path in ("indicator", "study", "library"):
            raise self.tr.fail(f"{path}() scripts cannot be backtested; declare strategy()", node)
        raise self.tr.fail(f"unknown or unsupported function '{path}'", node)

    def ta_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        signature = cat.TA_SIGNATURES.get(name)
        if signature is None:
            raise self.tr.fail(f"ta.{name}() is not supported", node)
        self.tr.use(f"ta_{name}")
        args = self.positional(node, signature, f"ta.{name}")
        if name in ("highest", "lowest", "highestbars", "lowestbars") and len(node.args) == 1:
            args = [args[0]]
        if name in ("pivothigh", "pivotlow") and len(node.args) == 2:
            args = [self.code(a.value) for a in node.args]
        lead = [self.tr.site(), "bar"] if name in cat.BAR_FUNCTIONS else [self.tr.site()]
        return f"ta_{name}({', '.join([*lead, *args])})", name in cat.BOOL_TA, True

    def math_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        if name == "sum":
            self.tr.use("ta_msum")
            args = self.positional(node, ("source", "length"), "math.sum")
            return f"ta_msum({', '.join([self.tr.site(), *args])})", False, True
        self.tr.use("pmath")
        args = [self.code(a.value) for a in node.args]
        if name == "round_to_mintick":
            args.append("rt.syminfo.mintick")
        return f"pmath.{name}({', '.join(args)})", False, True

    def str_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        self.tr.use("pstr")
        args = [self.code(a.value) for a in node.args]
        return f"pstr.{name}({', '.join(args)})", False, True

    def array_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        self.tr.use("parray")
        args = [self.code(a.value) for a in node.args]
        if name.startswith("new") or name == "from":
            if name == "from":
                return "[" + ", ".join(args) + "]", False, True
            return f"parray.new({', '.join(args)})", False, True
        return f"parray.{name}({', '.join(args)})", False, True

    def method_call(self, node: n.Call, target: str, head: str,
                    rest: str) -> tuple[str, bool, bool]:
        if "." in rest:
            raise self.tr.fail(f"'{head}.{rest}' is not supported", node)
        self.tr.use("parray")
        args = [target, *(self.code(a.value) for a in node.args)]
        return f"parray.{rest}({', '.join(args)})", False, True

    def user_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        func = self.tr.functions[name]
        signature = tuple(p.name for p in func.params)
        bound = self.bind(node, signature, name)
        args = [self.tr.site()]
        for param in func.params:
            if param.name in bound:
                args.append(self.code(bound[param.name]))
            elif param.default is not None:
                args.append(self.code(param.default))
            else:
                raise self.tr.fail(f"missing argument '{param.name}' for {name}()", node)
        return f"f_{name}({', '.join(args)})", name in self.tr.bool_functions, True

    def strategy_call(self, node: n.Call, name: str) -> tuple[str, bool, bool]:
        book, _, field = name.partition(".")
        if book in ("closedtrades", "opentrades") and field in cat.TRADE_FIELDS:
            self.tr.alias("strategy")
            index = self.code(node.args[0].value) if node.args else "0"
            return f"strategy.trade_field({book!r}, {field!r}, {index})", False, True
        signature = cat.STRATEGY_SIGNATURES.get(name)
        if signature is None:
            raise self.tr.fail(f"strategy.{name}() is not supported", node)
        self.tr.alias("strategy")
        bound = self.bind(node, signature, f"strategy.{name}")
        parts = []
        for i, param in enumerate(signature):
            if param not in bound or param in cat.DROPPED_ARGS or param == "when":
                continue
            code = self.code(bound[param])
            positional = name.startswith("risk.") or (i == 0 and param == "id")
            parts.append(code if positional else f"{param}={code}")
        # order calls name their Pine line, so a refused order can be traced to it
        head = f"strategy.at({node.line})" if name in ORDER_CALLS else "strategy"
        call = f"{head}.{name}({', '.join(parts)})"
        if "when" in bound:
            self.tr.pending_when = self.tr.exprs.cond(bound["when"])
        return call, False, True

    def input_ref(self, node: n.Call, kind: str) -> tuple[str, bool, bool]:
        """``self.<param>`` for an input.* call (registers the parameter)."""
        name, is_source = self.tr.inputs.register_input(node, kind)
        if is_source:
            return f"rt.input_source(self.{name})", False, True
        return f"self.{name}", kind == "bool", True

    def literal_or_none(self, node: n.Node | None) -> object:
        return None if node is None else self.tr.inputs.constant(node)

    def site_literal(self, value: object) -> str:
        return literal(value)
