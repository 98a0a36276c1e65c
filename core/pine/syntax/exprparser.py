"""Expression half of the Pine parser: precedence climbing and block-valued expressions.

core.pine.syntax.parser.Parser owns the TokenCursor and the statement rules, and holds an ExprParser
over the same cursor; block-valued expressions ask the Parser for their blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.pine.syntax import nodes as n
from core.errors import TranslationError
from core.pine.syntax.lexer import Token

if TYPE_CHECKING:
    from core.pine.syntax.parser import Parser

_BINARY = {"or": 1, "and": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
MAX_DEPTH = 200


class TokenCursor:
    """The position in a token list of one parse, with the token tests every rule uses."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        """The current token."""
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        """The token ``offset`` places ahead (the last one, EOF, past the end)."""
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, kind: str, value: str | None = None) -> bool:
        """True when the current token has ``kind`` (and ``value`` when given)."""
        tok = self.tok
        return tok.kind == kind and (value is None or tok.value == value)

    def at_op(self, value: str) -> bool:
        """True when the current token is the operator ``value``."""
        return self.tok.kind == "OP" and self.tok.value == value

    def advance(self) -> Token:
        """The current token; moves past it (never past EOF)."""
        tok = self.tok
        if tok.kind != "EOF":
            self.pos += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> TranslationError:
        """A TranslationError at ``tok`` (default: the current token)."""
        tok = tok or self.tok
        return TranslationError(message, line=tok.line, col=tok.col)

    def describe(self, tok: Token) -> str:
        """``tok`` as a message names it."""
        return {"NEWLINE": "end of line", "INDENT": "an indented block", "DEDENT": "end of block",
                "EOF": "end of script"}.get(tok.kind, repr(tok.value))

    def expect_op(self, value: str) -> Token:
        """The operator ``value``, consumed; a TranslationError when it is not next."""
        if not self.at_op(value):
            raise self.error(f"expected {value!r} but found {self.describe(self.tok)}")
        return self.advance()

    def expect_name(self) -> Token:
        """The next name, consumed; a TranslationError when it is not a name."""
        if self.tok.kind != "NAME":
            raise self.error(f"expected a name but found {self.describe(self.tok)}")
        return self.advance()


class ExprParser:
    """Expression rules over a shared TokenCursor; block bodies come from ``statements``."""

    def __init__(self, cur: TokenCursor, statements: Parser) -> None:
        self.cur = cur
        self.statements = statements

    def expression(self) -> n.Node:
        """A full expression (ternary level), or a block-valued if/switch/for/while."""
        tok = self.cur.tok
        if tok.kind == "KEYWORD" and tok.value in ("if", "switch", "for", "while"):
            return self.block_expression(tok)
        self.cur.depth += 1
        if self.cur.depth > MAX_DEPTH:
            raise self.cur.error("the expression nests too deeply")
        try:
            return self.ternary()
        finally:
            self.cur.depth -= 1

    def ternary(self) -> n.Node:
        test = self.binary(1)
        if not self.cur.at_op("?"):
            return test
        self.cur.advance()
        body = self.expression()
        self.cur.expect_op(":")
        orelse = self.expression()
        return n.Conditional(line=test.line, col=test.col, test=test, body=body, orelse=orelse)

    def binary_op(self) -> str | None:
        tok = self.cur.tok
        if (tok.kind == "OP" or (tok.kind == "KEYWORD" and tok.value in ("and", "or"))) \
                and tok.value in _BINARY:
            return tok.value
        return None

    def binary(self, min_level: int) -> n.Node:
        left = self.unary()
        while True:
            op = self.binary_op()
            if op is None or _BINARY[op] < min_level:
                return left
            self.cur.advance()
            self.skip_newlines_in_continuation()
            right = self.binary(_BINARY[op] + 1)
            left = n.BinOp(line=left.line, col=left.col, op=op, left=left, right=right)

    def skip_newlines_in_continuation(self) -> None:
        """Nothing to skip: the lexer already joined wrapped lines."""

    def unary(self) -> n.Node:
        tok = self.cur.tok
        if (tok.kind == "OP" and tok.value in ("-", "+")) or (
                tok.kind == "KEYWORD" and tok.value == "not"):
            self.cur.advance()
            self.cur.depth += 1
            if self.cur.depth > MAX_DEPTH:
                raise self.cur.error("the expression nests too deeply")
            try:
                operand = self.unary()
            finally:
                self.cur.depth -= 1
            return n.UnaryOp(line=tok.line, col=tok.col, op=tok.value, operand=operand)
        return self.postfix(self.primary())

    def postfix(self, node: n.Node) -> n.Node:
        while True:
            if self.cur.at_op("."):
                self.cur.advance()
                name = self.cur.tok
                if name.kind not in ("NAME", "KEYWORD"):
                    raise self.cur.error("expected a name after '.' but found "
                                         f"{self.cur.describe(name)}")
                self.cur.advance()
                node = n.Attribute(line=node.line, col=node.col, value=node, attr=name.value)
            elif self.cur.at_op("(") or (self.cur.at_op("<") and self.is_generic_call()):
                node = self.call(node)
            elif self.cur.at_op("["):
                self.cur.advance()
                index = self.expression()
                self.cur.expect_op("]")
                node = n.Subscript(line=node.line, col=node.col, value=node, index=index)
            else:
                return node

    def is_generic_call(self) -> bool:
        i = self.cur.pos + 1
        while self.cur.tokens[i].kind == "NAME" or self.cur.tokens[i].value in (",", "[", "]"):
            i += 1
        return self.cur.tokens[i].value == ">" and self.cur.tokens[i + 1].value == "("

    def call(self, func: n.Node) -> n.Node:
        generic: list[str] = []
        if self.cur.at_op("<"):
            self.cur.advance()
            while not self.cur.at_op(">"):
                generic.append(self.cur.advance().value)
            self.cur.advance()
        self.cur.expect_op("(")
        args: list[n.Arg] = []
        while not self.cur.at_op(")"):
            tok = self.cur.tok
            name = ""
            if tok.kind == "NAME" and self.cur.peek().kind == "OP" and self.cur.peek().value == "=":
                name = tok.value
                self.cur.advance()
                self.cur.advance()
            args.append(n.Arg(line=tok.line, col=tok.col, value=self.expression(), name=name))
            if not self.cur.at_op(")"):
                self.cur.expect_op(",")
        self.cur.advance()
        return n.Call(line=func.line, col=func.col, func=func, args=tuple(args),
                      generic=tuple(g for g in generic if g != ","))

    def primary(self) -> n.Node:
        tok = self.cur.tok
        kind, value = tok.kind, tok.value
        if kind == "NUMBER":
            self.cur.advance()
            is_float = any(c in value for c in ".eE")
            return n.Constant(line=tok.line, col=tok.col,
                              value=float(value) if is_float else int(value))
        if kind in ("STRING", "COLOR"):
            self.cur.advance()
            return n.Constant(line=tok.line, col=tok.col, value=value, kind=kind.lower())
        if kind == "KEYWORD" and value in ("true", "false"):
            self.cur.advance()
            return n.Constant(line=tok.line, col=tok.col, value=value == "true")
        if kind == "NAME":
            self.cur.advance()
            return n.Name(line=tok.line, col=tok.col, id=value)
        if kind == "OP" and value == "(":
            self.cur.advance()
            inner = self.expression()
            self.cur.expect_op(")")
            return inner
        if kind == "OP" and value == "[":
            return self.tuple_literal(tok)
        if kind == "KEYWORD" and value in ("if", "switch", "for", "while"):
            return self.block_expression(tok)
        raise self.cur.error(f"expected a value but found {self.cur.describe(tok)}")

    def tuple_literal(self, tok: Token) -> n.Node:
        self.cur.advance()
        items: list[n.Node] = []
        while not self.cur.at_op("]"):
            items.append(self.expression())
            if not self.cur.at_op("]"):
                self.cur.expect_op(",")
        self.cur.advance()
        return n.Tuple(line=tok.line, col=tok.col, items=tuple(items))

    # ----- block-valued constructs -----
    def block_expression(self, tok: Token) -> n.Node:
        """if / switch / for / while; each may be used as a statement or as a value."""
        self.cur.advance()
        if tok.value == "if":
            return self.if_rest(tok)
        if tok.value == "switch":
            return self.switch_rest(tok)
        if tok.value == "while":
            test = self.expression()
            return n.While(line=tok.line, col=tok.col, test=test, body=self.statements.block())
        return self.for_rest(tok)

    def if_rest(self, tok: Token) -> n.Node:
        test = self.expression()
        body = self.statements.block()
        orelse: tuple[n.Node, ...] = ()
        save = self.cur.pos
        while self.cur.at("NEWLINE"):
            self.cur.advance()
        if self.cur.at("KEYWORD", "else"):
            else_tok = self.cur.advance()
            if self.cur.at("KEYWORD", "if"):
                self.cur.advance()
                orelse = (self.if_rest(else_tok),)
            else:
                orelse = self.statements.block()
        else:
            self.cur.pos = save
        return n.If(line=tok.line, col=tok.col, test=test, body=body, orelse=orelse)

    def switch_rest(self, tok: Token) -> n.Node:
        subject = None if self.cur.at("NEWLINE") else self.expression()
        self.expect_newline_indent()
        cases: list[n.Case] = []
        while not (self.cur.at("DEDENT") or self.cur.at("EOF")):
            if self.cur.at("NEWLINE"):
                self.cur.advance()
                continue
            case_tok = self.cur.tok
            pattern = None
            if not self.cur.at_op("=>"):
                pattern = self.expression()
            self.cur.expect_op("=>")
            cases.append(n.Case(line=case_tok.line, col=case_tok.col, pattern=pattern,
                                body=self.statements.block()))
        if self.cur.at("DEDENT"):
            self.cur.advance()
        return n.Switch(line=tok.line, col=tok.col, subject=subject, cases=tuple(cases))

    def expect_newline_indent(self) -> None:
        if not self.cur.at("NEWLINE"):
            raise self.cur.error("expected end of line but found "
                                 f"{self.cur.describe(self.cur.tok)}")
        while self.cur.at("NEWLINE"):
            self.cur.advance()
        if not self.cur.at("INDENT"):
            raise self.cur.error("expected an indented block (4 spaces)")
        self.cur.advance()

    def for_rest(self, tok: Token) -> n.Node:
        if self.cur.at_op("["):
            self.cur.advance()
            names = [self.cur.expect_name().value]
            while self.cur.at_op(","):
                self.cur.advance()
                names.append(self.cur.expect_name().value)
            self.cur.expect_op("]")
            return self.for_in(tok, tuple(names))
        var = self.cur.expect_name().value
        if self.cur.at("KEYWORD", "in"):
            return self.for_in(tok, (var,))
        self.cur.expect_op("=")
        start = self.expression()
        if not self.cur.at("KEYWORD", "to"):
            raise self.cur.error(f"expected 'to' but found {self.cur.describe(self.cur.tok)}")
        self.cur.advance()
        end = self.expression()
        step = None
        if self.cur.at("KEYWORD", "by"):
            self.cur.advance()
            step = self.expression()
        return n.ForTo(line=tok.line, col=tok.col, var=var, start=start, end=end, step=step,
                       body=self.statements.block())

    def for_in(self, tok: Token, names: tuple[str, ...]) -> n.Node:
        if not self.cur.at("KEYWORD", "in"):
            raise self.cur.error(f"expected 'in' but found {self.cur.describe(self.cur.tok)}")
        self.cur.advance()
        iterable = self.expression()
        return n.ForIn(line=tok.line, col=tok.col, targets=names, iterable=iterable,
                       body=self.statements.block())
