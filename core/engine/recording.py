"""CHILD SIDE: the lookahead check's runs — one strategy on several leading parts of the data,
each run recording its indicators and placed orders with the strategy source line behind them.

Called by sandbox/child.py for a batch job with "record": true (core.studies.lookahead). The
job is a batch (core.engine.batch's format: "source", "settings", "batch" of parameter dicts)
plus "bars", the number of leading bars each run sees (null: all). Each run i writes
out/t<i>/{equity,trades,events}.parquet like a batch trial, and out/r<i>/:

- indicators.parquet: a "bar" column, then one float column per series named "<name>@<line>":
  every ``self.I`` indicator (line: its ``self.I`` call) and every Pine ``plot()`` series
  ("plot <title>", line: the ``plot()`` call in the Pine source);
- orders.parquet: every order the strategy placed, with the bar it was placed on and "line":
  the strategy line of the ``self.buy/self.sell/position.close/trade.sl`` call that placed it
  (noted as the order joins the broker's order list)
  (a stop-loss or take-profit attached by ``buy(sl=, tp=)``: the line of that buy; a Pine
  order: the line of its ``strategy.entry/exit/close/order`` call); 0 when unknown.

The parent (core.studies.lookahead) checks every line against the source's length. Imports only
what the child may import (pandas, numpy, the engine); never the store.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

MAX_RUNS = 100
MAX_RECORDED = 64  # indicator columns recorded per run
STRATEGY_FILENAME = "<strategy>"  # sandbox.child compiles user code under this file name
ORDER_COLUMNS = ["bar", "size", "limit", "stop", "sl", "tp", "close", "line"]


def run_recorded(job: dict, job_dir: Path, send: Callable[..., None], *,
                 load_class: Callable[[str], type],
                 error_for: Callable[[BaseException], tuple[str, str]]) -> None:
    """Run each parameter set of ``job["batch"]`` on its ``job["bars"]`` leading bars,
    recording; report through ``send`` (one result message listing every run)."""
    import pandas as pd

    from core.engine import backtest as engine

    started = time.perf_counter()
    batch: list = job.get("batch") or []
    bars: list = job.get("bars") or []
    if not _readable(batch, bars):
        send(type="error", kind="crashed", message="The lookahead runs could not be read.")
        return
    data = pd.read_parquet(job_dir / "ohlcv.parquet")
    funding_file = job_dir / "funding.parquet"
    funding = pd.read_parquet(funding_file)["rate"] if funding_file.is_file() else None
    try:
        cls = load_class(job["source"])
        settings = engine.EngineSettings(**job["settings"])
    except Exception as exc:  # noqa: BLE001 - every run fails the same way
        kind, message = error_for(exc)
        send(type="error", kind=kind, message=message)
        return
    results: list[dict[str, Any]] = []
    for i, params in enumerate(batch):
        frame = data if bars[i] is None else data.iloc[:bars[i]]
        recorder = Recorder()
        try:
            out = engine.run(recorder.wrap(cls), frame, settings, params=params, funding=funding)
        except Exception as exc:  # noqa: BLE001 - one run's failure does not stop the rest
            kind, message = error_for(exc)
            results.append({"i": i, "ok": False, "kind": kind, "message": message[:5000]})
        else:
            results.append(_write_run(out, job_dir / "out", i, recorder, len(frame)))
        send(type="progress", done=i + 1, total=len(batch))
    send(type="result", bars=len(data), trials=results,
         job_s=round(time.perf_counter() - started, 4))


def _readable(batch: Any, bars: Any) -> bool:
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_RUNS or not all(
            isinstance(p, dict) for p in batch):
        return False
    return isinstance(bars, list) and len(bars) == len(batch) and all(
        b is None or (isinstance(b, int) and not isinstance(b, bool) and b > 1) for b in bars)


def _write_run(out: Any, root: Path, i: int, recorder: Recorder, n_bars: int) -> dict[str, Any]:
    """Run ``i``'s equity, trades and events under t<i>/, its recording under r<i>/."""
    folder = root / f"t{i}"
    folder.mkdir()
    from core.engine.backtest import write_files

    write_files(out, folder)
    recorder.write(root / f"r{i}", out.plots, n_bars)
    return {"i": i, "ok": True, "trades": len(out.trades), "rejected": out.rejected}


