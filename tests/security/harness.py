"""Test harness: run a source straight through a sandbox Worker (validation bypassed).

Used by the security corpus and the sandbox integration tests to prove the OS sandbox and the
parent's result checks are the wall, whatever static validation would have said.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import SandboxError
from core.runs.result_check import check_result
from core.settings import Settings
from sandbox.runner import Limits, Worker

CASH_USDT = 100_000.0
HEADER = "from backtesting import Strategy\nimport pandas as pd\nimport numpy as np\n\n\n"


def ohlcv(bars: int = 300, seed: int = 7) -> pd.DataFrame:
    """Deterministic hourly OHLCV (a random walk around 40,000 USDT)."""
    rng = np.random.default_rng(seed)
    close = 40_000 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.002, bars)) * close
    index = pd.date_range("2024-01-01", periods=bars, freq="h", name="ts")
    return pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) + spread,
                         "Low": np.minimum(open_, close) - spread, "Close": close,
                         "Volume": rng.uniform(1, 10, bars)}, index=index)


def strategy(init: str = "pass", next_: str = "pass", prelude: str = "") -> str:
    """A plausible Strategy whose init/next bodies (indented 8 spaces) hide the attack."""
    def block(body: str) -> str:
        return "\n".join("        " + ln for ln in body.strip("\n").splitlines())
    return (HEADER + prelude.strip("\n") + "\n\n\nclass Attack(Strategy):\n    n = 10\n\n"
            f"    def init(self):\n{block(init)}\n\n    def next(self):\n{block(next_)}\n")


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """How a directly-run source ended after the parent's checks (status is a RunStatus value)."""

    status: str
    message: str
    log: str
    seconds: float = 0.0
    messages: tuple[dict, ...] = ()  # other messages the child sent (raw programs' reports)
    peak_memory_bytes: int = 0  # the run's control group's peak (0 without one)


def run_source(settings: Settings, source: str, *, data: pd.DataFrame | None = None,
               cancel: threading.Event | None = None, entry: list[str] | None = None,
               **lower: float) -> Verdict:
    """Run ``source`` in a fresh Worker and apply core.runs.result_check to what it returns.

    ``entry`` replaces the child program (raw code under the identical firejail command line).
    """
    import time

    data = ohlcv() if data is None else data
    worker = Worker(settings).start(entry=entry)
    started = time.monotonic()
    try:
        data.to_parquet(worker.job_dir / "ohlcv.parquet")
        job = {"source": source, "params": {}, "settings": {"cash_usdt": CASH_USDT}}
        outcome = worker.run(job, limits=Limits.from_settings(settings, **lower), cancel=cancel)
        seconds = time.monotonic() - started
        peak = worker.group.peak_memory_bytes() if worker.group is not None else 0
        if outcome.status != "completed":
            return Verdict(status=outcome.status, message=outcome.message, log=outcome.log,
                           seconds=seconds, messages=tuple(outcome.messages),
                           peak_memory_bytes=peak)
        try:
            check_result(worker.job_dir / "out", data, outcome.result, cash_usdt=CASH_USDT,
                         commission=0.0)
        except SandboxError as exc:
            return Verdict(status=exc.status, message=str(exc), log=outcome.log, seconds=seconds,
                           messages=tuple(outcome.messages))
        return Verdict(status="completed", message="", log=outcome.log, seconds=seconds)
    finally:
        worker.cleanup()


RAW_WRAPPER = """
import json, os, sys
fd = int(sys.argv[-1])
job_dir = sys.argv[-2]
os.write(fd, b'{{"type": "ready"}}\\n')
sys.stdin.read()
try:
{body}
    report = {{"escaped": True, "detail": repr(result)[:300]}}
except BaseException as exc:
    report = {{"escaped": False, "detail": (type(exc).__name__ + ": " + str(exc))[:300]}}
os.write(fd, (json.dumps({{"type": "raw", **report}}) + "\\n").encode())
"""


def raw_program(body: str) -> list[str]:
    """Interpreter arguments running ``body`` as plain Python (no RestrictedPython, no import
    guard) inside the sandbox. ``body`` sets ``result`` if the attack worked, raises if not;
    ``job_dir`` is its own job folder."""
    indented = "\n".join("    " + ln for ln in body.strip("\n").splitlines())
    return ["-c", RAW_WRAPPER.format(body=indented)]


def run_raw(settings: Settings, body: str, **lower: float) -> Verdict:
    """Run raw hostile code in the sandbox; the Verdict's messages hold its "raw" report."""
    return run_source(settings, "", entry=raw_program(body), **lower)
