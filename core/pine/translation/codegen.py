"""Expression half of the Pine -> Python translator (a part of translator.Translator).

Each ``expr`` call returns (python_code, is_bool, atomic). User identifiers become ``v_<name>``,
literals go through repr(), strings never contain '__' as one literal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from core.pine.translation import catalog as cat
from core.pine.syntax import nodes as n

if TYPE_CHECKING:
    from core.pine.translation.translator import Translator

BLOCK_NODES = (n.If, n.Switch, n.ForTo, n.ForIn, n.While)
BlockNode = n.If | n.Switch | n.ForTo | n.ForIn | n.While
_NAMESPACE_CONSTANTS = ("shape.", "location.", "size.", "plot.", "display.", "extend.", "xloc.",
                        "yloc.", "position.", "text.", "font.", "hline.", "order.", "alert.",
                        "barmerge.", "session.", "format.", "scale.", "currency.", "adjustment.",
                        "dividends.", "earnings.", "splits.", "label.style", "line.style")


def literal(value: Any) -> str:
    """Python source of a literal; a string holding '__' is split so no constant contains it."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "float('nan')"
        return "float('inf')" if value > 0 else "(-float('inf'))"
    if isinstance(value, str) and "__" in value:
        parts = value.split("_")
        pieces = [p + "_" for p in parts[:-1]] + [parts[-1]]
        return "(" + " + ".join(repr(p) for p in pieces if p) + ")"
    return repr(value)


