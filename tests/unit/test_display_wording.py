"""What a person reads on charts and in quality findings: singular counts, plot() series on a
scale that fits them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.market import quality
from reports import broker_charts


def _bars(index: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(index)
    return pd.DataFrame({"Open": np.full(n, 100.0), "High": np.full(n, 101.0),
                         "Low": np.full(n, 99.0), "Close": np.full(n, 100.5),
                         "Volume": np.full(n, 5.0)}, index=index)


def test_one_gap_is_one_gap() -> None:
    index = pd.date_range("2024-01-01", periods=48, freq="h").delete(10)
    report = quality.assess(_bars(index), "1h")
    assert [i.message for i in report.issues] == ["1 gap (1 missing bar)"]
    two = quality.assess(_bars(index.delete([20, 21, 30])), "1h")
    assert [i.message for i in two.issues] == ["3 gaps (4 missing bars)"]


def test_plot_series_far_from_price_get_their_own_panel() -> None:
    index = pd.date_range("2024-01-01", periods=300, freq="h")
    close = pd.Series(np.linspace(40_000, 42_000, 300), index=index)
    plots = pd.DataFrame({"Basis": close * 1.01, "RSI": np.linspace(30, 70, 300)}, index=index)
    spec = broker_charts.price_with_plots(close, plots).to_dict()
    top, below = spec["vconcat"]
    assert top["encoding"]["color"]["scale"]["domain"] == ["Close", "Basis"]
    assert below["encoding"]["color"]["scale"]["domain"] == ["RSI"]
    alone = broker_charts.price_with_plots(close, plots[["Basis"]]).to_dict()
    assert "vconcat" not in alone


def test_user_facing_text_has_no_glyph_common_fonts_lack() -> None:
    """Binance's "USDⓈ-M" renders as a missing glyph in Chromium's default fonts: the app, CLI
    and API write "USDS-M" (the cost presets' labels included)."""
    from pathlib import Path

    from core.runs import costs

    repo = Path(__file__).resolve().parents[2]
    sources = [p for folder in ("core", "ui", "app_pages", "api", "clicmd", "reports")
               for p in (repo / folder).rglob("*.py")] + [repo / "README.md"]
    assert [str(p) for p in sources if "\u24c8" in p.read_text(encoding="utf-8")] == []
    assert costs.PRESETS[("binance", "perp")].label.startswith("Binance USDS-M,")
