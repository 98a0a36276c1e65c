"""CHILD SIDE: run many parameter sets of one strategy on data loaded once.

Called by sandbox/child.py for a job with a "batch" key: the strategy is compiled once, the
OHLCV (and funding) read once, then engine.run() is called per parameter set exactly as a single
run calls it, so each trial's equity and trades are those of a single run (only backtesting.py's
own statistics are skipped: the host computes every metric from the equity and trades). Each
trial writes out/t<i>/{equity,trades,events}.parquet; one final message lists per trial its
trade count or its error. Imports only what the child may import (pandas, the engine); never the
store.
(The lookahead check's recorded runs are core.engine.recording.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_BATCH = 10_000


def run_batch(job: dict, job_dir: Path, send: Callable[..., None], *,
              load_class: Callable[[str], type],
              error_for: Callable[[BaseException], tuple[str, str]]) -> None:
    """Run ``job["batch"]`` (a list of parameter dicts); report through ``send``."""
    from core.engine import backtest as engine

    started = time.perf_counter()
    batch = job["batch"]
    if not _readable(batch):
        send(type="error", kind="crashed", message="The batch could not be read.")
        return
    data, funding = _market_data(job_dir)
    try:
        cls = load_class(job["source"])
        settings = engine.EngineSettings(**job["settings"])
    except Exception as exc:  # noqa: BLE001 - the whole batch fails the same way
        kind, message = error_for(exc)
        send(type="error", kind=kind, message=message)
        return
    results: list[dict[str, Any]] = []
    for i, params in enumerate(batch):
        try:
            out = engine.run(cls, data, settings, params=params, funding=funding)
        except Exception as exc:  # noqa: BLE001 - one trial's failure does not stop the rest
            kind, message = error_for(exc)
            results.append({"i": i, "ok": False, "kind": kind, "message": message[:5000]})
            send(type="progress", done=i + 1, total=len(batch))
            continue
        results.append(_write_trial(out, job_dir, i))
        send(type="progress", done=i + 1, total=len(batch))
    send(type="result", bars=len(data), trials=results,
         job_s=round(time.perf_counter() - started, 4))


def _market_data(job_dir: Path) -> tuple[Any, Any]:
    """The job's OHLCV frame and its funding-rate series (None when the job has no funding)."""
    import pandas as pd

    data = pd.read_parquet(job_dir / "ohlcv.parquet")
    funding_file = job_dir / "funding.parquet"
    funding = pd.read_parquet(funding_file)["rate"] if funding_file.is_file() else None
    return data, funding


def _write_trial(out: Any, job_dir: Path, i: int) -> dict[str, Any]:
    """Write trial ``i``'s equity, trades and events under out/; its result."""
    folder = job_dir / "out" / f"t{i}"
    folder.mkdir()
    from core.engine.backtest import write_files

    write_files(out, folder)
    return {"i": i, "ok": True, "trades": len(out.trades), "rejected": out.rejected}


def _readable(batch: Any) -> bool:
    return isinstance(batch, list) and len(batch) <= MAX_BATCH and all(
        isinstance(p, dict) for p in batch)


