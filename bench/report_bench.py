"""P6 (quantstats tearsheet) and P7 (PDF report) on a 3-year hourly run (26,304 bars).

The run goes through the real sandbox once; the timed parts are report building from the
store (uncached). Baselines: quantstats' own reports.html on the same daily returns (P6) and
nothing for P7 (target: <= 3 s, seed budget 15 s).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from bench.common import best_of, row, temp_settings
from core.analytics import run_bundle as analytics
from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import PERIODS_PER_YEAR, BacktestConfig, RunStatus, StrategyMeta
from reports import pdf, tearsheet

REPO = Path(__file__).resolve().parents[1]


def _quantstats_baseline(bundle: analytics.RunBundle) -> float:
    import quantstats as qs

    strat = tearsheet._daily(bundle.equity).rename("Strategy")  # noqa: SLF001 - same input
    bench = tearsheet._daily(bundle.benchmark).rename("Buy & hold")  # noqa: SLF001

    def call() -> None:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), \
                tearsheet._quiet_fonts():  # noqa: SLF001
            warnings.simplefilter("ignore")
            qs.reports.html(strat, benchmark=bench, periods_per_year=PERIODS_PER_YEAR,
                            output=str(Path(tmp) / "t.html"))

    return best_of(call, repeat=2)


def run() -> list[dict[str, object]]:
    """Rows for P6 and P7 (and the run bundle load they both start from)."""
    with temp_settings() as settings:
        source = (REPO / "examples" / "sma_cross.py").read_text()
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=source)
        record = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
            symbol="BTCUSDT", timeframe="1h", commission=0.001))
        if record.status is not RunStatus.COMPLETED:
            raise RuntimeError(f"bench run failed: {record.status.value} {record.error}")
        bundle = analytics.load(settings, record.id)
        load_s = best_of(lambda: analytics.load(settings, record.id), repeat=3)
        title = f"bench run {record.id}"
        tearsheet.build_html(bundle.equity, bundle.benchmark, title=title)  # warm font caches
        p6 = best_of(lambda: tearsheet.build_html(bundle.equity, bundle.benchmark, title=title),
                     repeat=2)
        p7 = best_of(lambda: pdf.build_pdf(analytics.load(settings, record.id)), repeat=3)
        baseline = _quantstats_baseline(bundle)
    bars = f"{len(bundle.equity):,} bars, {len(bundle.trades)} trades"
    return [row(f"report: load run bundle ({bars})", load_s, target="(part of P6/P7)"),
            row("P6 tearsheet HTML (quantstats, 365 d; baseline qs.reports.html)", p6,
                baseline=baseline, target="once per run, then cached"),
            row("P7 PDF report from the store (load + charts + reportlab)", p7,
                target="<= 3 s (seed < 15 s)")]
