"""The lookahead and repaint check: does a strategy use bars it could not have seen yet.

The strategy runs once on the whole range, then again on data truncated at several cut points
(bars where the full run entered or exited, sampled evenly, topped up with evenly spaced bars).
Up to its cut, a strategy without lookahead computes the same indicator values (every
``self.I`` series of a Python strategy; every ``plot()`` series of a Pine script) and places
the same orders as the full run. Any difference is lookahead bias: the report names the first
bar that differs, the indicator or the order, and the strategy source line behind it (the
``self.I`` or ``plot()`` call; the ``self.buy/self.sell/position.close`` or
``strategy.entry/exit/close/order`` call), for each cut. All runs go through the sandbox: the
full run in one child, the truncated ones batched in another (core.engine.recording, which
records the lines child-side; each is checked here against the source's length). Nothing is
stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.runs import broker_store, child_files, costs, pine_run
from core.market import catalogue as market_data
from core.strategies import validation
from core.strategies import params as params_mod
from core.errors import ConfigError, PineOptError, SandboxError
from core.model import BacktestConfig, Language
from core.runs.result_check import check_result
from core.settings import Settings

MIN_BARS = 30  # fewer bars leave nothing to cut
MAX_CUTS = 50
DEFAULT_CUTS = 5
RTOL = 1e-9  # relative difference that still counts as the same indicator value
ORDER_COLUMNS = ["bar", "size", "limit", "stop", "sl", "tp", "close", "line"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """The first difference between a truncated run and the full run up to its cut."""

    cut: str  # the last bar (UTC) of the truncated data
    bar: str  # the first bar (UTC) that differs
    kind: str  # "indicator" or "order"
    name: str  # the indicator's name, or the order
    line: int | None  # strategy source line of the indicator or order, when known
    full: str  # the full run's value or order
    truncated: str  # the truncated run's

    def text(self) -> str:
        """One line for people."""
        where = f" (line {self.line})" if self.line else ""
        return (f"cut at {self.cut}: {self.kind} {self.name}{where} differs at {self.bar}: "
                f"full run {self.full}, truncated run {self.truncated}")


@dataclass(slots=True, kw_only=True)
class Report:
    """The outcome of a lookahead check. ``passed`` when no cut differs from the full run."""

    strategy: str
    bars: int
    cuts: list[str]
    indicators: list[str]
    orders: int  # orders the full run placed
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every truncated run matched the full run up to its cut."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's --json)."""
        return {"strategy": self.strategy, "passed": self.passed, "bars": self.bars,
                "cuts": self.cuts, "indicators": self.indicators, "orders": self.orders,
                "findings": [dataclasses.asdict(f) for f in self.findings]}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """What one (full or truncated) run recorded: its indicators and its placed orders."""

    indicators: dict[str, tuple[int | None, np.ndarray]]
    orders: pd.DataFrame  # ORDER_COLUMNS, in the order placed (line 0: unknown)


def cut_points(*, trade_bars: list[int], n_bars: int, cuts: int) -> list[int]:
    """Bar counts of the truncated runs: up to ``cuts`` distinct values in [MIN_BARS // 2,
    n_bars - 1], from the bars where the full run traded (each sampled evenly), then evenly
    spaced bars. Ascending."""
    low, high = MIN_BARS // 2, n_bars - 1
    traded = sorted({b + 1 for b in trade_bars if low <= b + 1 <= high})
    if len(traded) > cuts:
        picks = np.linspace(0, len(traded) - 1, cuts).round().astype(int)
        traded = [traded[i] for i in dict.fromkeys(picks.tolist())]
    chosen = set(traded)
    for n in np.linspace(low, high, cuts + 2)[1:-1].round().astype(int).tolist():
        if len(chosen) >= cuts:
            break
        chosen.add(int(n))
    return sorted(chosen)


