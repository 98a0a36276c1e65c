"""Static PNG charts for the PDF report, drawn with matplotlib's object API on the Agg canvas.

No pyplot (no global figure state); each function returns PNG bytes and the height/width ratio.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from core.analytics.run_bundle import RunBundle
from reports import frames

DPI = 110
WIDTH_IN = 7.2


def _png(fig: Figure) -> tuple[bytes, float]:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib font-cache chatter is not ours
        # fixed margins (no bbox_inches="tight", which draws twice); fast zlib level
        fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    width, height = fig.get_size_inches()
    return buffer.getvalue(), float(height / width)


def _thin(series: pd.Series, limit: int = 1_500) -> pd.Series:
    step = -(-len(series) // limit)
    return series.iloc[::step] if step > 1 else series


def equity_png(equity: pd.Series, benchmark: pd.Series) -> tuple[bytes, float]:
    """Equity vs buy and hold from the same capital, USDT."""
    fig = Figure(figsize=(WIDTH_IN, 2.6))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.12)
    ax = fig.add_subplot()
    bench = benchmark.reindex(equity.index) / float(benchmark.iloc[0]) * float(equity.iloc[0])
    ax.plot(_thin(equity).index, _thin(equity).to_numpy(), lw=1.1, color="#1f77b4",
            label="Strategy")
    ax.plot(_thin(bench).index, _thin(bench).to_numpy(), lw=1.0, color="#9a9a9a",
            label="Buy & hold")
    ax.set_title("Equity vs buy & hold (USDT)", fontsize=9, loc="left")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    return _png(fig)


def drawdown_png(equity: pd.Series) -> tuple[bytes, float]:
    """Underwater curve (drawdown from the running peak, %)."""
    fig = Figure(figsize=(WIDTH_IN, 1.6))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.85, bottom=0.18)
    ax = fig.add_subplot()
    dd = _thin(frames.drawdown(equity)) * 100.0
    ax.fill_between(dd.index, dd.to_numpy(), 0.0, color="#d62728", alpha=0.45, lw=0)
    ax.set_title("Drawdown (%)", fontsize=9, loc="left")
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    return _png(fig)


def heatmap_png(equity: pd.Series) -> tuple[bytes, float]:
    """Year x month grid of monthly returns (%), red losses, green gains."""
    data = frames.monthly_returns(equity)
    grid = data.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))
    height = 0.7 + 0.38 * len(grid)
    fig = Figure(figsize=(WIDTH_IN, height))
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.3 / height, bottom=0.25 / height)
    ax = fig.add_subplot()
    values = grid.to_numpy(dtype=float) * 100.0
    limit = max(float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0, 1e-9)
    ax.imshow(values, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(12), frames.MONTHS, fontsize=7)
    ax.set_yticks(range(len(grid)), [str(y) for y in grid.index], fontsize=7)
    ax.set_title("Monthly returns (%)", fontsize=9, loc="left")
    return _png(fig)


def render_all(bundle: RunBundle) -> list[tuple[bytes, float]]:
    """The PDF's chart page: equity, drawdown, monthly heatmap."""
    return [equity_png(bundle.equity, bundle.benchmark), drawdown_png(bundle.equity),
            heatmap_png(bundle.equity)]
