"""CHILD SIDE: run many parameter sets of one strategy on data loaded once.

Called by sandbox/child.py for a job with a "batch" key: the strategy is compiled once, the
OHLCV (and funding) read once, then engine.run() is called per parameter set exactly as a single
run calls it, so each trial's equity and trades are those of a single run. Each trial writes
out/t<i>/{equity,trades,events}.parquet; one final message lists per trial its trade count or
its error. Imports only what the child may import (pandas, the engine); never the store.

A lookahead check (core.studies.lookahead) sends the same job with two optional keys: "bars",
the number of leading bars each trial runs on (null: all), and "record": each trial then also
writes out/r<i>/indicators.parquet (every self.I indicator, and a Pine script's plot() series,
one column per series named "<name>@<line>", after a "bar" column) and
out/r<i>/orders.parquet (every order the strategy placed, with the bar it was placed on).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

MAX_BATCH = 10_000
MAX_RECORDED = 64  # indicator columns recorded per trial
STRATEGY_FILENAME = "<strategy>"  # sandbox.child compiles user code under this file name


def run_batch(job: dict, job_dir: Path, send: Callable[..., None], *,
              load_class: Callable[[str], type],
              error_for: Callable[[BaseException], tuple[str, str]]) -> None:
    """Run ``job["batch"]`` (a list of parameter dicts); report through ``send``."""
    from core.engine import backtest as engine

    started = time.perf_counter()
    batch, bars = job["batch"], job.get("bars")
    if not _readable(batch, bars):
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
    record = job.get("record") is True
    results: list[dict[str, Any]] = []
    for i, params in enumerate(batch):
        frame = data if bars is None or bars[i] is None else data.iloc[:bars[i]]
        recorder = Recorder() if record else None
        try:
            out = engine.run(recorder.wrap(cls) if recorder else cls, frame, settings,
                             params=params, funding=funding)
        except Exception as exc:  # noqa: BLE001 - one trial's failure does not stop the rest
            kind, message = error_for(exc)
            results.append({"i": i, "ok": False, "kind": kind, "message": message[:5000]})
            send(type="progress", done=i + 1, total=len(batch))
            continue
        results.append(_write_trial(out, job_dir, i, recorder, len(frame)))
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


def _write_trial(out: Any, job_dir: Path, i: int, recorder: Recorder | None,
                 n_bars: int) -> dict[str, Any]:
    """Write trial ``i``'s equity, trades, events (and recorded plots) under out/; its result."""
    folder = job_dir / "out" / f"t{i}"
    folder.mkdir()
    out.equity.rename("equity").to_frame().to_parquet(folder / "equity.parquet")
    out.trades.to_parquet(folder / "trades.parquet")
    out.events.to_parquet(folder / "events.parquet")
    if recorder is not None:
        recorder.write(job_dir / "out" / f"r{i}", out.plots, n_bars)
    return {"i": i, "ok": True, "trades": len(out.trades), "rejected": out.rejected}


def _readable(batch: Any, bars: Any) -> bool:
    if not isinstance(batch, list) or len(batch) > MAX_BATCH or not all(
            isinstance(p, dict) for p in batch):
        return False
    return bars is None or (isinstance(bars, list) and len(bars) == len(batch) and all(
        b is None or (isinstance(b, int) and b > 1) for b in bars))


def _caller_line() -> int:
    """The line of the innermost strategy-code frame on the stack (0 when there is none)."""
    frame: FrameType | None = sys._getframe(2)  # noqa: SLF001 - who called self.I
    while frame is not None:
        if frame.f_code.co_filename == STRATEGY_FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return 0


class Recorder:
    """Records one run's indicators (with the line of their self.I call) and placed orders."""

    def __init__(self) -> None:
        self.indicators: list[tuple[int, Any]] = []
        self.orders: list[tuple[int, float, float, float, float, float, bool]] = []
        self._seen: dict[int, object] = {}  # id -> order (held, so ids are never reused)

    def wrap(self, cls: type) -> type:
        """A subclass of the strategy class that reports to this recorder."""
        recorder = self

        class Recorded(cls):
            def I(self, func: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: E743, N802
                value = super().I(func, *args, **kwargs)
                recorder.indicators.append((_caller_line(), value))
                return value

            def next(self) -> None:
                super().next()
                recorder.note_orders(len(self.data) - 1, self.orders)

        Recorded.__name__ = cls.__name__
        Recorded.__qualname__ = cls.__qualname__
        return Recorded

    def note_orders(self, bar: int, orders: Any) -> None:
        """Log the orders not seen before, as placed on ``bar``."""
        for order in orders:
            if id(order) in self._seen:
                continue
            self._seen[id(order)] = order
            self.orders.append((bar, float(order.size), _num(order.limit), _num(order.stop),
                                _num(order.sl), _num(order.tp), order.parent_trade is not None))

    def write(self, folder: Path, plots: dict[str, list[float]], n_bars: int) -> None:
        """indicators.parquet (one float column per series) and orders.parquet in ``folder``."""
        import numpy as np
        import pandas as pd

        folder.mkdir()
        columns: dict[str, Any] = {"bar": np.arange(n_bars)}  # rows even with no series
        for k, (line, value) in enumerate(self.indicators):
            try:
                rows = np.atleast_2d(np.asarray(value, dtype="float64"))
            except (TypeError, ValueError):
                continue
            label = str(getattr(value, "name", "") or f"indicator {k + 1}")[:80]
            for r, row in enumerate(rows):
                name = label if len(rows) == 1 else f"{label}[{r}]"
                if row.shape == (n_bars,) and len(columns) < MAX_RECORDED:
                    columns[f"{_unique(name, columns)}@{line}"] = row
        for title, series in plots.items():
            if len(series) == n_bars and len(columns) < MAX_RECORDED:
                name = _unique(f"plot {str(title)[:80]}", columns)
                columns[f"{name}@0"] = np.asarray(series, dtype="float64")
        pd.DataFrame(columns, index=pd.RangeIndex(n_bars)).to_parquet(
            folder / "indicators.parquet")
        pd.DataFrame(self.orders, columns=["bar", "size", "limit", "stop", "sl", "tp", "close"]
                     ).to_parquet(folder / "orders.parquet")


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _unique(name: str, taken: dict[str, Any]) -> str:
    """``name``, or ``name#k`` when a column "<name>@<line>" already uses it."""
    used = {key.rsplit("@", 1)[0] for key in taken}
    base = name.replace("@", " ")
    out, k = base, 1
    while out in used:
        k += 1
        out = f"{base}#{k}"
    return out
