"""Recursive-descent parser with precedence climbing: tokens -> core.pine.syntax.nodes.Script.

Owns Pine's grammar for v5/v6 scripts: declarations, reassignment, tuples, functions, if/switch/
for/for-in/while (also as expressions), ternary and the operator table of reference/pine.md §1.
Unsupported constructs (import, export, type, enum, method) raise TranslationError naming them.
"""

from __future__ import annotations

from core.errors import TranslationError
from core.pine.syntax import nodes as n
from core.pine.syntax.exprparser import MAX_DEPTH, ExprParser
from core.pine.syntax.lexer import Token, script_version, tokenize

_AUGMENTED = (":=", "+=", "-=", "*=", "/=", "%=")

_QUALIFIERS = frozenset({"const", "simple", "series", "input"})
_UNSUPPORTED = {"import": "libraries (import)", "export": "library exports (export)",
                "type": "user-defined types (type)", "enum": "enums (enum)",
                "method": "user-defined methods (method)"}


def parse(source: str) -> n.Script:
    """Parse a whole script. Raises TranslationError with line and column on any syntax error."""
    parser = Parser(tokenize(source))
    body = parser.block_items(top=True)
    return n.Script(line=1, col=1, body=tuple(body), version=script_version(source))


class Parser(ExprParser):
    """Statements and blocks; expressions come from ExprParser."""

    # ----- blocks and statements -----
    def block_items(self, *, top: bool = False) -> list[n.Node]:
        """Statements until DEDENT (a block) or EOF (the script)."""
        items: list[n.Node] = []
        while True:
            if self.at("NEWLINE"):
                self.advance()
                continue
            if self.at("EOF") or (not top and self.at("DEDENT")):
                break
            if self.at("DEDENT") or self.at("INDENT"):
                raise self.error("unexpected indentation")
            items.append(self.statement())
            while self.at_op(","):
                self.advance()
                items.append(self.statement())
            ended_block = self.tokens[self.pos - 1].kind in ("NEWLINE", "DEDENT")
            if not (ended_block or self.at("NEWLINE") or self.at("EOF") or self.at("DEDENT")):
                raise self.error(f"unexpected {self.describe(self.tok)} after a statement")
        return items

    def block(self) -> tuple[n.Node, ...]:
        """An indented block after a header line (or the rest of the same line)."""
        if not self.at("NEWLINE"):
            return (self.statement(),)
        self.advance()
        while self.at("NEWLINE"):
            self.advance()
        if not self.at("INDENT"):
            raise self.error("expected an indented block (4 spaces)")
        self.advance()
        body = self.block_items()
        if self.at("DEDENT"):
            self.advance()
        if not body:
            raise self.error("empty block")
        return tuple(body)

    def statement(self) -> n.Node:
        """One statement."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("the script nests too deeply")
        try:
            return self._statement()
        finally:
            self.depth -= 1

    def _statement(self) -> n.Node:
        tok = self.tok
        if tok.kind == "KEYWORD":
            if tok.value in _UNSUPPORTED:
                raise self.error(f"{_UNSUPPORTED[tok.value]} are not supported")
            if tok.value in ("var", "varip"):
                self.advance()
                return self.declaration(tok, mode=tok.value)
            if tok.value == "break":
                self.advance()
                return n.Break(line=tok.line, col=tok.col)
            if tok.value == "continue":
                self.advance()
                return n.Continue(line=tok.line, col=tok.col)
        if tok.kind == "NAME":
            return self.name_statement(tok)
        if tok.kind == "OP" and tok.value == "[" and self.is_tuple_target():
            return self.tuple_assign(tok)
        return n.Expr(line=tok.line, col=tok.col, value=self.expression())

    def name_statement(self, tok: Token) -> n.Node:
        nxt = self.peek()
        if nxt.kind == "OP" and nxt.value == "(" and self.is_function_def():
            return self.function_def()
        if nxt.kind == "OP" and nxt.value == "=":
            return self.declaration(tok, mode="")
        if nxt.kind == "OP" and nxt.value in _AUGMENTED:
            self.advance()
            op = self.advance().value
            value = self.rhs()
            return n.ReAssign(line=tok.line, col=tok.col, target=tok.value, value=value,
                              op="" if op == ":=" else op[0])
        if self.looks_typed():
            return self.declaration(tok, mode="")
        return n.Expr(line=tok.line, col=tok.col, value=self.expression())

    def looks_typed(self) -> bool:
        """True at ``[qualifier] type[<..>][[]] name =``."""
        i = self.pos
        if self.tokens[i].kind == "NAME" and self.tokens[i].value in _QUALIFIERS:
            i += 1
        tok = self.tokens[i]
        if tok.kind != "NAME":
            return False
        i += 1
        if self.tokens[i].kind == "OP" and self.tokens[i].value == "<":
            while self.tokens[i].kind != "EOF" and self.tokens[i].value != ">":
                i += 1
            i += 1
        if self.tokens[i].value == "[" and self.tokens[i + 1].value == "]":
            i += 2
        return self.tokens[i].kind == "NAME" and self.tokens[i + 1].value == "="

    def declaration(self, start: Token, *, mode: str) -> n.Node:
        type_name = ""
        if self.at("NAME") and self.tok.value in _QUALIFIERS and self.peek().kind == "NAME":
            self.advance()
        if self.at("NAME") and not (self.peek().kind == "OP" and self.peek().value == "="):
            type_name = self.type_name()
        name = self.expect_name()
        self.expect_op("=")
        value = self.rhs()
        return n.Assign(line=start.line, col=start.col, target=name.value, value=value,
                        mode=mode, type=type_name)

    def type_name(self) -> str:
        tok = self.expect_name()
        text = tok.value
        if self.at_op("<"):
            self.advance()
            inner = [self.expect_name().value]
            while self.at_op(","):
                self.advance()
                inner.append(self.expect_name().value)
            self.expect_op(">")
            text += "<" + ",".join(inner) + ">"
        if self.at_op("[") and self.peek().value == "]":
            self.advance()
            self.advance()
            text += "[]"
        return text

    def is_tuple_target(self) -> bool:
        i = self.pos + 1
        while self.tokens[i].kind == "NAME" or self.tokens[i].value == ",":
            i += 1
        return self.tokens[i].value == "]" and self.tokens[i + 1].value == "="

    def tuple_assign(self, start: Token) -> n.Node:
        self.expect_op("[")
        names = [self.expect_name().value]
        while self.at_op(","):
            self.advance()
            names.append(self.expect_name().value)
        self.expect_op("]")
        self.expect_op("=")
        return n.TupleAssign(line=start.line, col=start.col, targets=tuple(names),
                             value=self.rhs())

    def is_function_def(self) -> bool:
        i, depth = self.pos + 1, 0
        while self.tokens[i].kind not in ("EOF", "NEWLINE"):
            value = self.tokens[i].value
            if self.tokens[i].kind == "OP" and value in "([":
                depth += 1
            elif self.tokens[i].kind == "OP" and value in ")]":
                depth -= 1
                if depth == 0:
                    nxt = self.tokens[i + 1]
                    return nxt.kind == "OP" and nxt.value == "=>"
            i += 1
        return False

    def function_def(self) -> n.Node:
        name = self.advance()
        self.expect_op("(")
        params: list[n.Param] = []
        while not self.at_op(")"):
            if self.at("NAME") and self.peek().kind == "NAME":
                self.type_name()
            ptok = self.expect_name()
            default = None
            if self.at_op("="):
                self.advance()
                default = self.expression()
            params.append(n.Param(line=ptok.line, col=ptok.col, name=ptok.value, default=default))
            if not self.at_op(")"):
                self.expect_op(",")
        self.advance()
        self.expect_op("=>")
        body = self.block()
        return n.FunctionDef(line=name.line, col=name.col, name=name.value, params=tuple(params),
                             body=body)

    def rhs(self) -> n.Node:
        """The value of a declaration: an expression or a block-valued if/switch/for/while."""
        return self.expression()
