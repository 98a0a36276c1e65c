"""Every way a sandboxed run can end has its own status and a message a user understands.

Sources run straight through a Worker (validation bypassed) on real firejail.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import make_settings
from tests.security.harness import run_source, strategy

pytestmark = pytest.mark.sandbox

SMA_NEXT = ("if self.data.Close[-1] > self.data.Open[-1]:\n    self.buy()\n"
            "else:\n    self.position.close()")


@pytest.fixture
def fast(home):
    """Settings with low limits so limit tests finish quickly."""
    return make_settings(home, pineopt_cpu_s="3", pineopt_timeout_s="40", pineopt_memory_mb="700",
                         pineopt_output_bytes="50000")


def test_completed(fast) -> None:
    verdict = run_source(fast, strategy(next_=SMA_NEXT))
    assert verdict.status == "completed", verdict.message


def test_crash_reports_the_users_own_line(fast) -> None:
    source = strategy(next_="x = 1\ny = x / 0")
    verdict = run_source(fast, source)
    assert verdict.status == "crashed"
    lines = verdict.message.splitlines()
    line_no = source.splitlines().index("        y = x / 0") + 1
    assert lines[:2] == ["Traceback (your strategy's frames):", f"  line {line_no}, in next"]
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert "site-packages" not in verdict.message and "backtesting.py" not in verdict.message


def test_cpu_limit(fast) -> None:
    verdict = run_source(fast, strategy(next_="while True:\n    pass"))
    assert verdict.status == "cpu_limit" and "3 s CPU-time limit" in verdict.message


def test_wall_timeout_when_cpu_is_not_used(fast) -> None:
    source = strategy(next_="while True:\n    pd.Series(range(3)).sum()")
    verdict = run_source(fast, source, cpu_s=100, timeout_s=2)
    assert verdict.status in ("timed_out", "cpu_limit")
    assert verdict.status == "timed_out", verdict.message
    assert "2 s wall-clock limit" in verdict.message


def test_memory_limit(fast) -> None:
    verdict = run_source(fast, strategy(next_="big = [0] * (10 ** 9)"))
    assert verdict.status == "memory_limit" and "memory" in verdict.message


def test_output_limit(fast) -> None:
    verdict = run_source(fast, strategy(next_="print('spam ' * 1000)"))
    assert verdict.status == "output_limit" and "50,000 bytes" in verdict.message
    assert len(verdict.log) <= 50_000


def test_rejected_at_run_time_by_the_import_guard(fast) -> None:
    verdict = run_source(fast, strategy(next_="import os"))
    assert verdict.status == "rejected" and "'os' is not allowed" in verdict.message


def test_cancel_stops_the_process_group_within_one_second(settings) -> None:
    cancel = threading.Event()
    asked: list[float] = []

    def ask() -> None:
        asked.append(time.monotonic())
        cancel.set()

    timer = threading.Timer(3.0, ask)
    timer.start()
    verdict = run_source(settings, strategy(next_="while True:\n    pass"), cancel=cancel)
    stopped = time.monotonic()
    timer.cancel()
    assert verdict.status == "cancelled" and verdict.message == "Cancelled by the user."
    assert stopped - asked[0] < 1.0, stopped - asked[0]  # includes the worker's cleanup


def test_development_mode_runs_in_a_plain_subprocess_with_limits(home) -> None:
    unsafe = make_settings(home, pineopt_sandbox="none", pineopt_cpu_s="3",
                           pineopt_timeout_s="40")
    assert run_source(unsafe, strategy(next_=SMA_NEXT)).status == "completed"
    assert run_source(unsafe, strategy(next_="while True:\n    pass")).status == "cpu_limit"
