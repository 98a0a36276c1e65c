"""Pine -> Python translation: statements, user functions, inputs and the generated module.

The output is one readable backtesting.py Strategy subclass whose ``script`` method is the Pine
body, run once per bar by core.pine.runtime.PineRuntime. Inputs become class parameters.
"""

from __future__ import annotations

from typing import Any

from core.errors import TranslationError
from core.model import ParameterDef
from core.pine.translation import catalog as cat
from core.pine.syntax import nodes as n
from core.pine.translation.calls import CallCompiler
from core.pine.translation.codegen import BLOCK_NODES, BlockNode, ExprCompiler, dotted, literal
from core.pine.translation.inputs import InputRegistry
from core.pine.translation.scope import Scope, analyse

INDENT = "    "


class Translator:
    """Compiles one parsed Script; read ``out``, ``helpers`` and ``inputs`` afterwards.

    Statements are compiled here; expressions by ``exprs``, calls by ``calls``, inputs, plots
    and strategy() settings by ``inputs``. Each part holds this translator, the shared state.
    """

    def __init__(self, script: n.Script) -> None:
        self.version = script.version
        self.functions = {s.name: s for s in script.body if isinstance(s, n.FunctionDef)}
        self.bool_functions: set[str] = set()
        self.helpers: set[str] = set()
        self.aliases: set[str] = set()
        self.out: list[str] = []
        self.depth = 2
        self.pending_when: str | None = None
        self.uses_root = False
        all_hist = analyse(tuple(s for f in self.functions.values() for s in f.body))["hist"]
        self.scope = Scope("root", script.body, extra_hist=all_hist)
        self.exprs = ExprCompiler(self)
        self.calls = CallCompiler(self)
        self.inputs = InputRegistry(self)

    # ----- shared helpers of the parts -----
    def use(self, helper: str) -> None:
        """Import the runtime helper ``helper`` into the generated module."""
        self.helpers.add(helper)

    def alias(self, name: str) -> None:
        """Record that the generated script uses the local name ``name``."""
        self.aliases.add(name)

    def site(self) -> str:
        """A new per-call-site state slot of the current scope."""
        return f"st[{self.scope.next_number()}]"

    def fail(self, message: str, node: n.Node) -> TranslationError:
        """A TranslationError pointing at ``node``."""
        return translate_error(message, node)

    def emit(self, line: str) -> None:
        """Append ``line`` to the output at the current indentation."""
        self.out.append(INDENT * self.depth + line)

    # ----- statements -----
    def body(self, stmts: tuple[n.Node, ...]) -> None:
        start = len(self.out)
        for stmt in stmts:
            self.statement(stmt)
        if len(self.out) == start:
            self.emit("pass")

    def statement(self, stmt: n.Node) -> None:
        method = getattr(self, "s_" + type(stmt).__name__, None)
        if method is None:
            raise self.fail(f"unsupported statement {type(stmt).__name__}", stmt)
        method(stmt)

    def s_FunctionDef(self, stmt: n.FunctionDef) -> None:
        raise self.fail("functions must be defined at the top level of the script", stmt)

    def s_Break(self, stmt: n.Break) -> None:
        self.emit("break")

    def s_Continue(self, stmt: n.Continue) -> None:
        self.emit("continue")

    def s_Expr(self, stmt: n.Expr) -> None:
        value = stmt.value
        if isinstance(value, BLOCK_NODES):
            self.block_value(value, None)
            return
        if isinstance(value, n.Call):
            path = dotted(value.func) or ""
            if path in cat.IGNORED_CALLS or path.split(".")[0] in cat.DRAWING_NAMESPACES:
                title = self.inputs.note_plot(value, path)
                series = next((a.value for a in value.args if a.name in (None, "", "series")),
                              None)
                if path == "plot" and title is not None and series is not None:
                    self.emit(f"rt.record_plot({title!r}, {self.exprs.expr(series)[0]}, "
                              f"{value.line})")
                return
            if path in ("strategy", "indicator", "study"):
                return
        self.pending_when = None
        code = self.exprs.expr(value)[0]
        if self.pending_when is not None:
            self.emit(f"if {self.pending_when}:")
            self.depth += 1
            self.emit(code)
            self.depth -= 1
            self.pending_when = None
        elif isinstance(value, n.Call):
            self.emit(code)

    def s_Assign(self, stmt: n.Assign) -> None:
        if self.scope.is_declared(stmt.target) and not stmt.mode:
            raise self.fail(f"'{stmt.target}' is already declared; use := to reassign it", stmt)
        if isinstance(stmt.value, n.Call) and (dotted(stmt.value.func) or "").split(".")[0] \
                == "input" and self.scope.kind == "root" and not stmt.mode:
            self.inputs.input_target = stmt.target
        is_bool = stmt.type == "bool"
        if isinstance(stmt.value, BLOCK_NODES):
            py = self.scope.declare(stmt.target, is_bool=is_bool)
            self.block_value(stmt.value, py)
            return
        code, value_bool, _ = self.exprs.expr(stmt.value)
        self.inputs.input_target = ""
        py = self.scope.declare(stmt.target, is_bool=is_bool or value_bool)
        if stmt.mode:
            self.emit(f"if st.once({self.scope.slots[stmt.target]}):")
            self.depth += 1
            self.emit(f"{py} = {code}")
            self.depth -= 1
        else:
            self.emit(f"{py} = {code}")

    def s_ReAssign(self, stmt: n.ReAssign) -> None:
        py = self.scope.lookup(stmt.target)
        if py is None:
            raise self.fail(f"'{stmt.target}' is not declared; declare it with = first", stmt)
        if isinstance(stmt.value, BLOCK_NODES) and not stmt.op:
            self.block_value(stmt.value, py)
            return
        code = self.exprs.operand(stmt.value)
        if stmt.op == "/":
            self.use("div")
            self.emit(f"{py} = div({py}, {code})")
        elif stmt.op == "%":
            self.use("mod")
            self.emit(f"{py} = mod({py}, {code})")
        elif stmt.op:
            self.emit(f"{py} = {py} {stmt.op} {code}")
        else:
            self.emit(f"{py} = {self.exprs.expr(stmt.value)[0]}")

    def s_TupleAssign(self, stmt: n.TupleAssign) -> None:
        if isinstance(stmt.value, BLOCK_NODES):
            names = [self.scope.declare(t) for t in stmt.targets]
            self.block_value(stmt.value, "(" + ", ".join(names) + ",)")
            return
        code = self.exprs.expr(stmt.value)[0]
        names = [self.scope.declare(t) for t in stmt.targets]
        self.emit(f"{', '.join(names)} = {code}")

    def s_If(self, stmt: n.If) -> None:
        self.block_value(stmt, None)

    s_Switch = s_ForTo = s_ForIn = s_While = s_If

    # ----- block-valued constructs -----
    def block_value(self, node: BlockNode, target: str | None) -> None:
        """Emit if/switch/for/while; the last expression of each branch goes to ``target``."""
        if isinstance(node, n.If):
            self._if(node, target, "if")
        elif isinstance(node, n.Switch):
            self._switch(node, target)
        elif isinstance(node, n.ForTo):
            self.use("prange")
            parts = [self.exprs.expr(node.start)[0], self.exprs.expr(node.end)[0]]
            if node.step is not None:
                parts.append(self.exprs.expr(node.step)[0])
            var = self.scope.declare(node.var)
            self._loop(f"for {var} in prange({', '.join(parts)}):", node.body, target)
        elif isinstance(node, n.ForIn):
            names = [self.scope.declare(t) for t in node.targets]
            iterable = self.exprs.expr(node.iterable)[0]
            head = f"for {names[0]} in list({iterable}):" if len(names) == 1 else \
                f"for {names[0]}, {names[1]} in enumerate(list({iterable})):"
            self._loop(head, node.body, target)
        else:
            self._loop(f"while {self.exprs.cond(node.test)}:", node.body, target)

    def _loop(self, head: str, body: tuple[n.Node, ...], target: str | None) -> None:
        if target is not None:
            self.use("na")
            self.emit(f"{target} = {self._na_for(target)}")
        self.emit(head)
        self.depth += 1
        self.branch(body, target)
        self.depth -= 1

    def _na_for(self, target: str) -> str:
        if target.startswith("("):
            count = target.count(",")
            return "(" + ", ".join(["na"] * count) + ",)"
        return "na"

    def _if(self, node: n.If, target: str | None, keyword: str) -> None:
        self.emit(f"{keyword} {self.exprs.cond(node.test)}:")
        self.depth += 1
        self.branch(node.body, target)
        self.depth -= 1
        if len(node.orelse) == 1 and isinstance(node.orelse[0], n.If):
            self._if(node.orelse[0], target, "elif")
        elif node.orelse:
            self.emit("else:")
            self.depth += 1
            self.branch(node.orelse, target)
            self.depth -= 1
        elif target is not None:
            self.use("na")
            self.emit("else:")
            self.emit(f"{INDENT}{target} = {self._na_for(target)}")

    def _switch(self, node: n.Switch, target: str | None) -> None:
        subject = None
        if node.subject is not None:
            subject = f"switch_{self.scope.next_number()}"
            self.emit(f"{subject} = {self.exprs.expr(node.subject)[0]}")
        keyword, has_default = "if", False
        for case in node.cases:
            if case.pattern is None:
                self.emit("else:")
                has_default = True
            else:
                test = f"{subject} == {self.exprs.operand(case.pattern)}" if subject else \
                    self.exprs.cond(case.pattern)
                self.emit(f"{keyword} {test}:")
                keyword = "elif"
            self.depth += 1
            self.branch(case.body, target)
            self.depth -= 1
        if target is not None and not has_default:
            self.use("na")
            self.emit("else:")
            self.emit(f"{INDENT}{target} = {self._na_for(target)}")

    def branch(self, body: tuple[n.Node, ...], target: str | None) -> None:
        """A block whose last statement's value is assigned to ``target`` (when given). Names
        it declares are local to it (a sibling block may declare them again)."""
        self.scope.enter_block()
        try:
            if target is None:
                self.body(body)
                return
            for stmt in body[:-1]:
                self.statement(stmt)
            self.result_of(body[-1], target)
        finally:
            self.scope.exit_block()

    def result_of(self, last: n.Node, target: str) -> None:
        """Emit ``last`` and assign its value to ``target``."""
        if isinstance(last, n.Expr) and isinstance(last.value, BLOCK_NODES):
            self.block_value(last.value, target)
        elif isinstance(last, n.Expr):
            self.emit(f"{target} = {self.exprs.expr(last.value)[0]}")
        elif isinstance(last, (n.Assign, n.ReAssign)):
            self.statement(last)
            self.emit(f"{target} = {self.scope.lookup(last.target)}")
        elif isinstance(last, n.TupleAssign):
            self.statement(last)
            names = ", ".join(self.scope.lookup(t) or "unused" for t in last.targets)
            self.emit(f"{target} = ({names},)")
        else:
            self.statement(last)
            self.use("na")
            self.emit(f"{target} = {self._na_for(target)}")


def translate_error(message: str, node: n.Node) -> TranslationError:
    """A TranslationError pointing at ``node``."""
    return TranslationError(message, line=node.line, col=node.col)


def param_line(param: ParameterDef) -> str:
    """The class attribute declaring one parameter."""
    return f"{param.name} = {literal(param.default)}"


def settings_literal(settings: dict[str, Any]) -> str:
    """A readable dict literal of the strategy() settings."""
    items = [f"    {key!r}: {literal(value)}," for key, value in settings.items()]
    return "SETTINGS = {\n" + "\n".join(items) + "\n}"
