"""Dask executor speed (issue 20): sweep throughput on an in-process LocalCluster with 1 and 2
workers (one thread each, the PineOpt preload, the real firejail sandbox) against the local
sandbox pool, and the per-task overhead of the Dask path.

DK1-DK3: the same 24-trial SMA grid on 5,000 one-minute bars (batches of 4, identical-trial reuse
OFF), wall time of sweep.run(); the baseline is the local pool with 2 children at once.
Cluster start-up (workers' self-tests) is excluded: it happens once per process.
DK4: one-trial batches one after another through core.studies.executor.run_batch, local pool vs
a 1-worker cluster; the difference per task is what the Dask path adds (sending the job and the
bars as bytes, the scheduler round trip, the files back, writing them for the checks).
Run directly: `python -m bench dask`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import minute_bars, row, store_bars
from bench.studies_bench import SOURCE, temp_settings
from core import bootstrap, executors
from core.strategies import crud as strategies
from core.executors import cluster
from core.model import BacktestConfig, StrategyMeta
from core.settings import Settings, load_settings
from core.studies import sweep
from core.studies.executor import Job, run_batch

BARS = 5_000
SPECS = {"fast": "5:30:5", "slow": "40:70:10"}  # 6 x 4 = 24 trials, all with fast < slow
TRIALS = 24
OVERHEAD_TASKS = 6
CONFIG = BacktestConfig(exchange="bench", symbol="BENCHUSDT", timeframe="1m",
                        cash_usdt=1_000_000.0, commission=0.001)


def _with(settings: Settings, **env: str) -> Settings:
    """The same store with other executor settings."""
    return load_settings({**os.environ, "PINEOPT_HOME": str(settings.home), **env})


def _sweep_seconds(settings: Settings, sid: int, *, workers: int | None) -> float:
    study_id = sweep.create(settings, strategy_id=sid, config=CONFIG, specs=SPECS,
                            method="grid", constraints=["fast < slow"], max_trials=TRIALS)
    start = time.perf_counter()
    report = sweep.run(settings, study_id, workers=workers, batch_size=4, reuse=False)
    seconds = time.perf_counter() - start
    if report.status != "completed" or report.executed != TRIALS:
        raise RuntimeError(f"bench sweep: {report.status}, {report.executed}, {report.errors}")
    return seconds


def _per_task(settings: Settings, job: Job) -> float:
    start = time.perf_counter()
    for i in range(OVERHEAD_TASKS):
        results = run_batch(settings, job, [{"fast": 5 + i, "slow": 40}])
        if not results[0].ok:
            raise RuntimeError(f"bench task failed: {results[0].error}")
    return (time.perf_counter() - start) / OVERHEAD_TASKS


def _on_cluster(settings: Settings, workers: int, measure: callable) -> float:
    """measure(settings) on a fresh LocalCluster of ``workers`` (started and stopped here)."""
    on_dask = _with(settings, PINEOPT_EXECUTOR="dask", PINEOPT_DASK_WORKERS=str(workers))
    try:
        executors.require(on_dask)  # start the cluster and wait for a worker
        cluster.connection(on_dask).client.wait_for_workers(workers, timeout=120)
        return measure(on_dask)
    finally:
        cluster.close_all()


def run() -> list[dict[str, object]]:
    """Measure DK1-DK4."""
    worker_home = Path(tempfile.mkdtemp(prefix="pineopt-bench-worker-"))
    previous = os.environ.get("PINEOPT_HOME")
    os.environ["PINEOPT_HOME"] = str(worker_home)  # the LocalCluster workers' own home
    try:
        with temp_settings() as settings:
            return _measure(settings)
    finally:
        if previous is None:
            os.environ.pop("PINEOPT_HOME", None)
        else:
            os.environ["PINEOPT_HOME"] = previous
        shutil.rmtree(worker_home, ignore_errors=True)


def _measure(settings: Settings) -> list[dict[str, object]]:
    bootstrap.init_store(settings)
    data = minute_bars(BARS)
    store_bars(settings, data, symbol="BENCHUSDT", timeframe="1m")
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bench"), source=SOURCE)
    local = _sweep_seconds(settings, sid, workers=2)
    one = _on_cluster(settings, 1, lambda s: _sweep_seconds(s, sid, workers=None))
    two = _on_cluster(settings, 2, lambda s: _sweep_seconds(s, sid, workers=None))
    loaded = data.loc[:, ["Open", "High", "Low", "Close", "Volume"]]
    job = Job(source=SOURCE, data=loaded, config=CONFIG)
    local_task = _per_task(settings, job)
    dask_task = _on_cluster(settings, 1, lambda s: _per_task(s, job))
    rate = TRIALS
    return [
        row(f"DK1 {rate}-trial sweep, local pool (2 at once): {rate / local:.1f} trials/s",
            local, baseline=local, target="baseline"),
        row(f"DK2 same sweep, LocalCluster 1 worker: {rate / one:.1f} trials/s", one,
            baseline=local, target="reported"),
        row(f"DK3 same sweep, LocalCluster 2 workers: {rate / two:.1f} trials/s", two,
            baseline=local, target="reported"),
        row(f"DK4 per-task overhead of the Dask path: {dask_task - local_task:+.3f} s/task",
            dask_task, baseline=local_task, target="reported"),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
