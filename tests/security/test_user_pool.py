"""Per-run sandbox users where the host has no per-run control groups (issue 12, part 2's
fallback), through the real firejail command line with PINEOPT_CGROUPS=off forcing it: a run
forking to its process limit does not stop a concurrent run from starting, concurrent runs get
different uids (each owning its own out/ folder), a user is never leased twice at once, and a
lease dies with the process that held it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sandbox import cgroups, userpool
from sandbox.runner import Limits, Worker
from tests.conftest import make_settings
from tests.security.conftest import SECURITY_LIMITS
from tests.security.harness import (hog_the_process_limit_while_another_run_completes,
                                    raw_program)
from tests.security.test_run_limits import _raw_report

pytestmark = [pytest.mark.sandbox,
              pytest.mark.skipif(os.geteuid() != 0, reason="leasing users needs root")]
REPO = Path(__file__).resolve().parents[2]
REPORT_UID = "result = os.getuid()"


def _pool_settings(home: Path, **env: str):
    """Settings forcing the user pool; waits until every member is free (the processes of an
    earlier test's sandbox may take a moment to go)."""
    settings = make_settings(home, **{**SECURITY_LIMITS, "pineopt_cgroups": "off", **env})
    assert not cgroups.for_settings(settings).bases
    if not userpool.applies(settings, per_run_pids=False):
        pytest.fail(f"no per-run users for {settings.sandbox_user}: run scripts/setup_system.sh")
    leases = [userpool.lease(settings, wait_s=60) for _ in userpool.members(settings)]
    for lease in leases:
        lease.release()
    return settings


def test_a_run_forking_to_its_limit_does_not_stop_another_run(sec_home) -> None:
    settings = _pool_settings(sec_home, pineopt_nproc="30")
    report = _raw_report(hog_the_process_limit_while_another_run_completes(settings))
    assert "fork refused after" in report["detail"] and "BlockingIOError" in report["detail"], \
        report["detail"]
    assert int(report["detail"].split("after ")[1].split(" ")[0]) < 30  # its own limit


def test_concurrent_runs_get_different_users_owning_their_out_folders(sec_home) -> None:
    settings = _pool_settings(sec_home)
    workers = [Worker(settings).start(entry=raw_program(REPORT_UID)) for _ in range(2)]
    try:
        owners = [(w.job_dir / "out").stat().st_uid for w in workers]
        leased = [w.lease.user.uid for w in workers if w.lease is not None]
        outcomes = [w.run({"source": "", "params": {}, "settings": {}},
                          limits=Limits.from_settings(settings)) for w in workers]
    finally:
        for worker in workers:
            worker.cleanup()
    uids = [int(_raw_report(o.messages)["detail"]) for o in outcomes]
    members = {u.uid for u in userpool.members(settings)}
    assert uids == leased == owners, (uids, leased, owners)
    assert len(set(uids)) == 2 and set(uids) <= members


def test_a_user_is_never_leased_twice_and_frees_when_the_run_ends(sec_home) -> None:
    settings = _pool_settings(sec_home, pineopt_sandbox_pool="1")
    first = Worker(settings).start()
    try:
        with pytest.raises(userpool.NoFreeUser, match="per-run sandbox users"):
            Worker(settings).start(lease_wait_s=0)
    finally:
        first.cleanup()
    # the sandbox's processes may take a moment to go; the lease waits for them
    second = Worker(settings).start(lease_wait_s=30)
    second.cleanup()


def test_a_user_with_processes_left_is_not_leased(sec_home) -> None:
    settings = _pool_settings(sec_home, pineopt_sandbox_pool="1")
    user = userpool.members(settings)[0]
    orphan = subprocess.Popen(["sleep", "60"], user=user.uid, group=user.gid,  # noqa: S607
                              extra_groups=[])
    try:
        with pytest.raises(userpool.NoFreeUser):
            userpool.lease(settings)
    finally:
        orphan.kill()
        orphan.wait()
    userpool.lease(settings).release()


def test_a_lease_held_by_a_crashed_process_is_reclaimed(sec_home) -> None:
    settings = _pool_settings(sec_home, pineopt_sandbox_pool="1")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom core.settings import load_settings\n"
         "from sandbox import userpool\nlease = userpool.lease(load_settings())\n"
         "print(lease.user.name, flush=True)\ntime.sleep(120)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PINEOPT_HOME": str(settings.home), "PINEOPT_CGROUPS": "off",
             "PINEOPT_SANDBOX_POOL": "1"})
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == userpool.members(settings)[0].name
        with pytest.raises(userpool.NoFreeUser):
            userpool.lease(settings)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    userpool.lease(settings).release()  # the kernel dropped the dead holder's lock


def test_a_queued_run_waits_for_a_free_user_and_can_be_cancelled_meanwhile(sec_home) -> None:
    from core.errors import SandboxError
    from sandbox import pool

    settings = _pool_settings(sec_home, pineopt_sandbox_pool="1", pineopt_pool_size="0")
    held = userpool.lease(settings)  # another run holds the only user
    cancel = threading.Event()
    outcome: dict = {}

    def take() -> None:
        try:
            outcome["worker"] = pool.take_worker(settings, cancel)
        except SandboxError as exc:
            outcome["error"] = exc

    try:
        waiter = threading.Thread(target=take)
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive() and not outcome  # waiting for the user, not failing
        cancel.set()
        waiter.join(10)
        assert not waiter.is_alive()
        assert outcome["error"].status == "cancelled", outcome
    finally:
        held.release()
    worker = pool.take_worker(settings)  # the user is free again
    try:
        assert worker.lease is not None and worker.lease.user.name == held.user.name
    finally:
        worker.cleanup()
        pool.shutdown_pools()
