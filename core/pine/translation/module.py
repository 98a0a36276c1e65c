"""Assembly of the generated Python module from a parsed Pine script."""

from __future__ import annotations

from core.model import ParameterDef
from core.pine.syntax import nodes as n
from core.pine.translation.codegen import literal
from core.pine.translation.inputs import DEFAULT_MINTICK, MINTICK_PARAM, class_name, safe_text
from core.pine.translation.scope import Scope
from core.pine.translation.translator import INDENT, Translator, param_line, settings_literal


def _prelude(scope: Scope, node: str) -> list[str]:
    lines = []
    for name, slot in scope.slots.items():
        py = scope.names[name]
        if name in scope.var_names:
            lines.append(f"{py} = {node}.recall({slot})")
        elif name in scope.nested and name not in scope.params:
            lines.append(f"{py} = na")
    return lines


def _pushes(scope: Scope, node: str) -> list[str]:
    return [f"{node}.push({slot}, {scope.names[name]})" for name, slot in scope.slots.items()]


def _function(tr: Translator, func: n.FunctionDef, root: Scope) -> list[str]:
    tr.scope = Scope("func", func.body, parent=root)
    params = []
    for param in func.params:
        py = tr.scope.declare(param.name)
        tr.scope.params.add(param.name)
        default = "" if param.default is None else f"={literal(tr.inputs.constant(param.default))}"
        params.append(py + default)
    tr.out, tr.depth = [], 3
    for stmt in func.body[:-1]:
        tr.statement(stmt)
    tr.result_of(func.body[-1], "result")
    body = tr.out
    pad = INDENT * 3
    pre = [pad + line for line in _prelude(tr.scope, "st")]
    post = [pad + line for line in _pushes(tr.scope, "st")]
    if any(line.endswith(" = na") for line in pre):
        tr.use("na")
    head = INDENT * 2 + f"def f_{func.name}({', '.join(['st', *params])}):"
    return [head, *pre, *body, *post, pad + "return result", ""]


def build(script: n.Script) -> tuple[str, tuple[ParameterDef, ...], dict, tuple[str, ...]]:
    """(python source, params, settings, plot titles) of a parsed strategy script."""
    tr = Translator(script)
    settings = tr.inputs.strategy_settings(script)
    root = tr.scope
    tr.body(tuple(s for s in script.body if not isinstance(s, n.FunctionDef)))
    body = tr.out
    functions: list[str] = []
    for func in tr.functions.values():
        functions += _function(tr, func, root)
    pad = INDENT * 2
    pre = [pad + line for line in _prelude(root, "st")]
    if any(line.endswith(" = na") for line in pre):
        tr.use("na")
    post = [pad + line for line in _pushes(root, "st")]
    head = [pad + "root = st"] if any("root.past(" in line for line in functions) else []
    mintick = ParameterDef(name=MINTICK_PARAM, type="float", default=DEFAULT_MINTICK, min=1e-12,
                           title="syminfo.mintick (price tick size)",
                           description="Tick size used by ticks-based Pine arguments (exits, "
                                       "slippage).")
    params = (*tr.inputs.params, mintick)
    script_lines = [*head, *functions, *pre, *body, *post]
    source = _module(settings, params, sorted(tr.helpers), script_lines, script.version)
    return source, params, settings, tuple(tr.inputs.plots)


def _module(settings: dict, params: tuple[ParameterDef, ...], helpers: list[str],
            script_lines: list[str], version: int) -> str:
    title = safe_text(settings["title"]) or "Pine strategy"
    imports = ", ".join(["PineRuntime", *helpers])
    lines = [
        f'"""{title}: translated from Pine Script v{version} by PineOpt.',
        "",
        "A backtesting.py Strategy. core.pine.runtime runs script() once per bar with",
        "TradingView's semantics and emulates its broker; Pine inputs are the class parameters.",
        '"""',
        "",
        "from backtesting import Strategy",
        "",
        f"from core.pine.runtime import {imports}",
        "",
        settings_literal(settings),
        "",
        "",
        f"class {class_name(settings['title'])}(Strategy):",
        f'    """Pine strategy: {title}."""',
        "",
        *[INDENT + param_line(p) for p in params],
        "",
        "    def init(self):",
        "        self.pine = PineRuntime(self, SETTINGS, self.script)",
        "",
        "    def next(self):",
        "        self.pine.step()",
        "",
        "    def script(self, rt, st, bar, strategy):",
        *(script_lines or [INDENT * 2 + "pass"]),
    ]
    return "\n".join(lines).rstrip() + "\n"
