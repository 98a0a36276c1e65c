"""Sandbox child entry: import the libraries, wait for one job on stdin, run it, exit.

Runs inside firejail as an unprivileged user. Input: the job JSON on stdin (source, engine
settings, parameters, limits) and <job_dir>/ohlcv.parquet. Output: JSON lines on the result pipe
(progress, then exactly one result or error) and <job_dir>/out/{equity,trades}.parquet. Never
pickles. User prints go to stdout through a capped collector (the parent keeps them as the log).
A job with a "selftest" key runs the sandbox probe (sandbox.probe) instead of a strategy.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import time
import traceback
from pathlib import Path
from collections.abc import Mapping, Sequence
from types import FrameType, ModuleType
from typing import Any, TextIO

STRATEGY_FILENAME = "<strategy>"


class OutputLimitExceeded(Exception):  # noqa: N818 - reads as the status it reports
    """The strategy printed more than the run's output limit."""


class Channel:
    """JSON-lines writer on the result pipe (falls back to stderr when it is absent)."""

    def __init__(self, fd: int) -> None:
        try:
            self._file: TextIO = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        except OSError:
            self._file = sys.stderr

    def send(self, **message: object) -> None:
        """Write one message as a JSON line (NaN/Infinity refused) and flush.

        Before a final message (result or error) stdout and stderr are flushed, so the parent
        has the whole log when it sees it.
        """
        if message.get("type") in ("result", "error"):
            sys.stdout.flush()
            sys.stderr.flush()
        self._file.write(json.dumps(message, allow_nan=False, default=str) + "\n")
        self._file.flush()


class PrintCollector:
    """Base of the _print_ collector classes; ``written`` counts the bytes printed (class-wide)."""

    written = 0


def _make_printer(cap_bytes: int) -> type[PrintCollector]:
    class Printer(PrintCollector):

        def __init__(self, _getattr: object = None) -> None:
            pass

        def _call_print(self, *objects: object, **kwargs: object) -> None:
            text = " ".join(str(o) for o in objects) + str(kwargs.get("end", "\n"))
            Printer.written += len(text.encode("utf-8", "replace"))
            if Printer.written > cap_bytes:
                raise OutputLimitExceeded(f"printed more than {cap_bytes:,} bytes")
            sys.stdout.write(text)

    return Printer


def _strategy_caller(depth: int) -> bool:
    """True when the nearest frame outside the import machinery is the user's module."""
    frame: FrameType | None = sys._getframe(depth)  # noqa: SLF001 - the import hook must know who imports
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen importlib")
                                 or "/importlib/" in frame.f_code.co_filename):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename == STRATEGY_FILENAME


def install_import_guard() -> None:
    """Refuse, at run time, imports made by strategy code of modules off the allow-list.

    Libraries keep importing their own internals: only imports whose importing frame is the
    user's module are checked. Covers `builtins.__import__` and new modules found through
    sys.meta_path (importlib.import_module and friends).
    """
    from sandbox import policy

    real_import = builtins.__import__

    def guarded(name: str, globals: Mapping[str, object] | None = None,
                locals: Mapping[str, object] | None = None, fromlist: Sequence[str] | None = (),
                level: int = 0) -> ModuleType:
        if _strategy_caller(2) and (level or not policy.module_allowed(name)):
            raise policy.PolicyViolation(f"import of {name!r} is not allowed")
        return real_import(name, globals, locals, fromlist, level)

    class Finder:
        @staticmethod
        def find_spec(fullname: str, path: Any = None, target: Any = None) -> None:
            if _strategy_caller(2) and not policy.module_allowed(fullname):
                raise policy.PolicyViolation(f"import of {fullname!r} is not allowed")

    builtins.__import__ = guarded
    sys.meta_path.insert(0, Finder())


def load_strategy_class(source: str, *, printer: type[PrintCollector] | None = None) -> type:
    """Compile user source under RestrictedPython + policy and return its Strategy subclass.

    ``printer`` is the _print_ collector class (default: one capped at 256 KB).
    """
    from RestrictedPython import compile_restricted_exec

    from sandbox import policy
    from sandbox.names import StrategyTransformer

    result = compile_restricted_exec(source, filename=STRATEGY_FILENAME,
                                     policy=StrategyTransformer)
    if result.errors:
        raise policy.PolicyViolation("; ".join(result.errors))
    if result.code is None:
        raise policy.PolicyViolation("the strategy did not compile")
    module_name = "user_strategy"
    namespace = policy.restricted_globals(module_name=module_name,
                                          printer=printer or _make_printer(256 * 1024))
    exec(result.code, namespace)  # noqa: S102 - restricted code, guarded globals, inside firejail
    return pick_strategy_class(namespace.values(), module_name)


