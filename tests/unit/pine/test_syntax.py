"""Lexer and parser: layout rules, precedence, and clean errors with line and column."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import TranslationError
from core.pine.syntax import nodes as n
from core.pine.translation.api import translate
from core.pine.syntax.lexer import script_version, tokenize
from core.pine.syntax.parser import parse


def kinds(source: str) -> list[str]:
    return [t.kind for t in tokenize(source)]


def test_comments_are_dropped_and_version_is_read():
    source = "//@version=6\nx = 1 // trailing\n// whole line\n"
    assert script_version(source) == 6
    assert [t.value for t in tokenize(source) if t.kind != "NEWLINE"][:3] == ["x", "=", "1"]


def test_version_defaults_to_5():
    assert script_version("x = 1\n") == 5


def test_literals_include_colors_strings_and_floats():
    values = [t for t in tokenize("a = #FF00AA\nb = 'it\\'s'\nc = .5 + 1. + 1e-3\n")
              if t.kind in ("COLOR", "STRING", "NUMBER")]
    assert [(t.kind, t.value) for t in values] == [
        ("COLOR", "#FF00AA"), ("STRING", "it's"), ("NUMBER", ".5"), ("NUMBER", "1."),
        ("NUMBER", "1e-3")]


def test_indented_block_gives_indent_and_dedent():
    assert kinds("if a\n    b = 1\nc = 2\n") == [
        "KEYWORD", "NAME", "NEWLINE", "INDENT", "NAME", "OP", "NUMBER", "NEWLINE", "DEDENT",
        "NAME", "OP", "NUMBER", "NEWLINE", "EOF"]


def test_line_indented_by_non_multiple_of_four_continues_the_statement():
    script = parse("x = 1 +\n  2\n")
    assert isinstance(script.body[0], n.Assign)
    assert isinstance(script.body[0].value, n.BinOp)


def test_lines_inside_brackets_continue():
    script = parse("x = math.max(1,\n    2)\n")
    assert len(script.body) == 1


def test_commas_separate_statements_on_one_line():
    assert len(parse("a = 1, b = 2\n").body) == 2


def test_not_binds_tighter_than_comparison():
    value = parse("x = not a == b\n").body[0].value
    assert value.op == "==" and isinstance(value.left, n.UnaryOp)


def test_and_binds_tighter_than_or_and_ternary_is_right_associative():
    value = parse("x = a or b and c ? 1 : d ? 2 : 3\n").body[0].value
    assert isinstance(value, n.Conditional) and isinstance(value.orelse, n.Conditional)
    assert value.test.op == "or" and value.test.right.op == "and"


def test_function_switch_for_and_tuple_forms_parse():
    source = ("f(x, y = 2) =>\n    z = x + y\n    [z, y]\n[p, q] = f(1)\n"
              "s = switch\n    p > 1 => 1\n    => 2\nfor i = 0 to 3 by 1\n    q += i\n"
              "var float nav = na\na = array.new<float>(3, 0.0)\n")
    body = parse(source).body
    assert [type(s).__name__ for s in body] == [
        "FunctionDef", "TupleAssign", "Assign", "Expr", "Assign", "Assign"]
    assert body[4].mode == "var" and body[4].type == "float"
    assert body[5].value.generic == ("float",)


@pytest.mark.parametrize(("source", "line", "col", "text"), [
    ("x = 1\ny = (2\n", 2, 5, "never closed"),
    ("x = 1 $ 2\n", 1, 7, "unexpected character"),
    ("x = )\n", 1, 5, "unmatched"),
    ("x = 1\nimport foo/bar/1\n", 2, 1, "libraries (import)"),
    ("type Point\n    float x\n", 1, 1, "user-defined types"),
    ("if a\nb = 1\n", 2, 1, "expected an indented block"),
    ("x = 1\n        y = 2\n", 2, 9, "more than one block level"),
    ("x = f(1,\n", 1, 6, "never closed"),
])
def test_syntax_errors_name_the_problem_with_line_and_column(source, line, col, text):
    with pytest.raises(TranslationError) as info:
        parse(source)
    assert (info.value.line, info.value.col) == (line, col)
    assert text in str(info.value)


@pytest.mark.parametrize(("source", "line", "text"), [
    ('strategy("s")\nx = request.security("X", "D", close)\n', 2, "request.security"),
    ('indicator("i")\n', 1, "indicator() scripts cannot be backtested"),
    ("x = 1\n", 1, "no strategy(...) declaration"),
    ('strategy("s")\ny = foo(1)\n', 2, "unknown or unsupported function 'foo'"),
    ('strategy("s")\ny = zz + 1\n', 2, "unknown name 'zz'"),
    ('//@version=4\nstrategy("s")\n', 1, "v4 is not supported"),
    ('strategy("s")\np = ta.nosuch(close)\n', 2, "ta.nosuch() is not supported"),
])
def test_unsupported_constructs_raise_translation_errors_with_line(source, line, text):
    with pytest.raises(TranslationError) as info:
        translate(source)
    assert info.value.line == line
    assert text in str(info.value)


ALPHABET = st.sampled_from(list("abcxyz01239 \t\n()[]=:+-*/%<>?.,'\"#@!") +
                           ["if ", "for ", "to ", "=>", ":=", "strategy(", "ta.sma(", "    ",
                            "var ", "switch", "and ", "not ", "na", "close"])


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_translator_never_crashes_on_random_input(text):
    try:
        translate(text)
    except TranslationError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_translator_never_crashes_on_arbitrary_text(text):
    try:
        translate(text)
    except TranslationError:
        pass
