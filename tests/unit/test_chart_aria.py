"""Long time-series charts carry no per-point ARIA description (Vega formatted one for every
point of a line, whose single path shows none: a fifth of their draw time on Results) but carry
one description of the whole chart for screen readers (reports.charts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reports import charts


def _marks(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [spec["mark"]] if "mark" in spec else []
    for key in ("layer", "vconcat", "hconcat"):
        for child in spec.get(key, []):
            found += _marks(child)
    return found


def _equity() -> pd.Series:
    index = pd.date_range("2022-01-01", periods=5_000, freq="1h")
    rng = np.random.default_rng(3)
    return pd.Series(10_000 * np.exp(np.cumsum(rng.normal(0, 0.004, len(index)))), index=index)


def test_time_series_marks_have_no_per_point_description_but_the_chart_has_one() -> None:
    equity = _equity()
    built = [charts.equity_vs_benchmark(equity, equity * 1.01), charts.underwater(equity),
             charts.rolling_sharpe_volatility(equity)]
    for chart in built:
        spec = chart.to_dict(validate=False)
        marks = _marks(spec)
        assert marks and all(m["aria"] is False for m in marks), marks
        assert all(m["line"]["aria"] is False for m in marks if isinstance(m.get("line"), dict))
        assert spec["description"], spec.keys()