def pick_strategy_class(values: Any, module_name: str) -> type:
    """The one class to run: the most-derived concrete Strategy subclass the module defines.

    Concrete means backtesting.py can instantiate it (init() and next() defined or inherited);
    classes that only serve as a base of another are skipped. Raises PolicyViolation unless
    exactly one remains (core.strategies.rules applies the same rule before the run).
    """
    from backtesting import Strategy

    from sandbox import policy

    found = {v for v in values if isinstance(v, type) and issubclass(v, Strategy)
             and v.__module__ == module_name}
    leaves = [c for c in found if not getattr(c, "__abstractmethods__", None)
              and not any(o is not c and issubclass(o, c) for o in found)]
    if len(leaves) != 1:
        names = ", ".join(sorted(c.__name__ for c in leaves)) or "none"
        raise policy.PolicyViolation("expected exactly one concrete Strategy subclass that no "
                                     f"other class derives from, found {len(leaves)}: {names}")
    return leaves[0]


def user_traceback(exc: BaseException, *, max_frames: int = 20) -> str:
    """The traceback trimmed to the user's own frames and line numbers (repeats collapsed)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == STRATEGY_FILENAME]
    lines: list[str] = []
    repeats = 0
    for frame in frames:
        line = f"  line {frame.lineno}, in {frame.name}"
        if lines and lines[-1] == line:
            repeats += 1
            continue
        if repeats:
            lines.append(f"  [the line above repeated {repeats} more times]")
            repeats = 0
        lines.append(line)
    if repeats:
        lines.append(f"  [the line above repeated {repeats} more times]")
    if len(lines) > max_frames:
        lines = [*lines[: max_frames // 2], "  ...", *lines[-max_frames // 2:]]
    head = "Traceback (your strategy's frames):" if lines else "Error:"
    return "\n".join([head, *lines, f"{type(exc).__name__}: {str(exc)[:2000]}"])


def _set_limits(limits: dict[str, int]) -> None:
    """Lower this process's rlimits to the run's limits and arm the wall-clock backstop."""
    import resource
    import signal

    if int(limits.get("wall_s", 0) or 0) > 0:
        signal.alarm(int(limits["wall_s"]))  # default action terminates us if the parent is gone
    pairs = (("memory_bytes", resource.RLIMIT_AS), ("cpu_s", resource.RLIMIT_CPU),
             ("fsize_bytes", resource.RLIMIT_FSIZE), ("nproc", resource.RLIMIT_NPROC),
             ("nofile", resource.RLIMIT_NOFILE))
    for key, res in pairs:
        value = int(limits.get(key, 0) or 0)
        if value > 0 and res == resource.RLIMIT_CPU:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            value += int(usage.ru_utime + usage.ru_stime) + 1  # the imports do not count
        if value > 0:
            _soft, hard = resource.getrlimit(res)
            if hard == resource.RLIM_INFINITY or value < hard:
                resource.setrlimit(res, (value, value))


def _error_for(exc: BaseException) -> tuple[str, str]:
    """(status, message) for an exception raised while loading or running the strategy."""
    from sandbox import policy

    if isinstance(exc, MemoryError):
        return "memory_limit", "The strategy ran out of memory (the sandbox memory limit)."
    if isinstance(exc, OutputLimitExceeded):
        return "output_limit", f"Stopped: the strategy {exc} (remove or reduce print calls)."
    if isinstance(exc, policy.PolicyViolation):
        return "rejected", f"Refused by the sandbox policy: {exc}"
    if isinstance(exc, RecursionError):
        return "crashed", "Recursion too deep.\n" + user_traceback(exc)
    return "crashed", user_traceback(exc)


def run_job(job: dict, job_dir: Path, channel: Channel) -> None:
    """Execute one job and report through ``channel``."""
    import pandas as pd

    from core.engine import backtest as engine

    started = time.perf_counter()
    data = pd.read_parquet(job_dir / "ohlcv.parquet")
    print_cap = int(job.get("limits", {}).get("output_bytes", 0) or 256 * 1024)

    def progress(done: int, total_bars: int) -> None:
        channel.send(type="progress", done=done, total=total_bars)

    printer = _make_printer(print_cap)
    try:
        cls = load_strategy_class(job["source"], printer=printer)
        settings = engine.EngineSettings(**job["settings"])
        funding_file = job_dir / "funding.parquet"  # perps: rates per funding time (optional)
        funding = pd.read_parquet(funding_file)["rate"] if funding_file.is_file() else None
        out = engine.run(cls, data, settings, params=job.get("params") or {}, progress=progress,
                         funding=funding)
    except Exception as exc:  # noqa: BLE001 - every user failure is reported, not raised
        kind, message = _error_for(exc)
        channel.send(type="error", kind=kind, message=message)
        return
    if printer.written > print_cap:  # the strategy swallowed OutputLimitExceeded
        channel.send(type="error", kind="output_limit",
                     message=f"Stopped: the strategy printed more than {print_cap:,} bytes.")
        return
    out_dir = job_dir / "out"
    engine.write_files(out, out_dir)
    if len(out.open_trades):
        out.open_trades.to_parquet(out_dir / "open_trades.parquet")
    if out.plots and job.get("pine") is True:  # plot() series only from the Pine runtime
        pd.DataFrame(out.plots).to_parquet(out_dir / "plots.parquet")
    import resource

    channel.send(type="result", bars=len(data), trades=len(out.trades), rejected=out.rejected,
                 open_trades=len(out.open_trades),
                 rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                 job_s=round(time.perf_counter() - started, 4), claimed={})


WARM_UP_SOURCE = """from backtesting import Strategy