def caller_line() -> int:
    """The line of the innermost strategy-code frame on the stack (0 when there is none)."""
    frame: FrameType | None = sys._getframe(1)  # noqa: SLF001 - who called us
    while frame is not None:
        if frame.f_code.co_filename == STRATEGY_FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return 0


class Recorder:
    """Records one run's indicators and placed orders, each with its strategy line."""

    def __init__(self) -> None:
        self.indicators: list[tuple[int, Any]] = []
        self.orders: list[tuple[int, float, float, float, float, float, bool, int]] = []
        self._seen: dict[int, object] = {}  # id -> order (held, so ids are never reused)
        self._lines: dict[int, tuple[object, int]] = {}  # id(order) -> (order, line) (held)
        self._strategy: Any = None

    def wrap(self, cls: type) -> type:
        """A subclass of the strategy class that reports to this recorder."""
        recorder = self

        class Recorded(cls):
            def init(self) -> None:
                recorder.watch(self)
                super().init()

            def I(self, func: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: E743, N802
                value = super().I(func, *args, **kwargs)
                recorder.indicators.append((caller_line(), value))
                return value

            def next(self) -> None:
                super().next()
                recorder.note_orders(len(self.data) - 1, self.orders)

        Recorded.__name__ = cls.__name__
        Recorded.__qualname__ = cls.__qualname__
        return Recorded

    def watch(self, strategy: Any) -> None:
        """Note the line of every order put on the strategy's broker from now on (orders go
        through broker.new_order, position.close() inserts one itself: both land in the
        broker's order list, which is replaced by one that notes the strategy line)."""
        self._strategy = strategy
        broker = strategy._broker
        broker.orders = _Placed(broker.orders, self._lines)

    def note_orders(self, bar: int, orders: Any) -> None:
        """Log the orders not seen before, as placed on ``bar``."""
        for order in orders:
            if id(order) in self._seen:
                continue
            self._seen[id(order)] = order
            close = order.parent_trade is not None
            row = (bar, float(order.size), _num(order.limit), _num(order.stop), _num(order.sl),
                   _num(order.tp), close)
            self.orders.append((*row, self._line_of(order, close)))

    def _line_of(self, order: Any, close: bool) -> int:
        pine = getattr(order, "_pine_line", None)  # set by core.pine.runtime on its orders
        if isinstance(pine, int):
            return pine
        line = self._lines.get(id(order), (None, 0))[1]
        if line or not close:
            return line
        # a stop-loss / take-profit the broker attached when an entry with sl=/tp= filled
        for *_, sl, tp, was_close, entry_line in reversed(self.orders):
            if not was_close and (sl == _num(order.stop) or tp == _num(order.limit)):
                return entry_line
        return 0

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
        plot_lines = getattr(getattr(self._strategy, "pine", None), "plot_lines", None) or {}
        for title, series in plots.items():
            if len(series) == n_bars and len(columns) < MAX_RECORDED:
                name = _unique(f"plot {str(title)[:80]}", columns)
                line = plot_lines.get(title, 0)
                columns[f"{name}@{line if isinstance(line, int) else 0}"] = np.asarray(
                    series, dtype="float64")
        pd.DataFrame(columns, index=pd.RangeIndex(n_bars)).to_parquet(
            folder / "indicators.parquet")
        pd.DataFrame(self.orders, columns=ORDER_COLUMNS).to_parquet(folder / "orders.parquet")


class _Placed(list):
    """The broker's order list; notes the strategy line behind every order put on it."""

    def __init__(self, orders: list, lines: dict[int, tuple[object, int]]) -> None:
        super().__init__(orders)
        self._lines = lines

    def _note(self, order: Any) -> None:
        if id(order) not in self._lines:
            self._lines[id(order)] = (order, caller_line())

    def insert(self, index: Any, order: Any) -> None:
        """list.insert, noting the order's line."""
        self._note(order)
        super().insert(index, order)

    def append(self, order: Any) -> None:
        """list.append, noting the order's line."""
        self._note(order)
        super().append(order)


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