def compare(full: RunView, cut: RunView, *, n_bars: int, index: pd.Index) -> list[Finding]:
    """Differences between ``cut`` (a run on the first ``n_bars`` bars) and ``full`` up to it:
    the earliest per indicator, and the first differing order."""
    cut_at = _ts(index[n_bars - 1])
    found = []
    for name, (line, values) in full.indicators.items():
        if name not in cut.indicators:
            found.append(Finding(cut=cut_at, bar=cut_at, kind="indicator", name=name, line=line,
                                 full="present", truncated="missing"))
            continue
        a, b = values[:n_bars], cut.indicators[name][1]
        same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=RTOL, atol=_atol(a))
        if not same.all():
            k = int(np.argmin(same))
            found.append(Finding(cut=cut_at, bar=_ts(index[k]), kind="indicator", name=name,
                                 line=line, full=_val(a[k]), truncated=_val(b[k])))
    order = _order_difference(full.orders, cut.orders, n_bars=n_bars, index=index)
    if order is not None:
        found.append(dataclasses.replace(order, cut=cut_at))
    return sorted(found, key=lambda f: (f.bar, f.kind, f.name))


def _order_difference(full: pd.DataFrame, cut: pd.DataFrame, *, n_bars: int,
                      index: pd.Index) -> Finding | None:
    kept = full[full["bar"] < n_bars]
    a = [_order_key(r) for r in kept.itertuples(index=False)]
    b = [_order_key(r) for r in cut.itertuples(index=False)]
    lines = [kept["line"].tolist(), cut["line"].tolist()]
    for k in range(max(len(a), len(b))):
        left, right = (a[k] if k < len(a) else None), (b[k] if k < len(b) else None)
        if left != right:
            bar, side = min((o[0], j) for j, o in enumerate((left, right)) if o is not None)
            line = int(lines[side][k]) or None  # the earlier order's line
            return Finding(cut="", bar=_ts(index[bar]), kind="order", name=f"#{k + 1}",
                           line=line, full=_order_text(left, index),
                           truncated=_order_text(right, index))
    return None


def _order_key(row: Any) -> tuple:
    def num(x: float) -> float | None:
        return None if x != x else float(f"{x:.10g}")
    return (int(row.bar), num(row.size), num(row.limit), num(row.stop), num(row.sl),
            num(row.tp), bool(row.close))  # not the line: where an order comes from is no bias


def _order_text(order: tuple | None, index: pd.Index) -> str:
    """"buy size=1 limit=99 placed 2024-01-02 04:00:00" (or "no order")."""
    if order is None:
        return "no order"
    bar, size, limit, stop, sl, tp, close = order
    side = "close" if close else ("buy" if size and size > 0 else "sell")
    extra = [f"{k}={v:g}" for k, v in (("limit", limit), ("stop", stop), ("sl", sl), ("tp", tp))
             if v is not None]
    return " ".join([f"{side} size={abs(size or 0):g}", *extra, f"placed {_ts(index[bar])}"])