class WarmUp(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data) % 7 == 0:
            self.buy()
        elif len(self.data) % 7 == 3:
            self.position.close()
"""


def _without_plotting() -> None:
    """Keep bokeh out of the child: backtesting.py imports its plotting module (bokeh, jinja2,
    ...) at import time, and nothing in a run plots. A stand-in module whose functions refuse
    saves a third of a worker's warm-up CPU and ~20 MB of every worker's memory, which the
    kernel also frees at every run's exit (measured: warm-up 0.85 -> 0.49 s, exit ~3 ms less)."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("plotting is not available in the sandbox")

    stand_in = ModuleType("backtesting._plotting")
    for name in ("plot", "plot_heatmaps", "set_bokeh_output"):
        setattr(stand_in, name, refuse)
    sys.modules.setdefault("backtesting._plotting", stand_in)


def _warm_up() -> None:
    """Do, before the job arrives, every lazy import and first-call cost a job would pay:
    compile under the policy, a tiny backtest, a Parquet round trip (a pooled worker is warm)."""
    import io

    import numpy as np
    import pandas as pd

    from core.engine import backtest as engine

    bars = 60
    close = 100 + np.cumsum(np.sin(np.arange(bars)))
    data = pd.DataFrame({"Open": close, "High": close + 1, "Low": close - 1, "Close": close,
                         "Volume": 1.0}, index=pd.date_range("2024-01-01", periods=bars, freq="h"))
    buffer = io.BytesIO()
    data.to_parquet(buffer)
    data = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    cls = load_strategy_class(WARM_UP_SOURCE, printer=_make_printer(1024))
    out = engine.run(cls, data, engine.EngineSettings(cash_usdt=10_000.0), progress=None)
    out.trades.to_parquet(io.BytesIO())
    out.equity.rename("equity").to_frame().to_parquet(io.BytesIO())


def main(argv: list[str]) -> int:
    """Entry: ``child.py JOB_DIR RESULT_FD``. Imports first (a pooled worker is warm), then stdin.

    Returns the exit code: 0 after reporting a result or an error, 2 for an unreadable job.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    channel = Channel(int(argv[2]))
    _without_plotting()
    _warm_up()
    channel.send(type="ready")
    raw = sys.stdin.read()
    sys.stdin.close()
    try:
        job = json.loads(raw)
    except ValueError:
        channel.send(type="error", kind="failed", message="The job could not be read.")
        return 2
    _set_limits(job.get("limits", {}))
    if "selftest" in job:
        from sandbox import probe

        probe.run(job["selftest"], Path(argv[1]), channel)
        return 0
    install_import_guard()
    if "batch" in job:  # a study's trials: many parameter sets on data loaded once
        from core.engine.batch import run_batch
        from core.engine.recording import run_recorded  # the lookahead check's runs

        run = run_recorded if job.get("record") is True else run_batch
        run(job, Path(argv[1]), channel.send, error_for=_error_for,
            load_class=lambda src: load_strategy_class(
                src, printer=_make_printer(int(job.get("limits", {}).get(
                    "output_bytes", 0) or 256 * 1024))))
    else:
        run_job(job, Path(argv[1]), channel)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: the parent has everything it needs


if __name__ == "__main__":
    sys.exit(main(sys.argv))
