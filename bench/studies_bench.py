"""Sweep speed: a 90-combination SMA-cross grid on 50,000 bars, PineOpt's batched sandbox sweep
vs backtesting.py's own Backtest.optimize on the same data and grid, in the same run.

Ours: `core.studies.sweep` (sandbox children in batches, one per core, every trial checked and
its metrics computed by the host, identical-trial reuse OFF so every trial really runs).
Baseline: Backtest.optimize(fast=5..50 step 5, slow=60..140 step 10) on the same strategy as
plain Python (a user's own backtesting.py), with its default multiprocessing.
Target from issue 19: ours at least 3x faster (ratio <= 0.33). ST1f is the floor under it: the
CPU time of one trial's backtest in this process (our engine on the sandbox-compiled strategy)
over one plain backtesting.py run; with the same cores on both sides no batching goes below it.
ST1b: the CPU a trial cannot go below (the sandbox-compiled next() alone, once per bar, plus
backtesting.py's per-bar cut of the indicators) over the CPU a trial may use for ST1 <= 0.33 on
the same cores; above 1 the target is out of reach with this design.
Also reported: the TPE search's best Sharpe vs the grid optimum on a 400+-combination space, and
how many trials it needed.
Run directly: `python -m bench studies`.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import pandas as pd

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import minute_bars, row, store_bars
from core import bootstrap
from core.strategies import crud as strategies
from core.model import BacktestConfig, StrategyMeta
from core.settings import REPO_ROOT, Settings, load_settings
from core.studies import study_store, sweep

SOURCE = (REPO_ROOT / "examples" / "sma_cross.py").read_text()
BARS = 50_000
FAST = "5:50:5"  # 10 values
SLOW = "60:140:10"  # 9 values -> 90 combinations, all with fast < slow


@contextmanager
def temp_settings() -> Iterator[Settings]:
    """A throwaway PINEOPT_HOME that keeps this machine's sandbox names (PINEOPT_SANDBOX_*,
    PINEOPT_JOBS_ROOT) from the environment (bench.common's helper drops them)."""
    home = Path(tempfile.mkdtemp(prefix="pineopt-bench-"))
    try:
        settings = load_settings({**os.environ, "PINEOPT_HOME": str(home)})
        bootstrap.init_store(settings)
        yield settings
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _sma(values, n):  # noqa: ANN001, ANN202 - the example's helper, verbatim
    return pd.Series(values).rolling(n).mean()


def _plain_class() -> type:
    """examples/sma_cross.py as plain Python, defined in this module so Backtest.optimize's
    worker processes can pickle it (a RestrictedPython-compiled class cannot be pickled)."""
    from backtesting import Strategy
    from backtesting.lib import crossover

    global SmaCross  # noqa: PLW0603 - picklable by reference: bench.studies_bench.SmaCross

    class SmaCross(Strategy):
        fast = 20
        slow = 60

        def init(self):  # noqa: ANN202
            self.fast_ma = self.I(_sma, self.data.Close, self.fast)
            self.slow_ma = self.I(_sma, self.data.Close, self.slow)

        def next(self):  # noqa: ANN202
            if crossover(self.fast_ma, self.slow_ma):
                self.position.close()
                self.buy()
            elif crossover(self.slow_ma, self.fast_ma):
                self.position.close()

    return SmaCross


def _baseline(data: pd.DataFrame) -> float:
    from backtesting import Backtest

    cls = _plain_class()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, cls, cash=1_000_000.0, commission=0.001, finalize_trades=True).optimize(
            fast=range(5, 55, 5), slow=range(60, 150, 10), constraint=lambda p: p.fast < p.slow,
            maximize="Sharpe Ratio")
    return time.perf_counter() - start


def _floor(data: pd.DataFrame, *, repeat: int = 5) -> tuple[float, float]:
    """CPU seconds of one trial's backtest in this process, without sandbox, files or checks:
    (our engine.run of the sandbox-compiled class as a trial runs it, without backtesting.py's
    stats; one plain backtesting.py Backtest.run with its stats, which Backtest.optimize needs
    for its objective), the best of ``repeat`` interleaved pairs. Their ratio is the best ST1 ratio any
    batching can reach with the same cores on both sides."""
    from backtesting import Backtest

    from core.engine import backtest as engine
    from sandbox.child import load_strategy_class

    restricted, plain = load_strategy_class(SOURCE), _plain_class()
    settings = engine.EngineSettings(cash_usdt=1_000_000.0, commission=0.001)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            start = time.process_time()
            engine.run(restricted, data, settings, params={"fast": 20, "slow": 100},
                       stats=False)  # as core.engine.batch runs a trial
            ours.append(time.process_time() - start)
            start = time.process_time()
            Backtest(data, plain, cash=1_000_000.0, commission=0.001, finalize_trades=True).run(
                fast=20, slow=100)
            theirs.append(time.process_time() - start)
    return min(ours), min(theirs)


