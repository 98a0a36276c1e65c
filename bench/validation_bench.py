"""P1: static validation time of a typical 100-line strategy (target <= 0.2 s).

The strategy is the Donchian/ATR example plus extra indicator helpers, 100+ lines. Measured
warm (the allowed libraries are already imported, as in the running app), best of 5.
"""

from __future__ import annotations

from bench.common import best_of
from core.strategies import validation
from core.settings import REPO_ROOT

HELPER = '''

def helper_{n}(close, n):
    """Extra indicator {n}: a smoothed momentum of the close over n bars."""
    series = pd.Series(close)
    change = series.diff(n)
    smooth = change.rolling(n).mean()
    return smooth / series.rolling(n).std()
'''


def hundred_line_strategy() -> str:
    """A valid strategy of at least 100 lines."""
    source = (REPO_ROOT / "examples" / "donchian_atr.py").read_text()
    n = 0
    while source.count("\n") < 100:
        source += HELPER.format(n=n)
        n += 1
    return source


def run() -> list[dict[str, object]]:
    """Measure P1."""
    source = hundred_line_strategy()
    if validation.validate_python(source):  # warm-up, and the figure is only fair if valid
        raise RuntimeError("the bench strategy does not validate")
    seconds = best_of(lambda: validation.validate_python(source), repeat=5)
    return [{"name": "P1 validate 100-line strategy", "seconds": seconds,
             "baseline_seconds": None, "ratio": None, "target": 0.2}]
