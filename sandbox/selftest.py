"""The sandbox self-test (reference/security.md section 5): prove the wall is up before any run.

A canary job runs through the exact command line of real jobs (a sandbox.runner.Worker) and must
report seccomp on, no new privileges, no capabilities, its own pid namespace, no sockets, no
writes to / /tmp ~, a host marker file, the store, the repo, /etc/passwd and /proc/1/cmdline
invisible, no other job folder visible, the run's own control groups joined (where the host
has them), the launcher's canary variable absent, and exec refused with EPERM. firejail can
warn and run unsandboxed with exit code 0, so only these facts count. The result is cached per
process (a failure is retried after RETRY_AFTER_S). PINEOPT_SANDBOX=none skips the probe and
reports an unsafe development mode.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass

from core.errors import SandboxError, SandboxUnavailableError
from core.settings import REPO_ROOT, Settings
from sandbox.doctor import explain

SELFTEST_TIMEOUT_S = 60.0
RETRY_AFTER_S = 30.0
CANARY_VARIABLE = "PINEOPT_SELFTEST_CANARY"
NESTED_WARNING = "an existing sandbox was detected"
FIX_HINT = ("`pineopt doctor` checks each setup fact and names its fix; `sudo make setup` creates "
            "or repairs the sandbox user, its home, the sandbox interpreter and the jobs folder.")


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxStatus:
    """Outcome of the self-test. ``ok`` False means strategies must not run."""

    ok: bool
    mode: str  # "firejail" or "none"
    message: str
    failures: tuple[str, ...] = ()
    checked_at: float = 0.0  # time.monotonic() of the probe

    @property
    def unsafe(self) -> bool:
        """True in the development mode that runs strategies without the sandbox."""
        return self.mode == "none"


_cache: dict[Settings, SandboxStatus] = {}  # per process: the probe costs ~2 s
_cache_lock = threading.Lock()


def self_test(settings: Settings, *, refresh: bool = False) -> SandboxStatus:
    """The sandbox status for ``settings``, probing once per process (thread-safe).

    A failed probe is repeated after RETRY_AFTER_S; ``refresh`` forces a new probe.
    """
    with _cache_lock:
        cached = _cache.get(settings)
        fresh = cached is not None and (cached.ok or
                                        time.monotonic() - cached.checked_at < RETRY_AFTER_S)
        if cached is not None and fresh and not refresh:
            return cached
        status = _probe(settings)
        _cache[settings] = status
        return status


def require_sandbox(settings: Settings) -> SandboxStatus:
    """Return the status if strategies may run; raise SandboxUnavailableError saying why if not."""
    status = self_test(settings)
    if not status.ok:
        raise SandboxUnavailableError(status.message)
    return status


def _probe(settings: Settings) -> SandboxStatus:
    now = time.monotonic()
    if settings.sandbox_mode == "none":
        return SandboxStatus(ok=True, mode="none", checked_at=now, message=(
            "UNSAFE development mode (PINEOPT_SANDBOX=none): strategies run in a plain subprocess "
            "with resource limits only, without the firejail sandbox. Never use it with code you "
            "did not write."))
    failures = _host_failures(settings) or _canary_failures(settings)
    if failures:
        return SandboxStatus(ok=False, mode="firejail", failures=tuple(failures), checked_at=now,
                             message="The sandbox self-test failed, so strategies will not run. "
                                     + " ".join(f if f.endswith(".") else f + "." for f in failures)
                                     + " " + FIX_HINT)
    return SandboxStatus(ok=True, mode="firejail", checked_at=now,
                         message="Sandbox self-test passed (firejail, seccomp, no network).")


def _host_failures(settings: Settings) -> list[str]:
    if sys.platform != "linux":
        return [f"firejail needs Linux (this is {sys.platform})"]
    if shutil.which("firejail") is None:
        return ["firejail is not installed (apt-get install firejail)"]
    return []


def _canary_failures(settings: Settings) -> list[str]:
    """Run the probe job through a real Worker and list every check that did not pass."""
    from sandbox.runner import Limits, Worker

    token = secrets.token_hex(16)
    os.environ[CANARY_VARIABLE] = token  # the launcher's env: must not reach the child
    settings.home.mkdir(parents=True, exist_ok=True)
    marker = settings.home / f".sandbox-marker-{token}"
    marker.write_text("if the sandbox can read this, it is broken\n")
    spec = {"canary": token, "firejail": True, "jobs_root": str(settings.jobs_root),
            "hidden": [str(marker), str(settings.db_path), str(REPO_ROOT / "core" / "settings.py"),
                       str(REPO_ROOT), "/root", "/etc/passwd", "/proc/1/cmdline"],
            "cgroups": _expected_groups(settings)}
    worker = None
    try:
        worker = Worker(settings).start()
        outcome = worker.run({"selftest": spec}, limits=Limits.from_settings(
            settings, timeout_s=SELFTEST_TIMEOUT_S))
    except SandboxError as exc:
        return [str(exc)[:1200]]
    except OSError as exc:
        return [f"the sandbox did not start ({exc})"]
    finally:
        if worker is not None:
            worker.cleanup()
        marker.unlink(missing_ok=True)
    return _judge(outcome.messages, outcome.log, outcome.status)


def _expected_groups(settings: Settings) -> list[str]:
    """The controllers a run must be placed in (v2's single hierarchy is named "")."""
    from sandbox import cgroups

    support = cgroups.for_settings(settings)
    if support.version == 2:
        return [""]
    return sorted(support.bases)


def _judge(messages: list[dict], log: str, status: str) -> list[str]:
    failures = []
    if NESTED_WARNING in log.lower():
        failures.append("firejail reports 'an existing sandbox was detected' and would run "
                        "unsandboxed")
    probe = next((m for m in messages if m.get("type") == "probe"), None)
    if probe is None:
        return [*failures, f"the canary program reported nothing ({status}): {explain(log)}"]
    checks = probe.get("checks", {})
    unsandboxed = [n for n in ("seccomp", "no_new_privs") if checks.get(n, [True])[0] is not True]
    if len(unsandboxed) == 2:
        failures.append("firejail ran the canary WITHOUT a sandbox (no seccomp filter, no "
                        "no-new-privileges flag): it believes it already runs inside one. Fix: "
                        "inside a container set the environment variable container=docker (the "
                        "Dockerfile does); never start PineOpt inside another firejail")
    for name, (passed, detail) in sorted(checks.items()):
        if passed is not True:
            failures.append(f"check {name} failed: {detail}")
    exec_msg = next((m for m in messages if m.get("type") == "probe_exec"), None)
    if exec_msg is None or exec_msg.get("blocked") is not True:
        detail = exec_msg.get("detail") if exec_msg else "the canary was replaced by a program"
        failures.append(f"starting programs is not blocked ({detail})")
    return failures
