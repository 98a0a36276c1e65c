"""Language semantics end to end: each script computes a value with one feature and enters a
long on bar 5 only if the value is what Pine gives; the trade proves the value.

Every case also runs with the expectation changed, which must produce no trade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.unit.pine.harness import run_source

CASES = {
    "var": ("var int n = 0\nn += 1\nv = n", "6"),
    "history of an expression": ("v = ta.highest(high, 3)[1] == math.max(high[1], high[2], "
                                 "high[3]) ? 1 : 0", "1"),
    "per call site state": ("d(x) =>\n    x - x[1]\na = d(close)\nb = d(close * 2)\n"
                            "v = math.round(b / a)", "2"),
    "tuples": ("g(x) =>\n    [x, x + 1]\n[p, q] = g(1)\nv = p + q", "3"),
    "if expression": ("v = if close > 0\n    10\nelse\n    20", "10"),
    "switch with subject": ('s = switch 2\n    1 => "a"\n    2 => "b"\n    => "c"\n'
                            'v = s == "b" ? 1 : 0', "1"),
    "for loops count both ways": ("t = 0\nfor i = 1 to 4\n    t += i\nfor j = 3 to 1\n"
                                  "    t += j\nv = t", "16"),
    "while and break": ("k = 0\nwhile true\n    k += 1\n    if k >= 7\n        break\nv = k", "7"),
    "arrays": ("var a = array.new_float()\narray.push(a, 1.5)\na.push(0.5)\n"
               "v = array.size(a) * 100 + array.sum(a)", "1212"),
    "na handling": ("x = na(close[10]) ? nz(close[10], 5) : 0\nv = x", "5"),
    "str and math": ('v = str.tostring(12.5) == "12.5" and math.round(2.5) == 3 and '
                     'math.sign(-3) == -1 ? 1 : 0', "1"),
    "barstate.isfirst": ("var f = 0\nif barstate.isfirst\n    f := 100 + bar_index\nv = f", "100"),
    "calendar in UTC": ("v = dayofweek * 100 + hour", "105"),
    "timestamp": ("v = time == timestamp(2023, 1, 1, 5, 0) ? 1 : 0", "1"),
    "v5 const int division truncates": ("v = 5 / 2", "2"),
    "casts": ("v = int(7.9) + int(float(2)) + (bool(1) ? 1 : 0)", "10"),
    "series int division keeps the fraction": ("n = bar_index + 2\nv = n / 2 * 2", "7"),
    # Pine: each if/for block is its own scope, so sibling blocks may each declare a name
    # (issue 14, D8: "'limitPrice' is already declared" refused valid Pine)
    "sibling blocks declare the same name": ("t = 0.0\nif close > 0\n    limitPrice = 3.0\n"
                                             "    t += limitPrice\nif close > 1\n"
                                             "    limitPrice = 4.0\n    t += limitPrice\n"
                                             "v = t", "7"),
}


def _bars() -> pd.DataFrame:
    close = 100 + np.arange(12, dtype=float)
    frame = pd.DataFrame({"Open": close - 0.5, "High": close + 1, "Low": close - 1,
                          "Close": close, "Volume": 1.0},
                         index=pd.date_range("2023-01-01", periods=12, freq="h"))
    return frame


def _script(body: str, expected: str) -> str:
    return (f'//@version=5\nstrategy("case")\n{body}\n'
            f"if bar_index == 5 and v == {expected}\n    strategy.entry(\"L\", strategy.long)\n")


@pytest.mark.parametrize("case", sorted(CASES))
def test_feature_computes_the_pine_value(case):
    body, expected = CASES[case]
    trades = run_source(_script(body, expected), _bars())
    assert trades["EntryBar"].tolist() == [6]
    wrong = run_source(_script(body, expected + "1"), _bars())
    assert wrong.empty


def test_closed_and_open_trade_fields():
    source = ('strategy("t")\nif bar_index == 1 or bar_index == 3 or bar_index == 5\n'
              '    strategy.entry(bar_index == 3 ? "S" : "L", bar_index == 3 ? strategy.short : '
              'strategy.long)\n'
              'ok = strategy.closedtrades == 2 and strategy.closedtrades.entry_bar_index(0) == 2 '
              'and strategy.closedtrades.exit_price(1) == open[1] and '
              'strategy.opentrades.size(0) == 1 and strategy.opentrades.entry_id(0) == "L"\n'
              'if bar_index == 7 and ok\n    strategy.close("L")\n')
    trades = run_source(source, _bars())
    assert trades[["EntryBar", "ExitBar"]].to_numpy().tolist() == [[2, 4], [4, 6], [6, 8]]


def test_v5_when_argument_gates_the_order():
    source = ('strategy("w")\nstrategy.entry("L", strategy.long, when = bar_index == 5)\n'
              'strategy.close("L", when = bar_index == 7)\n')
    trades = run_source(source, _bars())
    assert trades[["EntryBar", "ExitBar"]].to_numpy().tolist() == [[6, 8]]


def test_source_input_can_be_overridden_by_parameter():
    source = ('strategy("s")\nsrc = input.source(close, "Source")\n'
              "if bar_index == 5 and src == high\n    strategy.entry(\"L\", strategy.long)\n")
    assert run_source(source, _bars()).empty
    assert run_source(source, _bars(), params={"src": "high"})["EntryBar"].tolist() == [6]


def test_v6_and_is_lazy_and_v5_and_is_eager():
    # ta.cum(1) counts its own executions: eagerly 6 by bar 5, lazily 3 (bars 3, 4, 5)
    template = ('{v}strategy("lazy")\nx = bar_index >= 3 and ta.cum(1) == 3\n'
                'if bar_index == 5 and x\n    strategy.entry("L", strategy.long)\n')
    assert run_source(template.format(v="//@version=5\n"), _bars()).empty
    assert run_source(template.format(v="//@version=6\n"), _bars())["EntryBar"].tolist() == [6]