def _atol(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return RTOL * (float(finite.max()) if len(finite) else 1.0)


def _val(x: float) -> str:
    return "NaN" if x != x else f"{x:.10g}"


def _ts(value: Any) -> str:
    return str(pd.Timestamp(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A checked strategy and run settings, ready to run."""

    name: str
    source: str  # the Python that runs (Pine translated)
    config: BacktestConfig
    data: pd.DataFrame
    pine: bool
    on_close: bool
    lines: int  # lines of the strategy's own source (Pine or Python): recorded lines are <= it


def prepare(settings: Settings, *, name: str, source: str, language: Language,
            config: BacktestConfig) -> Prepared:
    """Validate the strategy, its parameters and settings, and load the bars.

    Raises ConfigError (invalid strategy with its lines, bad settings, too few bars) or
    PineOptError (no stored data for the symbol and timeframe).
    """
    python = validation.python_source_for(source, language)
    problems = validation.errors_only(validation.validate_python(python))
    if problems:
        raise ConfigError(f"{name} does not validate; fix these first: "
                          + "; ".join(str(p) for p in problems[:10]))
    config = params_mod.checked_config(config, source, language)
    pine = language is Language.PINE
    if pine:
        config = pine_run.prepare_config(settings.db_path, config)
    costs.check_config(config)
    data = market_data.load_ohlcv(settings.db_path, exchange=config.exchange,
                                  market=config.market, symbol=config.symbol,
                                  timeframe=config.timeframe, start=config.start, end=config.end)
    if len(data) < MIN_BARS:
        raise ConfigError(f"{config.symbol} {config.timeframe} has {len(data)} bars from "
                          f"{config.start or 'the start'} to {config.end or 'the end'}; the "
                          f"lookahead check needs at least {MIN_BARS}. Widen the dates or "
                          "import more data.")
    return Prepared(name=name, source=python, config=config, data=data, pine=pine,
                    on_close=pine and pine_run.processes_orders_on_close(source),
                    lines=len(source.splitlines()))


def check(settings: Settings, prepared: Prepared, *, cuts: int = DEFAULT_CUTS) -> Report:
    """Run the full range and ``cuts`` truncated ranges in the sandbox and compare them.

    Raises ConfigError for a bad cut count, PineOptError when the full run fails (its message),
    SandboxError when the sandbox itself fails.
    """
    if not 1 <= cuts <= MAX_CUTS:
        raise ConfigError(f"--cuts {cuts}: give between 1 and {MAX_CUTS} cut points.")
    data = prepared.data
    (full,) = _run(settings, prepared, [None])
    if isinstance(full, str):
        raise PineOptError(f"The strategy failed on the full range, so nothing can be compared: "
                           f"{full}")
    view, trades = full
    bars = [int(b) for b in (*trades["EntryBar"], *trades["ExitBar"])]
    points = cut_points(trade_bars=bars, n_bars=len(data), cuts=cuts)
    report = Report(strategy=prepared.name, bars=len(data),
                    cuts=[_ts(data.index[n - 1]) for n in points],
                    indicators=list(view.indicators), orders=len(view.orders))
    for n, outcome in zip(points, _run(settings, prepared, points), strict=True):
        if isinstance(outcome, str):  # failing only on less data is itself a warning sign
            report.findings.append(Finding(
                cut=_ts(data.index[n - 1]), bar=_ts(data.index[n - 1]), kind="order",
                name="run", line=None, full="ran", truncated=f"failed: {outcome[:300]}"))
            continue
        report.findings.extend(compare(view, outcome[0], n_bars=n, index=data.index))
    return report


def _run(settings: Settings, prepared: Prepared, bars: Sequence[int | None]
         ) -> list[tuple[RunView, pd.DataFrame] | str]:
    """One sandbox child running the strategy on each prefix in ``bars`` (None: all bars);
    per prefix its checked recording and trades, or the run's error message."""
    from core import executors
    from core.runs.service import run_limits

    executors.require(settings)
    config = prepared.config
    base = run_limits(settings, config)
    k = len(bars)
    limits = dataclasses.replace(base, timeout_s=base.timeout_s * k, cpu_s=base.cpu_s * k)
    worker = executors.slot(settings)  # local: a pooled sandbox; dask: a staging folder
    try:
        prepared.data.to_parquet(worker.job_dir / "ohlcv.parquet")
        broker = broker_store.prepare_job(settings.db_path, config, prepared.data,
                                          worker.job_dir)
        if prepared.pine:
            broker = dataclasses.replace(broker, settings=pine_run.engine_settings(
                settings.db_path, config, broker.settings, on_close=prepared.on_close))
        payload = {"source": prepared.source, "settings": broker.settings,
                   "batch": [dict(config.params)] * k, "bars": bars, "record": True}
        outcome = worker.run(payload, limits=limits)
        if outcome.status != "completed":
            raise SandboxError(outcome.message or outcome.status, status=outcome.status,
                               log=outcome.log)
        reported = outcome.result.get("trials")
        if not isinstance(reported, list) or len(reported) != k:
            raise SandboxError("Result rejected: the batch result does not list every run",
                               status="result_rejected")
        return [_read_run(worker.job_dir / "out", i, info, prepared, broker,
                          len(prepared.data) if n is None else n)
                for i, (n, info) in enumerate(zip(bars, reported, strict=True))]
    finally:
        worker.cleanup()


def _read_run(out: Any, i: int, info: Any, prepared: Prepared, broker: Any,
              n_bars: int) -> tuple[RunView, pd.DataFrame] | str:
    if not isinstance(info, dict) or info.get("i") != i:
        raise SandboxError("Result rejected: the batch result is out of order",
                           status="result_rejected")
    if not info.get("ok"):
        return str(info.get("message", "failed"))[:2000]
    data = prepared.data.iloc[:n_bars]
    _, trades = check_result(out / f"t{i}", data, {"trades": info.get("trades")},
                             cash_usdt=prepared.config.cash_usdt,
                             commission=prepared.config.commission, broker=broker.settings,
                             funding=broker.funding)
    folder = out / f"r{i}"
    child_files.check_out_dir(folder, {"indicators.parquet", "orders.parquet"})
    series = child_files.read_parquet(folder / "indicators.parquet", None, child_files.Caps(
        max_rows=n_bars, rows=n_bars, max_columns=65))
    if "bar" not in series or not np.array_equal(series.pop("bar").to_numpy(), np.arange(n_bars)):
        raise SandboxError("Result rejected: indicators.parquet lacks its bar numbers",
                           status="result_rejected")
    orders = child_files.read_parquet(folder / "orders.parquet", ORDER_COLUMNS, child_files.Caps(
        max_rows=4 * n_bars + 100))
    return RunView(indicators=_indicators(series, prepared.lines),
                   orders=_orders(orders, n_bars, prepared.lines)), trades


def _rejected(what: str) -> SandboxError:
    return SandboxError(f"Result rejected: {what}", status="result_rejected")


def _indicators(frame: pd.DataFrame, lines: int) -> dict[str, tuple[int | None, np.ndarray]]:
    out = {}
    for column in frame.columns:
        name, _, line = str(column)[:120].rpartition("@")
        try:
            values = frame[column].to_numpy(dtype="float64")
        except (TypeError, ValueError):
            raise _rejected(f"indicator {name!r} is not numeric") from None
        if not (line.isdigit() and int(line) <= lines):
            raise _rejected(f"indicator {name!r} names line {line[:12]!r}, not a line of the "
                            f"strategy's {lines}")
        out[name or str(column)[:120]] = (int(line) or None, values)
    return out


def _orders(frame: pd.DataFrame, n_bars: int, lines: int) -> pd.DataFrame:
    try:
        bars = frame["bar"].to_numpy(dtype="int64")
        nums = frame[ORDER_COLUMNS[1:6]].to_numpy(dtype="float64")
        close = frame["close"].to_numpy(dtype=bool)
        line = frame["line"].to_numpy(dtype="int64")
    except (TypeError, ValueError):
        raise _rejected("the order log is malformed") from None
    if len(bars) and (bars.min() < 0 or bars.max() >= n_bars or np.isinf(nums).any()):
        raise _rejected("an order's bar is outside the data")
    if len(line) and (line.min() < 0 or line.max() > lines):
        raise _rejected(f"an order names a line outside the strategy's {lines} lines")
    return pd.DataFrame({"bar": bars, **{c: nums[:, j] for j, c in enumerate(ORDER_COLUMNS[1:6])},
                         "close": close, "line": line})



def check_strategy(settings: Settings, *, strategy_id: int, config: BacktestConfig,
                   version: int | None = None, cuts: int = DEFAULT_CUTS) -> Report:
    """The check of a saved strategy version (the Optimize page's Lookahead tab).

    Raises what prepare() and check() raise, and PineOptError for an unknown strategy.
    """
    from core.strategies import crud as strategies

    record = strategies.get(settings.db_path, strategy_id)
    ver = strategies.get_version(settings.db_path, strategy_id, version)
    prepared = prepare(settings, name=f"{record.meta.name} v{ver.version}", source=ver.source,
                       language=record.language, config=config)
    return check(settings, prepared, cuts=cuts)
