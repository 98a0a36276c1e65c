"""Sandbox child entry: import the libraries, wait for one job on stdin, run it, exit.

Runs inside firejail as an unprivileged user. Input: the job JSON on stdin (source, engine
settings, parameters) and <job_dir>/ohlcv.parquet. Output: JSON lines on the result pipe (progress, then
exactly one result or error) and <job_dir>/out/{equity,trades}.parquet. Never pickles.
User prints go to stdout (the parent caps and keeps them as the run log).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

STRATEGY_FILENAME = "<strategy>"


class Channel:
    """JSON-lines writer on the result pipe (falls back to stderr when it is absent)."""

    def __init__(self, fd: int) -> None:
        try:
            self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        except OSError:
            self._file = sys.stderr

    def send(self, **message: object) -> None:
        self._file.write(json.dumps(message, allow_nan=False, default=str) + "\n")
        self._file.flush()


def _make_printer(cap_bytes: int) -> type:
    class Printer:
        written = 0

        def __init__(self, _getattr: object = None) -> None:
            pass

        def _call_print(self, *objects: object, **kwargs: object) -> None:
            text = " ".join(str(o) for o in objects) + str(kwargs.get("end", "\n"))
            if Printer.written >= cap_bytes:
                return
            Printer.written += len(text)
            sys.stdout.write(text[: max(0, cap_bytes - Printer.written + len(text))])

    return Printer


def load_strategy_class(source: str, *, print_cap: int = 256 * 1024) -> type:
    """Compile user source under RestrictedPython + policy and return its Strategy subclass."""
    from RestrictedPython import compile_restricted_exec

    from sandbox import policy

    result = compile_restricted_exec(source, filename=STRATEGY_FILENAME)
    if result.errors:
        raise policy.PolicyViolation("; ".join(result.errors))
    module_name = "user_strategy"
    namespace = policy.restricted_globals(module_name=module_name, printer=_make_printer(print_cap))
    exec(result.code, namespace)  # noqa: S102 - restricted code, guarded globals, inside firejail
    from backtesting import Strategy

    found = [v for v in namespace.values()
             if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
             and v.__module__ == module_name]
    if len(found) != 1:
        raise policy.PolicyViolation(f"expected exactly one Strategy subclass, found {len(found)}")
    return found[0]


def user_traceback(exc: BaseException) -> str:
    """The traceback trimmed to the user's own frames, with their line numbers."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == STRATEGY_FILENAME]
    lines = [f"  line {f.lineno}, in {f.name}" for f in frames]
    head = "Traceback (your strategy's frames):" if lines else "Error:"
    return "\n".join([head, *lines, f"{type(exc).__name__}: {exc}"])


def _set_limits(limits: dict[str, int]) -> None:
    import resource
    import signal

    if int(limits.get("wall_s", 0) or 0) > 0:
        signal.alarm(int(limits["wall_s"]))  # default action terminates us if the parent is gone

    for key, res in (("memory_bytes", resource.RLIMIT_AS), ("cpu_s", resource.RLIMIT_CPU)):
        value = int(limits.get(key, 0) or 0)
        if value > 0:
            soft, hard = resource.getrlimit(res)
            if hard == resource.RLIM_INFINITY or value < hard:
                resource.setrlimit(res, (value, value))


def run_job(job: dict, job_dir: Path, channel: Channel) -> None:
    """Execute one job and report through ``channel``."""
    import pandas as pd

    from core import engine
    from sandbox import policy

    data = pd.read_parquet(job_dir / "ohlcv.parquet")
    try:
        cls = load_strategy_class(job["source"])
    except policy.PolicyViolation as exc:
        channel.send(type="error", kind="rejected", message=f"Refused by the sandbox policy: {exc}")
        return
    settings = engine.EngineSettings(**job["settings"])
    total = len(data)

    def progress(done: int, total_bars: int) -> None:
        channel.send(type="progress", done=done, total=total_bars)

    try:
        out = engine.run(cls, data, settings, params=job.get("params") or {}, progress=progress)
    except MemoryError:
        channel.send(type="error", kind="memory_limit",
                     message="The strategy ran out of memory (the sandbox memory limit).")
        return
    except policy.PolicyViolation as exc:
        channel.send(type="error", kind="rejected", message=f"Refused by the sandbox policy: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - any user error is reported, not raised
        channel.send(type="error", kind="crashed", message=user_traceback(exc))
        return
    out_dir = job_dir / "out"
    out.equity.rename("equity").to_frame().to_parquet(out_dir / "equity.parquet")
    out.trades.to_parquet(out_dir / "trades.parquet")
    channel.send(type="result", bars=total, trades=len(out.trades),
                 claimed={str(k): (None if pd.isna(v) else str(v)) for k, v in out.stats.items()})


def main(argv: list[str]) -> int:
    """Entry: ``child.py JOB_DIR RESULT_FD``. Imports first (a pooled worker is warm), then stdin."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    channel = Channel(int(argv[2]))
    import backtesting  # noqa: F401 - warm the heavy imports before the job arrives
    import pandas  # noqa: F401
    import RestrictedPython  # noqa: F401

    from core import engine  # noqa: F401

    channel.send(type="ready")
    raw = sys.stdin.read()
    sys.stdin.close()
    try:
        job = json.loads(raw)
    except ValueError:
        channel.send(type="error", kind="failed", message="The job could not be read.")
        return 2
    _set_limits(job.get("limits", {}))
    run_job(job, Path(argv[1]), channel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
