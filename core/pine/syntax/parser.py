"""Recursive-descent parser with precedence climbing: tokens -> core.pine.syntax.nodes.Script.

Owns Pine's grammar for v5/v6 scripts: declarations, reassignment, tuples, functions, if/switch/
for/for-in/while (also as expressions), ternary and the operator table of reference/pine.md §1.
Unsupported constructs (import, export, type, enum, method) raise TranslationError naming them.
"""

from __future__ import annotations

from core.pine.syntax import nodes as n
from core.pine.syntax.exprparser import MAX_DEPTH, ExprParser, TokenCursor
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


class Parser:
    """Statements and blocks over a TokenCursor; expressions come from ``exprs``."""

    def __init__(self, tokens: list[Token]) -> None:
        self.cur = TokenCursor(tokens)
        self.exprs = ExprParser(self.cur, self)

    # ----- blocks and statements -----
    def block_items(self, *, top: bool = False) -> list[n.Node]:
        """Statements until DEDENT (a block) or EOF (the script)."""
        items: list[n.Node] = []
        while True:
            if self.cur.at("NEWLINE"):
                self.cur.advance()
                continue
            if self.cur.at("EOF") or (not top and self.cur.at("DEDENT")):
                break
            if self.cur.at("DEDENT") or self.cur.at("INDENT"):
                raise self.cur.error("unexpected indentation")
            items.append(self.statement())
            while self.cur.at_op(","):
                self.cur.advance()
                items.append(self.statement())
            ended_block = self.cur.tokens[self.cur.pos - 1].kind in ("NEWLINE", "DEDENT")
            cur = self.cur
            if not (ended_block or cur.at("NEWLINE") or cur.at("EOF") or cur.at("DEDENT")):
                raise cur.error(f"unexpected {cur.describe(cur.tok)} after a statement")
        return items

    def block(self) -> tuple[n.Node, ...]:
        """An indented block after a header line (or the rest of the same line)."""
        if not self.cur.at("NEWLINE"):
            return (self.statement(),)
        self.cur.advance()
        while self.cur.at("NEWLINE"):
            self.cur.advance()
        if not self.cur.at("INDENT"):
            raise self.cur.error("expected an indented block (4 spaces)")
        self.cur.advance()
        body = self.block_items()
        if self.cur.at("DEDENT"):
            self.cur.advance()
        if not body:
            raise self.cur.error("empty block")
        return tuple(body)

    def statement(self) -> n.Node:
        """One statement."""
        self.cur.depth += 1
        if self.cur.depth > MAX_DEPTH:
            raise self.cur.error("the script nests too deeply")
        try:
            return self._statement()
        finally:
            self.cur.depth -= 1

    def _statement(self) -> n.Node:
        tok = self.cur.tok
        if tok.kind == "KEYWORD":
            if tok.value in _UNSUPPORTED:
                raise self.cur.error(f"{_UNSUPPORTED[tok.value]} are not supported")
            if tok.value in ("var", "varip"):
                self.cur.advance()
                return self.declaration(tok, mode=tok.value)
            if tok.value == "break":
                self.cur.advance()
                return n.Break(line=tok.line, col=tok.col)
            if tok.value == "continue":
                self.cur.advance()
                return n.Continue(line=tok.line, col=tok.col)
        if tok.kind == "NAME":
            return self.name_statement(tok)
        if tok.kind == "OP" and tok.value == "[" and self.is_tuple_target():
            return self.tuple_assign(tok)
        return n.Expr(line=tok.line, col=tok.col, value=self.exprs.expression())

    def name_statement(self, tok: Token) -> n.Node:
        nxt = self.cur.peek()
        if nxt.kind == "OP" and nxt.value == "(" and self.is_function_def():
            return self.function_def()
        if nxt.kind == "OP" and nxt.value == "=":
            return self.declaration(tok, mode="")
        if nxt.kind == "OP" and nxt.value in _AUGMENTED:
            self.cur.advance()
            op = self.cur.advance().value
            value = self.rhs()
            return n.ReAssign(line=tok.line, col=tok.col, target=tok.value, value=value,
                              op="" if op == ":=" else op[0])
        if self.looks_typed():
            return self.declaration(tok, mode="")
        return n.Expr(line=tok.line, col=tok.col, value=self.exprs.expression())

    def looks_typed(self) -> bool:
        """True at ``[qualifier] type[<..>][[]] name =``."""
        i = self.cur.pos
        if self.cur.tokens[i].kind == "NAME" and self.cur.tokens[i].value in _QUALIFIERS:
            i += 1
        tok = self.cur.tokens[i]
        if tok.kind != "NAME":
            return False
        i += 1
        if self.cur.tokens[i].kind == "OP" and self.cur.tokens[i].value == "<":
            while self.cur.tokens[i].kind != "EOF" and self.cur.tokens[i].value != ">":
                i += 1
            i += 1
        if self.cur.tokens[i].value == "[" and self.cur.tokens[i + 1].value == "]":
            i += 2
        return self.cur.tokens[i].kind == "NAME" and self.cur.tokens[i + 1].value == "="

    def declaration(self, start: Token, *, mode: str) -> n.Node:
        type_name = ""
        cur = self.cur
        if cur.at("NAME") and cur.tok.value in _QUALIFIERS and cur.peek().kind == "NAME":
            cur.advance()
        if cur.at("NAME") and not (cur.peek().kind == "OP" and cur.peek().value == "="):
            type_name = self.type_name()
        name = self.cur.expect_name()
        self.cur.expect_op("=")
        value = self.rhs()
        return n.Assign(line=start.line, col=start.col, target=name.value, value=value,
                        mode=mode, type=type_name)

    def type_name(self) -> str:
        tok = self.cur.expect_name()
        text = tok.value
        if self.cur.at_op("<"):
            self.cur.advance()
            inner = [self.cur.expect_name().value]
            while self.cur.at_op(","):
                self.cur.advance()
                inner.append(self.cur.expect_name().value)
            self.cur.expect_op(">")
            text += "<" + ",".join(inner) + ">"
        if self.cur.at_op("[") and self.cur.peek().value == "]":
            self.cur.advance()
            self.cur.advance()
            text += "[]"
        return text

    def is_tuple_target(self) -> bool:
        i = self.cur.pos + 1
        while self.cur.tokens[i].kind == "NAME" or self.cur.tokens[i].value == ",":
            i += 1
        return self.cur.tokens[i].value == "]" and self.cur.tokens[i + 1].value == "="

    def tuple_assign(self, start: Token) -> n.Node:
        self.cur.expect_op("[")
        names = [self.cur.expect_name().value]
        while self.cur.at_op(","):
            self.cur.advance()
            names.append(self.cur.expect_name().value)
        self.cur.expect_op("]")
        self.cur.expect_op("=")
        return n.TupleAssign(line=start.line, col=start.col, targets=tuple(names),
                             value=self.rhs())

    def is_function_def(self) -> bool:
        i, depth = self.cur.pos + 1, 0
        while self.cur.tokens[i].kind not in ("EOF", "NEWLINE"):
            value = self.cur.tokens[i].value
            if self.cur.tokens[i].kind == "OP" and value in "([":
                depth += 1
            elif self.cur.tokens[i].kind == "OP" and value in ")]":
                depth -= 1
                if depth == 0:
                    nxt = self.cur.tokens[i + 1]
                    return nxt.kind == "OP" and nxt.value == "=>"
            i += 1
        return False

    def function_def(self) -> n.Node:
        name = self.cur.advance()
        self.cur.expect_op("(")
        params: list[n.Param] = []
        while not self.cur.at_op(")"):
            if self.cur.at("NAME") and self.cur.peek().kind == "NAME":
                self.type_name()
            ptok = self.cur.expect_name()
            default = None
            if self.cur.at_op("="):
                self.cur.advance()
                default = self.exprs.expression()
            params.append(n.Param(line=ptok.line, col=ptok.col, name=ptok.value, default=default))
            if not self.cur.at_op(")"):
                self.cur.expect_op(",")
        self.cur.advance()
        self.cur.expect_op("=>")
        body = self.block()
        return n.FunctionDef(line=name.line, col=name.col, name=name.value, params=tuple(params),
                             body=body)

    def rhs(self) -> n.Node:
        """The value of a declaration: an expression or a block-valued if/switch/for/while."""
        return self.exprs.expression()
