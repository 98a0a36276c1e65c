"""Translation output: valid under the sandbox rules, readable, typed parameters, settings."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model import Language
from core.pine.translation.api import translate
from core.strategies.validation import validate_python, validate_source
from sandbox.child import load_strategy_class
from tests.unit.pine.harness import EXAMPLES, load_bars, run_example, run_source, with_gaps

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.pine"))


def test_there_are_twenty_builtin_examples():
    assert len(NAMES) == 20


@pytest.mark.parametrize("name", NAMES)
def test_every_example_translates_to_valid_sandbox_python(name):
    source = (EXAMPLES / f"{name}.pine").read_text()
    translation = translate(source)
    assert validate_python(translation.python_source) == []
    assert validate_source(source, Language.PINE) == []
    load_strategy_class(translation.python_source)
    assert translate.__wrapped__(source) == translation  # deterministic (uncached re-run)


def test_every_example_runs_on_the_sample_data(settings):
    bars = load_bars(settings)
    traded = {name: len(run_example(name, bars)) for name in NAMES}
    no_trades = {k for k, v in traded.items() if v == 0}
    # the sample data has no opening gaps, which BarUpDn and Greedy need to trade
    assert no_trades == {"bar_up_dn", "greedy"}


def test_inputs_become_typed_parameters_with_titles_bounds_and_options():
    params = {p.name: p for p in translate((EXAMPLES / "keltner_channels.pine").read_text()).params}
    assert (params["length"].type, params["length"].default, params["length"].min) == ("int", 20, 1)
    assert (params["mult"].type, params["mult"].title) == ("float", "Multiplier")
    assert params["exp"].type == "bool" and params["exp"].default is True
    assert params["BandsStyle"].options == ("Average True Range", "True Range", "Range")
    assert params["src"].type == "str" and params["src"].default == "close"
    assert "close" in params["src"].options
    assert params["syminfo_mintick"].default == 0.01


def test_strategy_arguments_become_settings_with_tradingview_defaults():
    supertrend = translate((EXAMPLES / "supertrend.pine").read_text()).strategy_settings
    assert supertrend["default_qty_type"] == "percent_of_equity"
    assert supertrend["default_qty_value"] == 15
    assert supertrend["initial_capital"] == 1_000_000
    greedy = translate((EXAMPLES / "greedy.pine").read_text()).strategy_settings
    assert greedy["pyramiding"] == 100
    custom = translate('strategy("c", commission_type=strategy.commission.percent, '
                       'commission_value=0.1, slippage=2, initial_capital=5000, '
                       'process_orders_on_close=true)\n').strategy_settings
    assert custom["commission"] == pytest.approx(0.001)
    assert (custom["slippage"], custom["initial_capital"]) == (2, 5000)
    assert custom["process_orders_on_close"] is True
    assert custom["margin_long"] == 0.0
    v6 = translate('//@version=6\nstrategy("c")\n').strategy_settings
    assert v6["margin_long"] == 100.0


def test_plots_are_collected_and_drawings_ignored():
    translation = translate('strategy("p")\nplot(close, "Close line")\nplot(open)\n'
                            'label.new(bar_index, high, "x")\nbgcolor(color.red)\n')
    assert translation.plots == ("Close line", "plot_2")
    assert "label" not in translation.python_source


HOSTILE = '''strategy("x\\"\\"\\"\\nimport os  __class__", overlay=true)
print = input.int(3, "p")
len = close
exec = len + print
_hidden = 1
__x__ = "__import__('os')"
class_ = exec > len ? 1 : 0
if class_ == 1 and __x__ != "a__b"
    strategy.entry("__L__", strategy.long)
'''


def test_hostile_identifiers_and_strings_are_neutralised():
    translation = translate(HOSTILE)
    source = translation.python_source
    assert validate_python(source) == []
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [getattr(node, "module", None) for node in imports] == ["backtesting",
                                                                  "core.pine.runtime"]
    names = {p.name for p in translation.params}
    assert "in_print" in names and "print" not in names  # builtins are never redefined
    load_strategy_class(source)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.integers(1, 50), st.sampled_from(["sma", "ema", "rma", "wma"]))
def test_translation_is_deterministic(fast, slow, kind):
    source = (f'strategy("d")\nf = ta.{kind}(close, {fast})\ns = ta.{kind}(close, {slow})\n'
              'if ta.crossover(f, s)\n    strategy.entry("L", strategy.long)\n')
    fresh = translate.__wrapped__  # bypass the cache: two independent translations
    assert fresh(source).python_source == fresh(source).python_source


def test_every_fill_is_a_real_fill_inside_its_bar_with_consistent_pnl(settings):
    bars = with_gaps(load_bars(settings, end="2023-02-01"))
    high, low = bars["High"].to_numpy(), bars["Low"].to_numpy()
    for name in NAMES:
        trades = run_example(name, bars)
        assert len(trades) > 0, name
        for column, price in (("EntryBar", "EntryPrice"), ("ExitBar", "ExitPrice")):
            at = trades[column].to_numpy()
            prices = trades[price].to_numpy(dtype=float)
            assert (prices >= low[at] - 1e-9).all() and (prices <= high[at] + 1e-9).all(), name
        gross = trades["Size"] * (trades["ExitPrice"] - trades["EntryPrice"])
        np.testing.assert_allclose(trades["PnL"], gross - trades["Commission"], rtol=1e-9,
                                   atol=1e-6, err_msg=name)


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["close", "open", "high", "low", "volume", "bar_index", "1", "2.5",
                              "na", "x", "ta.sma(close, 5)", "ta.rsi(close, 14)"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", ">", "<", "==",
                                                   "and", "or"]), inner)
        return st.one_of(
            binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            inner.map(lambda e: f"nz({e})"), inner.map(lambda e: f"(not {e})"),
            inner.map(lambda e: f"ta.ema({e}, 3)"), inner.map(lambda e: f"({e})[1]"))
    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=40, deadline=None)
@given(_expressions(), _expressions())
def test_valid_pine_always_gives_valid_sandbox_python(first, second):
    source = (f'strategy("fuzz")\nx = 0.0\nx := {first}\ny = {second}\n'
              'if y > 0\n    strategy.entry("L", strategy.long)\nelse\n'
              '    strategy.close("L")\n')
    translation = translate(source)
    assert validate_python(translation.python_source) == []


@settings(max_examples=8, deadline=None)
@given(_expressions(), _expressions())
def test_valid_pine_runs_without_python_errors(first, second):
    from tests.unit.pine.test_semantics import _bars

    source = (f'strategy("fuzz")\nx = 0.0\nx := {first}\ny = {second}\n'
              'if y > 0\n    strategy.entry("L", strategy.long)\n')
    run_source(source, _bars())


def test_a_name_declared_twice_in_one_block_is_refused_with_its_line():
    from core.errors import TranslationError

    source = ('strategy("s")\nif close > 0\n    limitPrice = 1.0\n    limitPrice = 2.0\n'
              'if close > 1\n    limitPrice = 3.0\n')
    with pytest.raises(TranslationError, match="'limitPrice' is already declared") as info:
        translate(source)
    assert info.value.line == 4
    nested = 'strategy("s")\nx = 1.0\nif close > 0\n    x = 2.0\n'  # shadows the outer x
    with pytest.raises(TranslationError, match="'x' is already declared"):
        translate(nested)
