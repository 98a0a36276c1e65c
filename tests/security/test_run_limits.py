"""Limits per run, not per process or per user (issue 12 part 2), through the real firejail
command line with every in-process guard bypassed (raw Python): a forking run holds at most its
memory limit across all its processes, one run forking to its process limit does not stop
another run from starting, and a run writing past its out/ quota ends with a limit message.
The first two need per-run control groups; the host's support is what `pineopt doctor` reports.
"""

from __future__ import annotations

import json

import pytest

from sandbox import cgroups
from tests.conftest import make_settings
from tests.security.conftest import SECURITY_LIMITS
from tests.security.harness import (hog_the_process_limit_while_another_run_completes,
                                    run_raw, run_source, strategy)

pytestmark = pytest.mark.sandbox
MB = 1024 * 1024

# Four children each touch 200 MB and hold it until released: 800 MB at once unless the run's
# memory is counted for all its processes together.
FORK_AND_HOLD_MEMORY = """
import signal
kids = []
for i in range(4):
    r, w = os.pipe()
    rel_r, rel_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        block = bytearray(200 * 1024 * 1024)
        for j in range(0, len(block), 4096):
            block[j] = 1
        os.write(w, b'1')
        os.read(rel_r, 1)
        os._exit(0)
    os.close(w)
    os.close(rel_r)
    kids.append((pid, r, rel_w))
held = [os.read(r, 1) == b'1' for pid, r, rel_w in kids]
for pid, r, rel_w in kids:
    try:
        os.write(rel_w, b'x')
    except BrokenPipeError:  # that child is gone already
        pass
killed = sum(os.waitpid(pid, 0)[1] == signal.SIGKILL for pid, r, rel_w in kids)
assert killed == 0, f'{killed} of 4 children were killed at the memory limit'
result = held
"""

WRITE_PAST_QUOTA = """
for i in range(12):
    with open(f'{job_dir}/out/blob-{i}', 'wb') as handle:
        handle.write(b'x' * (16 * 1024 * 1024))
result = 'wrote 192 MB'
"""


def _support(settings) -> cgroups.Support:
    return cgroups.for_settings(settings)


def _raw_report(messages) -> dict:
    reports = [m for m in messages if m.get("type") == "raw"]
    assert len(reports) == 1, messages
    return reports[0]


def test_a_forking_run_cannot_exceed_its_memory(sec_settings) -> None:
    if not _support(sec_settings).has("memory"):
        pytest.fail("no per-run memory control group on this host: "
                    + _support(sec_settings).reason)
    verdict = run_raw(sec_settings, FORK_AND_HOLD_MEMORY, memory_mb=500)
    assert 0 < verdict.peak_memory_bytes <= 500 * MB, verdict.peak_memory_bytes
    if verdict.status == "memory_limit":  # the kernel chose the run's main process
        assert "500 MB memory limit" in verdict.message
        return
    report = _raw_report(verdict.messages)
    assert report["escaped"] is False, report["detail"]
    assert "killed at the memory limit" in report["detail"], report["detail"]


def test_a_run_forking_to_its_limit_does_not_stop_another_run(sec_home) -> None:
    settings = make_settings(sec_home, **SECURITY_LIMITS, pineopt_nproc="30")
    if not _support(settings).has("pids"):
        pytest.fail("no per-run pids control group on this host: " + _support(settings).reason)
    report = _raw_report(hog_the_process_limit_while_another_run_completes(settings))
    assert report["escaped"] is False
    assert "fork refused after" in report["detail"] and "BlockingIOError" in report["detail"], \
        report["detail"]
    forked = int(report["detail"].split("after ")[1].split(" ")[0])
    assert forked < 30, forked  # the run's own process limit, not the user's


def test_writing_past_the_out_quota_ends_the_run_with_a_limit_message(sec_settings) -> None:
    settings = make_settings(sec_settings.home, **SECURITY_LIMITS, pineopt_out_mb="64")
    verdict = run_raw(settings, WRITE_PAST_QUOTA)
    assert verdict.status == "output_limit", (verdict.status, verdict.message)
    assert "64 MB quota" in verdict.message and "PINEOPT_OUT_MB" in verdict.message


def test_a_run_within_its_quota_and_memory_completes(sec_settings) -> None:
    verdict = run_source(sec_settings, strategy(next_="if len(self.data) % 5 == 0:\n"
                                                      "    self.buy()"))
    assert verdict.status == "completed", (verdict.message, verdict.log[-500:])
    assert json.dumps(verdict.messages)  # nothing else was sent
