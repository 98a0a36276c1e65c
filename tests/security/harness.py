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


# Fork until the process limit refuses, tell the parent (a progress message), then hold every
# child until the test drops a file into out/.
FORK_TO_THE_LIMIT_AND_HOLD = """
import json, time
forked = 0
try:
    while forked < 2000:
        if os.fork() == 0:  # each child holds its process slot until the test releases it
            while not os.path.exists(job_dir + '/out/release'):
                time.sleep(0.2)
            os._exit(0)
        forked += 1
    failure = 'no limit'
except OSError as exc:
    failure = type(exc).__name__
os.write(fd, (json.dumps({'type': 'progress', 'done': forked, 'total': forked}) + '\\n').encode())
while not os.path.exists(job_dir + '/out/release'):
    time.sleep(0.05)
assert failure == 'no limit', f'fork refused after {forked} children: {failure}'
result = forked
"""


def hog_the_process_limit_while_another_run_completes(settings: Settings) -> list[dict]:
    """Start a run that forks until its process limit refuses and holds every child; while it
    holds them, another run must complete (asserted here); then release the hog and return its
    messages (its raw report says after how many children the fork was refused)."""
    holding = threading.Event()
    hog = Worker(settings).start(entry=raw_program(FORK_TO_THE_LIMIT_AND_HOLD))
    finished: dict = {}

    def run_hog() -> None:
        job = {"source": "", "params": {}, "settings": {}}
        finished["outcome"] = hog.run(job, limits=Limits.from_settings(settings),
                                      progress=lambda done, total: holding.set())
        holding.set()  # ended without reporting: the assertions below say how

    thread = threading.Thread(target=run_hog)
    thread.start()
    try:
        assert holding.wait(60), "the forking run never reported"
        assert "outcome" not in finished, finished["outcome"]
        other = run_source(settings, strategy(next_="if len(self.data) % 5 == 0:\n"
                                                    "    self.buy()"))
        assert other.status == "completed", (other.status, other.message, other.log[-500:])
    finally:
        (hog.job_dir / "out" / "release").touch()
        thread.join(90)
        hog.cleanup()
    return finished["outcome"].messages
