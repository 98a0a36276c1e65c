"""input.* calls -> typed parameters, strategy() -> settings, plot titles.

A part of core.pine.translation.translator.Translator (its ``inputs``).
"""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING, Any

from core.model import ParameterDef
from core.pine.translation import catalog as cat
from core.pine.syntax import nodes as n
from core.pine.translation.codegen import dotted
from sandbox import policy

if TYPE_CHECKING:
    from core.pine.translation.translator import Translator

STRATEGY_DECL = ("title", "shorttitle", "overlay", "format", "precision", "scale", "pyramiding",
                 "calc_on_order_fills", "calc_on_every_tick", "max_bars_back",
                 "backtest_fill_limits_assumption", "default_qty_type", "default_qty_value",
                 "initial_capital", "currency", "slippage", "commission_type",
                 "commission_value", "process_orders_on_close", "close_entries_rule",
                 "margin_long", "margin_short", "explicit_plot_zorder", "max_lines_count",
                 "max_labels_count", "max_boxes_count", "calc_bars_count", "risk_free_rate",
                 "use_bar_magnifier", "fill_orders_on_standard_ohlc", "max_polylines_count",
                 "dynamic_requests", "behind_chart")
_GENERIC_INPUT = ("defval", "title", "tooltip", "inline", "group", "minval", "maxval", "step",
                  "options", "confirm", "type")
_TYPES = {"int": "int", "float": "float", "bool": "bool", "string": "str", "source": "str",
          "timeframe": "str", "session": "str", "symbol": "str", "color": "str", "price": "float",
          "time": "int"}
DEFAULT_MINTICK = 0.01
MINTICK_PARAM = "syminfo_mintick"


def valid_param_name(name: str, taken: set[str]) -> str:
    """``name`` if it is safe as a Strategy class attribute, else an ``in_``-prefixed variant."""
    clean = name.lstrip("_") or "input"
    if clean != name or clean in cat.PY_RESERVED or clean in cat.STRATEGY_ATTRIBUTES or \
            not policy.attribute_allowed(clean) or clean == MINTICK_PARAM or \
            clean in policy.FORBIDDEN_NAMES or hasattr(builtins, clean) or "__" in clean:
        clean = f"in_{clean}"
    base, k = clean, 2
    while clean in taken:
        clean = f"{base}_{k}"
        k += 1
    return clean


