"""The examples gallery offers the 8 Python and the 20 Pine examples the README promises."""

from __future__ import annotations

from core.strategies import examples
from core.pine.translation import api as pine
from core.model import Language


def test_gallery_has_python_then_twenty_pine_examples_with_titles() -> None:
    python = examples.list_examples()
    pine_examples = examples.list_examples(language=Language.PINE)
    assert len(python) >= 8 and {e.language for e in python} == {Language.PYTHON}
    assert len(pine_examples) == 20
    assert examples.list_examples(language=None) == python + pine_examples
    by_key = {e.key: e for e in pine_examples}
    assert by_key["pine/rsi_strategy"].title == "RSI Strategy"
    assert by_key["pine/bar_up_dn"].title == "BarUpDn Strategy"
    # the two gap strategies say why they make no trades on gap-free crypto bars
    assert {k for k, e in by_key.items() if "no trades" in e.description} == {
        "pine/bar_up_dn", "pine/greedy"}
    for ex in pine_examples:
        assert examples.get_example(ex.key) == ex
        assert pine.translate(ex.source).python_source  # each one translates
