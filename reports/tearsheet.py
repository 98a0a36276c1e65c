"""quantstats HTML tearsheet of a run (periods=365, benchmark = buy and hold of the same bars).

Generated once per run and cached in the store's artifacts table. User strings (the strategy
name) are HTML-escaped before they reach the document.

quantstats computes every row from daily returns. Rows whose value depends on the bar resolution
(Max Drawdown and Calmar: quantstats sees daily closes only; Time in Market: quantstats counts
days with a non-zero return) are replaced by the Results page's per-bar values
(core.analytics.metrics), so each figure has one value; a note under the title says which rows
those are and that the drawdown charts and the Worst 10 Drawdowns table stay on daily closes.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from core.analytics import metrics, trade_stats
from core.runs import service as runs
from core.model import PERIODS_PER_YEAR
from core.settings import Settings
from reports import artifacts

ARTIFACT_KIND = "tearsheet_html"


def _daily(series: pd.Series) -> pd.Series:
    returns = metrics.daily_returns(series)  # the Results page's daily returns
    returns.index = pd.DatetimeIndex(returns.index, name="Date")
    return returns.copy()


@contextlib.contextmanager
def _quiet_fonts():
    """quantstats asks matplotlib for Arial, absent here: keep its per-glyph log lines out."""
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def build_html(equity: pd.Series, benchmark: pd.Series, *, title: str,
               trades: pd.DataFrame | None = None) -> bytes:
    """Render the tearsheet for an equity curve and benchmark close prices; ``trades`` (engine
    columns, core.analytics.trade_stats.engine_trades) give Time in Market its per-bar value
    (Exposure); without them that row stays quantstats' own (days with a non-zero return)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import quantstats as qs

    strat = _daily(equity).rename("Strategy")
    bench = _daily(benchmark).rename("Buy & hold")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _quiet_fonts():
        warnings.simplefilter("ignore")  # quantstats/pandas deprecation chatter is not ours
        out = Path(tmp) / "tearsheet.html"
        qs.reports.html(strat, benchmark=bench, periods_per_year=PERIODS_PER_YEAR,
                        title=html.escape(title), output=str(out), compounded=True,
                        match_dates=False)  # keep the warm-up days: same span as Results
        page = out.read_text(encoding="utf-8")
    return _with_per_bar_rows(page, _per_bar_values(equity, benchmark, trades)).encode()


# quantstats row label -> (our metric, how quantstats writes it: its sign and suffix)
PER_BAR_ROWS = {"Max Drawdown": ("max_drawdown", -100.0, "%"),
                "Calmar": ("calmar_ratio", 1.0, ""), "Time in Market": ("exposure", 100.0, "%")}
NOTE = ("<p><em>Max Drawdown, Calmar and Time in Market are PineOpt's per-bar values, as on the "
        "Results page (Time in Market = Exposure: share of bars with a position open). The "
        "drawdown charts and the Worst 10 Drawdowns table use daily closes, so on intraday bars "
        "their drawdowns can be smaller.</em></p>")


def _per_bar_values(equity: pd.Series, benchmark: pd.Series,
                    trades: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """Row label -> (Buy & hold cell, Strategy cell) of the per-bar rows, quantstats-styled."""
    empty = pd.DataFrame(columns=["EntryBar", "ExitBar"])
    strat = metrics.Inputs(equity=equity, trades=trades if trades is not None else empty,
                           benchmark=benchmark)
    bench = metrics.Inputs(equity=benchmark, trades=empty, benchmark=benchmark)
    out = {}
    for label, (name, scale, suffix) in PER_BAR_ROWS.items():
        if name == "exposure" and trades is None:
            continue
        func = metrics.METRICS[name][0]
        values = [1.0 if name == "exposure" else func(bench), func(strat)]
        out[label] = tuple(f"{v * scale:.2f}{suffix}" for v in values)
    return out


def _with_per_bar_rows(page: str, cells: dict[str, tuple[str, str]]) -> str:
    """The tearsheet with the per-bar rows' cells replaced and the note under the title."""
    for label, (bench, strat) in cells.items():
        page = re.sub(rf"<tr><td>{re.escape(label)}</td><td>[^<]*</td><td>[^<]*</td></tr>",
                      f"<tr><td>{label}</td><td>{bench}</td><td>{strat}</td></tr>", page, count=1)
    return page.replace("</h1>", "</h1>" + NOTE, 1)


def is_cached(settings: Settings, run_id: int) -> bool:
    """True when the run's tearsheet is already stored."""
    return artifacts.cached(settings.db_path, run_id, ARTIFACT_KIND) is not None


def _build(settings: Settings, run_id: int) -> bytes:
    db = settings.db_path
    run = runs.get_run(db, run_id)
    runs.require_completed(run)
    equity = runs.run_equity(db, run_id)
    bench = runs.run_benchmark(settings, run)
    title = f"{run.strategy_name} v{run.strategy_version} · run {run.id} · {run.config.symbol} " \
            f"{run.config.timeframe}"
    trades = trade_stats.engine_trades(runs.run_trades(db, run_id))
    return build_html(equity, bench, title=title, trades=trades)


def tearsheet_html(settings: Settings, run_id: int) -> bytes:
    """The run's tearsheet, from the cache or built and cached now."""
    return artifacts.get_or_build(settings.db_path, run_id, ARTIFACT_KIND,
                                  lambda: _build(settings, run_id))