class InputRegistry:
    """Parameters, plot titles and strategy() settings of one Translator ``tr``."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr
        self.params: list[ParameterDef] = []
        self.input_target = ""
        self.plots: list[str] = []

    def constant(self, node: n.Node) -> Any:
        """Value of a constant expression (literals, -x, named constants, tuples)."""
        if isinstance(node, n.Constant):
            return node.value
        if isinstance(node, n.UnaryOp) and node.op == "-":
            return -self.constant(node.operand)
        if isinstance(node, n.Tuple):
            return tuple(self.constant(i) for i in node.items)
        if isinstance(node, n.BinOp) and node.op in "+-*/":
            left, right = self.constant(node.left), self.constant(node.right)
            if isinstance(left, (int, float)) and isinstance(right, (int, float)) and right:
                return {"+": left + right, "-": left - right, "*": left * right,
                        "/": left / right}[node.op]
        path = dotted(node)
        if path in cat.SETTING_CONSTANTS:
            return cat.SETTING_CONSTANTS[path]
        if path == "na":
            return None
        if path in cat.BAR_SERIES or (path or "").startswith("color."):
            return path
        raise self.tr.fail("this value must be a constant (a literal or a named constant)", node)

    def register_input(self, node: n.Call, kind: str) -> tuple[str, bool]:
        """Add a ParameterDef for an input call; returns (attribute name, is a source)."""
        signature = cat.INPUT_SIGNATURES.get(kind) if kind else _GENERIC_INPUT
        if signature is None:
            raise self.tr.fail(f"input.{kind}() is not supported", node)
        bound = self.tr.calls.bind(node, signature, f"input.{kind}" if kind else "input")
        if "defval" not in bound:
            raise self.tr.fail("input() needs a default value", node)
        default = self.constant(bound["defval"])
        is_source = kind == "source" or (not kind and isinstance(bound["defval"], n.Name)
                                         and default in cat.BAR_SERIES)
        typ = _TYPES.get(kind) or {bool: "bool", int: "int", float: "float",
                                   str: "str"}.get(type(default), "float")
        if typ == "float" and isinstance(default, int):
            default = float(default)
        if typ == "str":
            default = "" if default is None else str(default)
        taken = {p.name for p in self.params}
        name = valid_param_name(self.input_target or f"input_{len(self.params) + 1}", taken)
        self.input_target = ""
        options = tuple(self.constant(bound["options"])) if "options" in bound else ()
        if is_source and not options:
            options = ("open", "high", "low", "close", "hl2", "hlc3", "ohlc4", "hlcc4", "volume")
        title = self.constant(bound["title"]) if "title" in bound else ""
        tooltip = self.constant(bound["tooltip"]) if "tooltip" in bound else ""
        self.params.append(ParameterDef(
            name=name, type=typ, default=default,
            min=self._number(bound.get("minval")), max=self._number(bound.get("maxval")),
            step=self._number(bound.get("step")), options=options,
            title=str(title or name), description=str(tooltip or "")))
        return name, is_source

    def _number(self, node: n.Node | None) -> float | None:
        if node is None:
            return None
        value = self.constant(node)
        return float(value) if isinstance(value, (int, float)) else None

    def note_plot(self, node: n.Call, path: str) -> str | None:
        """Remember the title of a plot() call and return it (drawings and alerts: None)."""
        if not path.startswith("plot"):
            return None
        title = next((a.value for a in node.args if a.name == "title"), None)
        if title is None and len(node.args) > 1 and not node.args[1].name:
            title = node.args[1].value
        text = title.value if isinstance(title, n.Constant) and isinstance(title.value, str) \
            else f"{path}_{len(self.plots) + 1}"
        if text in self.plots:
            text = f"{text} ({len(self.plots) + 1})"
        self.plots.append(text)
        return text

    def strategy_settings(self, script: n.Script) -> dict[str, Any]:
        """The strategy() arguments with TradingView's defaults (pine.md §2)."""
        decl = None
        for stmt in script.body:
            if isinstance(stmt, n.Expr) and isinstance(stmt.value, n.Call):
                path = dotted(stmt.value.func)
                if path in ("indicator", "study", "library"):
                    raise self.tr.fail(f"{path}() scripts cannot be backtested; declare "
                                       "strategy()", stmt)
                if path == "strategy":
                    decl = stmt.value
        if decl is None:
            raise self.tr.fail("no strategy(...) declaration found; a backtest needs one", script)
        bound = self.tr.calls.bind(decl, STRATEGY_DECL, "strategy")
        raw = {k: self.constant(v) for k, v in bound.items()}
        return settings_from(raw, script.version)


def settings_from(raw: dict[str, Any], version: int) -> dict[str, Any]:
    """Normalised settings: commission as a fraction of notional when it is a percentage."""
    commission_type = raw.get("commission_type", "percent")
    commission_value = float(raw.get("commission_value", 0.0) or 0.0)
    margin_default = 100.0 if version >= 6 else 0.0
    return {
        "title": str(raw.get("title", "Pine strategy")),
        "version": version,
        "initial_capital": float(raw.get("initial_capital", 1_000_000.0)),
        "default_qty_type": raw.get("default_qty_type", "fixed"),
        "default_qty_value": float(raw.get("default_qty_value", 1.0)),
        "pyramiding": int(raw.get("pyramiding", 0)),
        "commission_type": commission_type,
        "commission_value": commission_value,
        "commission": commission_value / 100.0 if commission_type == "percent" else 0.0,
        "slippage": int(raw.get("slippage", 0)),
        "process_orders_on_close": bool(raw.get("process_orders_on_close", False)),
        "close_entries_rule": str(raw.get("close_entries_rule", "FIFO")),
        "margin_long": float(raw.get("margin_long", margin_default)),
        "margin_short": float(raw.get("margin_short", margin_default)),
        "mintick": DEFAULT_MINTICK,
    }


def class_name(title: str) -> str:
    """A CamelCase Python class name from the strategy title."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or name[0].isdigit():
        name = "Pine" + name
    return "PineStrategy" if name in ("Strategy", "PineRuntime") else name[:60]


def safe_text(text: str) -> str:
    """``text`` reduced to characters that are harmless inside a docstring."""
    return re.sub(r"[^A-Za-z0-9 .,:;()%+/-]", "", text)[:80].strip()
