"""Expression half of the Pine parser: precedence climbing and block-valued expressions.

Mixed into core.pine.syntax.parser.Parser; kept apart to keep each module small.
"""

from __future__ import annotations

from core.pine.syntax import nodes as n
from core.errors import TranslationError
from core.pine.syntax.lexer import Token

_BINARY = {"or": 1, "and": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
MAX_DEPTH = 200


class ExprParser:
    """Token cursor plus expression rules; core.pine.syntax.parser.Parser adds statements."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # ----- token helpers -----
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (value is None or tok.value == value)

    def at_op(self, value: str) -> bool:
        return self.tok.kind == "OP" and self.tok.value == value

    def advance(self) -> Token:
        tok = self.tok
        if tok.kind != "EOF":
            self.pos += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> TranslationError:
        tok = tok or self.tok
        return TranslationError(message, line=tok.line, col=tok.col)

    def describe(self, tok: Token) -> str:
        return {"NEWLINE": "end of line", "INDENT": "an indented block", "DEDENT": "end of block",
                "EOF": "end of script"}.get(tok.kind, repr(tok.value))

    def expect_op(self, value: str) -> Token:
        if not self.at_op(value):
            raise self.error(f"expected {value!r} but found {self.describe(self.tok)}")
        return self.advance()

    def expect_name(self) -> Token:
        if self.tok.kind != "NAME":
            raise self.error(f"expected a name but found {self.describe(self.tok)}")
        return self.advance()

    # ----- expressions -----
    def expression(self) -> n.Node:
        """A full expression (ternary level), or a block-valued if/switch/for/while."""
        tok = self.tok
        if tok.kind == "KEYWORD" and tok.value in ("if", "switch", "for", "while"):
            return self.block_expression(tok)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("the expression nests too deeply")
        try:
            return self.ternary()
        finally:
            self.depth -= 1

    def ternary(self) -> n.Node:
        test = self.binary(1)
        if not self.at_op("?"):
            return test
        self.advance()
        body = self.expression()
        self.expect_op(":")
        orelse = self.expression()
        return n.Conditional(line=test.line, col=test.col, test=test, body=body, orelse=orelse)

    def binary_op(self) -> str | None:
        tok = self.tok
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
            self.advance()
            self.skip_newlines_in_continuation()
            right = self.binary(_BINARY[op] + 1)
            left = n.BinOp(line=left.line, col=left.col, op=op, left=left, right=right)

    def skip_newlines_in_continuation(self) -> None:
        """Nothing to skip: the lexer already joined wrapped lines."""

    def unary(self) -> n.Node:
        tok = self.tok
        if (tok.kind == "OP" and tok.value in ("-", "+")) or (
                tok.kind == "KEYWORD" and tok.value == "not"):
            self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("the expression nests too deeply")
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            return n.UnaryOp(line=tok.line, col=tok.col, op=tok.value, operand=operand)
        return self.postfix(self.primary())

    def postfix(self, node: n.Node) -> n.Node:
        while True:
            if self.at_op("."):
                self.advance()
                name = self.tok
                if name.kind not in ("NAME", "KEYWORD"):
                    raise self.error(f"expected a name after '.' but found {self.describe(name)}")
                self.advance()
                node = n.Attribute(line=node.line, col=node.col, value=node, attr=name.value)
            elif self.at_op("(") or (self.at_op("<") and self.is_generic_call()):
                node = self.call(node)
            elif self.at_op("["):
                self.advance()
                index = self.expression()
                self.expect_op("]")
                node = n.Subscript(line=node.line, col=node.col, value=node, index=index)
            else:
                return node

    def is_generic_call(self) -> bool:
        i = self.pos + 1
        while self.tokens[i].kind == "NAME" or self.tokens[i].value in (",", "[", "]"):
            i += 1
        return self.tokens[i].value == ">" and self.tokens[i + 1].value == "("

    def call(self, func: n.Node) -> n.Node:
        generic: list[str] = []
        if self.at_op("<"):
            self.advance()
            while not self.at_op(">"):
                generic.append(self.advance().value)
            self.advance()
        self.expect_op("(")
        args: list[n.Arg] = []
        while not self.at_op(")"):
            tok = self.tok
            name = ""
            if tok.kind == "NAME" and self.peek().kind == "OP" and self.peek().value == "=":
                name = tok.value
                self.advance()
                self.advance()
            args.append(n.Arg(line=tok.line, col=tok.col, value=self.expression(), name=name))
            if not self.at_op(")"):
                self.expect_op(",")
        self.advance()
        return n.Call(line=func.line, col=func.col, func=func, args=tuple(args),
                      generic=tuple(g for g in generic if g != ","))

    def primary(self) -> n.Node:
        tok = self.tok
        kind, value = tok.kind, tok.value
        if kind == "NUMBER":
            self.advance()
            is_float = any(c in value for c in ".eE")
            return n.Constant(line=tok.line, col=tok.col,
                              value=float(value) if is_float else int(value))
        if kind in ("STRING", "COLOR"):
            self.advance()
            return n.Constant(line=tok.line, col=tok.col, value=value, kind=kind.lower())
        if kind == "KEYWORD" and value in ("true", "false"):
            self.advance()
            return n.Constant(line=tok.line, col=tok.col, value=value == "true")
        if kind == "NAME":
            self.advance()
            return n.Name(line=tok.line, col=tok.col, id=value)
        if kind == "OP" and value == "(":
            self.advance()
            inner = self.expression()
            self.expect_op(")")
            return inner
        if kind == "OP" and value == "[":
            return self.tuple_literal(tok)
        if kind == "KEYWORD" and value in ("if", "switch", "for", "while"):
            return self.block_expression(tok)
        raise self.error(f"expected a value but found {self.describe(tok)}")

    def tuple_literal(self, tok: Token) -> n.Node:
        self.advance()
        items: list[n.Node] = []
        while not self.at_op("]"):
            items.append(self.expression())
            if not self.at_op("]"):
                self.expect_op(",")
        self.advance()
        return n.Tuple(line=tok.line, col=tok.col, items=tuple(items))

    # ----- block-valued constructs -----
    def block_expression(self, tok: Token) -> n.Node:
        """if / switch / for / while; each may be used as a statement or as a value."""
        self.advance()
        if tok.value == "if":
            return self.if_rest(tok)
        if tok.value == "switch":
            return self.switch_rest(tok)
        if tok.value == "while":
            test = self.expression()
            return n.While(line=tok.line, col=tok.col, test=test, body=self.block())
        return self.for_rest(tok)

    def if_rest(self, tok: Token) -> n.Node:
        test = self.expression()
        body = self.block()
        orelse: tuple[n.Node, ...] = ()
        save = self.pos
        while self.at("NEWLINE"):
            self.advance()
        if self.at("KEYWORD", "else"):
            else_tok = self.advance()
            if self.at("KEYWORD", "if"):
                self.advance()
                orelse = (self.if_rest(else_tok),)
            else:
                orelse = self.block()
        else:
            self.pos = save
        return n.If(line=tok.line, col=tok.col, test=test, body=body, orelse=orelse)

    def switch_rest(self, tok: Token) -> n.Node:
        subject = None if self.at("NEWLINE") else self.expression()
        self.expect_newline_indent()
        cases: list[n.Case] = []
        while not (self.at("DEDENT") or self.at("EOF")):
            if self.at("NEWLINE"):
                self.advance()
                continue
            case_tok = self.tok
            pattern = None
            if not self.at_op("=>"):
                pattern = self.expression()
            self.expect_op("=>")
            cases.append(n.Case(line=case_tok.line, col=case_tok.col, pattern=pattern,
                                body=self.block()))
        if self.at("DEDENT"):
            self.advance()
        return n.Switch(line=tok.line, col=tok.col, subject=subject, cases=tuple(cases))

    def expect_newline_indent(self) -> None:
        if not self.at("NEWLINE"):
            raise self.error(f"expected end of line but found {self.describe(self.tok)}")
        while self.at("NEWLINE"):
            self.advance()
        if not self.at("INDENT"):
            raise self.error("expected an indented block (4 spaces)")
        self.advance()

    def for_rest(self, tok: Token) -> n.Node:
        if self.at_op("["):
            self.advance()
            names = [self.expect_name().value]
            while self.at_op(","):
                self.advance()
                names.append(self.expect_name().value)
            self.expect_op("]")
            return self.for_in(tok, tuple(names))
        var = self.expect_name().value
        if self.at("KEYWORD", "in"):
            return self.for_in(tok, (var,))
        self.expect_op("=")
        start = self.expression()
        if not self.at("KEYWORD", "to"):
            raise self.error(f"expected 'to' but found {self.describe(self.tok)}")
        self.advance()
        end = self.expression()
        step = None
        if self.at("KEYWORD", "by"):
            self.advance()
            step = self.expression()
        return n.ForTo(line=tok.line, col=tok.col, var=var, start=start, end=end, step=step,
                       body=self.block())

    def for_in(self, tok: Token, names: tuple[str, ...]) -> n.Node:
        if not self.at("KEYWORD", "in"):
            raise self.error(f"expected 'in' but found {self.describe(self.tok)}")
        self.advance()
        iterable = self.expression()
        return n.ForIn(line=tok.line, col=tok.col, targets=names, iterable=iterable,
                       body=self.block())
