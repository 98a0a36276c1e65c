"""quantstats HTML tearsheet of a run (periods=365, benchmark = buy and hold of the same bars).

Generated once per run and cached in the store's artifacts table. User strings (the strategy
name) are HTML-escaped before they reach the document.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from core.analytics import metrics
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


def build_html(equity: pd.Series, benchmark: pd.Series, *, title: str) -> bytes:
    """Render the tearsheet for an equity curve and benchmark close prices."""
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
        return out.read_bytes()


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
    return build_html(equity, bench, title=title)


def tearsheet_html(settings: Settings, run_id: int) -> bytes:
    """The run's tearsheet, from the cache or built and cached now."""
    return artifacts.get_or_build(settings.db_path, run_id, ARTIFACT_KIND,
                                  lambda: _build(settings, run_id))