def dotted(node: n.Node) -> str | None:
    """'ta.sma' for Attribute(Name('ta'), 'sma'); None when the chain has a non-name base."""
    if isinstance(node, n.Name):
        return node.id
    if isinstance(node, n.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def has_state(node: Any) -> bool:
    """True if evaluating ``node`` advances per-call-site state (ta.*, user functions, [])."""
    if isinstance(node, n.Call):
        return True
    if isinstance(node, n.Subscript):
        return True
    if isinstance(node, tuple):
        return any(has_state(x) for x in node)
    if isinstance(node, n.Node):
        return any(has_state(getattr(node, f)) for f in node._fields)
    return False


class ExprCompiler:
    """Expression rules of one Translator ``tr``: its scope, helpers and call compiler."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr

    def cond(self, node: n.Node) -> str:
        """Python code of ``node`` as a bool (na -> False)."""
        code, is_bool, _ = self.expr(node)
        if is_bool:
            return code
        self.tr.use("truth")
        return f"truth({code})"

    def cond_operand(self, node: n.Node) -> str:
        """``cond(node)`` parenthesised when it is a compound expression."""
        code, is_bool, atomic = self.expr(node)
        if not is_bool:
            self.tr.use("truth")
            return f"truth({code})"
        return code if atomic else f"({code})"

    def operand(self, node: n.Node) -> str:
        code, _, atomic = self.expr(node)
        return code if atomic else f"({code})"

    def expr(self, node: n.Node) -> tuple[str, bool, bool]:
        """(code, is_bool, atomic) of an expression."""
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            if isinstance(node, BLOCK_NODES):
                raise self.tr.fail("an if/switch/for/while used as a value must be the whole "
                                   "value of a declaration or assignment", node)
            raise self.tr.fail(f"unsupported expression {type(node).__name__}", node)
        return method(node)

    def e_Constant(self, node: n.Constant) -> tuple[str, bool, bool]:
        return literal(node.value), isinstance(node.value, bool), True

    def e_Tuple(self, node: n.Tuple) -> tuple[str, bool, bool]:
        items = [self.expr(i)[0] for i in node.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")", False, True

    def e_Conditional(self, node: n.Conditional) -> tuple[str, bool, bool]:
        body, body_bool, _ = self.expr(node.body)
        orelse, else_bool, _ = self.expr(node.orelse)
        return f"{body} if {self.cond(node.test)} else {orelse}", body_bool and else_bool, False

    def e_UnaryOp(self, node: n.UnaryOp) -> tuple[str, bool, bool]:
        if node.op == "not":
            return f"(not {self.cond(node.operand)})", True, True
        if isinstance(node.operand, n.Constant) and isinstance(node.operand.value, (int, float)) \
                and not isinstance(node.operand.value, bool):
            value = -node.operand.value if node.op == "-" else node.operand.value
            return literal(value), False, value >= 0
        return f"{node.op}{self.operand(node.operand)}", False, False

    def e_BinOp(self, node: n.BinOp) -> tuple[str, bool, bool]:
        op = node.op
        if op in ("and", "or"):
            left, right = self.cond_operand(node.left), self.cond_operand(node.right)
            if self.tr.version < 6 and has_state(node.right):
                return f"{left} {'&' if op == 'and' else '|'} {right}", True, False
            return f"{left} {op} {right}", True, False
        left, right = self.operand(node.left), self.operand(node.right)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            return f"{left} {op} {right}", True, False
        if op == "/":
            return self._division(node, left, right)
        if op == "%":
            self.tr.use("mod")
            return f"mod({left}, {right})", False, True
        return f"{left} {op} {right}", False, False

    def _division(self, node: n.BinOp, left: str, right: str) -> tuple[str, bool, bool]:
        lit_l = node.left.value if isinstance(node.left, n.Constant) else None
        lit_r = node.right.value if isinstance(node.right, n.Constant) else None
        if type(lit_l) is int and type(lit_r) is int and self.tr.version < 6 and lit_r != 0:
            return f"{left} // {right}", False, False  # v5: const int / const int truncates
        if isinstance(lit_r, (int, float)) and not isinstance(lit_r, bool) and lit_r != 0:
            return f"{left} / {right}", False, False
        self.tr.use("div")
        return f"div({left}, {right})", False, True

    def e_Name(self, node: n.Name) -> tuple[str, bool, bool]:
        name = node.id
        py = self.tr.scope.lookup(name)
        if py is not None:
            # v5 bools may hold na, so only v6 bool variables skip truth()
            return py, self.tr.version >= 6 and name in self.tr.scope.bools_all(), True
        if name == "na":
            self.tr.use("na")
            return "na", False, True
        if name in cat.BAR_SERIES:
            self.tr.alias("bar")
            attr = {"bar_index": "index", "open": "open_price"}.get(name, name)
            return f"bar.{attr}", False, True
        if name == "last_bar_index":
            return "(rt.size - 1)", False, True
        if name in cat.CALENDAR:
            return f"rt.calendar({name!r})", False, True
        if name in self.tr.functions:
            raise self.tr.fail(f"function '{name}' used without calling it", node)
        raise self.tr.fail(f"unknown name '{name}' (declare it before use)", node)

    def e_Attribute(self, node: n.Attribute) -> tuple[str, bool, bool]:
        path = dotted(node)
        if path is None:
            raise self.tr.fail("attributes of expressions (user-defined types) are not "
                               "supported", node)
        head, _, rest = path.partition(".")
        if self.tr.scope.lookup(head) is not None:
            raise self.tr.fail(f"field access '{path}' (user-defined types) is not supported", node)
        if head == "strategy" and rest in cat.STRATEGY_VARIABLES:
            self.tr.alias("strategy")
            return path, rest in ("long", "short") and False, True
        if path in cat.SETTING_CONSTANTS:
            return literal(cat.SETTING_CONSTANTS[path]), False, True
        if head == "ta" and rest in cat.TA_VARIABLES:
            self.tr.use(f"ta_{rest}")
            return f"ta_{rest}({self.tr.site()}, bar)", False, True
        if head in ("barstate", "syminfo", "timeframe"):
            return f"rt.{path}", head == "barstate", True
        return self._constant_attribute(node, path, head, rest)

    def _constant_attribute(self, node: n.Attribute, path: str, head: str,
                            rest: str) -> tuple[str, bool, bool]:
        """math.pi and friends, colors and the namespaces' named constants."""
        if head == "math" and rest in ("pi", "e", "phi"):
            self.tr.use("pmath")
            return f"pmath.{rest}", False, True
        if head == "color":
            return literal(rest if rest in cat.COLOR_NAMES else path), False, True
        if path.startswith(_NAMESPACE_CONSTANTS):
            return literal(path), False, True
        if head == "request":
            raise self.tr.fail(f"{path} is not supported (other symbols and timeframes)", node)
        raise self.tr.fail(f"unknown name '{path}'", node)

    def e_Subscript(self, node: n.Subscript) -> tuple[str, bool, bool]:
        index = self.expr(node.index)[0]
        target = node.value
        if isinstance(target, n.Name):
            slot = self.tr.scope.history_slot(target.id)
            if slot is not None:
                owner, py, number = slot
                return f"{owner}.past({number}, {index}, {py})", False, True
            if self.tr.scope.lookup(target.id) is None and target.id in cat.BAR_SERIES:
                return f"rt.past({target.id!r}, {index})", False, True
        code, is_bool, _ = self.expr(target)
        return f"{self.tr.site()}.track({code}, {index})", is_bool, True

    def e_Call(self, node: n.Call) -> tuple[str, bool, bool]:
        return self.tr.calls.call(node)