def _bound(data: pd.DataFrame, *, repeat: int = 5) -> float:
    """CPU seconds no trial of this strategy can go below with a backtesting.py core in the
    sandbox: its sandbox-compiled ``next()`` called once per bar with nothing else (the broker
    stubbed), plus backtesting.py's per-bar cut of its two indicators to the current bar (what
    keeps user code from seeing later bars); the best of ``repeat``."""
    from backtesting._util import _Indicator

    from sandbox.child import load_strategy_class

    close = pd.Series(data["Close"].to_numpy())
    fast = _Indicator(close.rolling(20).mean().to_numpy(), name="fast", index=data.index)
    slow = _Indicator(close.rolling(100).mean().to_numpy(), name="slow", index=data.index)
    strategy_next = load_strategy_class(SOURCE).next

    class Flat:  # the attributes next() reads, doing nothing
        def close(self) -> None:
            pass

    class Stub:
        position = Flat()

        def buy(self) -> None:
            pass

    stub, best = Stub(), float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for i in range(100, len(data)):
            stub.fast_ma, stub.slow_ma = fast[..., :i + 1], slow[..., :i + 1]
            strategy_next(stub)
        best = min(best, time.process_time() - start)
    return best


def run() -> list[dict[str, object]]:
    """Measure the grid sweep (and the TPE-vs-grid quality figure)."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bars
    out = []
    with temp_settings() as settings:
        data = minute_bars(BARS)
        store_bars(settings, data, symbol="BENCHUSDT", timeframe="1m")
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=SOURCE)
        config = BacktestConfig(exchange="bench", symbol="BENCHUSDT", timeframe="1m",
                                cash_usdt=1_000_000.0, commission=0.001)
        study_id = sweep.create(settings, strategy_id=sid, config=config,
                                specs={"fast": FAST, "slow": SLOW}, method="grid",
                                constraints=["fast < slow"])
        start, cpu = time.perf_counter(), time.process_time()
        report = sweep.run(settings, study_id, workers=os.cpu_count() or 1, reuse=False)
        ours, parent_cpu = time.perf_counter() - start, time.process_time() - cpu
        if report.status != "completed" or report.executed != 90:
            raise RuntimeError(f"bench sweep: {report.status}, {report.executed} trials, "
                               f"{report.errors}")
        base = _baseline(data)
        out.append(row(f"ST1 90-combination SMA grid, 50k bars vs Backtest.optimize (parent CPU "
                       f"{parent_cpu / 90 * 1000:.0f} ms/trial)", ours, baseline=base,
                       target="<= 0.33x"))
        print(out[-1], file=sys.stderr, flush=True)  # kept even if the TPE figure fails
        engine_s, plain_s = _floor(data)
        out.append(row("ST1f floor: one trial's backtest, CPU s, ours vs a plain Backtest.run",
                       engine_s, baseline=plain_s, target="ST1 >= this"))
        print(out[-1], file=sys.stderr, flush=True)
        cores = os.cpu_count() or 1
        budget = base * cores / 90 / 3  # CPU per trial if ours took a third of the baseline
        out.append(row("ST1b bound: sandboxed next() + per-bar indicator cut alone, CPU s, vs "
                       "the CPU a trial may use for 3x", _bound(data), baseline=budget,
                       target="> 1: 3x out of reach"))
        print(out[-1], file=sys.stderr, flush=True)
        out.append(_tpe_vs_grid(settings, sid))
    return out


def _tpe_vs_grid(settings, sid: int) -> dict[str, object]:  # noqa: ANN001
    """TPE on a 580-combination space (3 months of 1h sample data) vs the grid optimum."""
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                            end="2024-03-31", cash_usdt=100_000.0, commission=0.001)
    specs = {"fast": "5:100:5", "slow": "20:300:10"}  # 20 x 29 = 580
    grid_id = sweep.create(settings, strategy_id=sid, config=config, specs=specs,
                           method="grid", max_trials=1000)
    start = time.perf_counter()
    sweep.run(settings, grid_id, reuse=False)
    grid_s = time.perf_counter() - start
    optimum = sweep.best_trial(settings, grid_id)["objective"]
    tpe_id = sweep.create(settings, strategy_id=sid, config=config, specs=specs, method="tpe",
                          max_trials=60, seed=1)
    start = time.perf_counter()
    sweep.run(settings, tpe_id, reuse=False)
    tpe_s = time.perf_counter() - start
    frame = study_store.trials_frame(settings.db_path, tpe_id)
    best = frame["objective"].max()
    needed = int(frame.loc[frame["objective"] == best, "n"].min())
    grid = study_store.trials_frame(settings.db_path, grid_id)["objective"]
    rank = int((grid > best).sum()) + 1
    return row(f"ST2 TPE 60 of 580: best Sharpe {best:.3f} (grid rank {rank}) vs optimum "
               f"{optimum:.3f}, at trial {needed}", tpe_s, baseline=grid_s,
               target="best = optimum")


if __name__ == "__main__":
    for r in run():
        print(r)
