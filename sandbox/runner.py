"""Parent side of the sandbox: job folders, the firejail command line, limits, result channel.

A Worker is one sandboxed child process: started (and warmed up) before a job exists, given
exactly one job, then gone. Results arrive as JSON lines on fd 3 plus Parquet files in the job's
out/ folder; nothing is unpickled. Every way a run can end maps to a RunStatus value.
"""

from __future__ import annotations

import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import SandboxError
from core.settings import REPO_ROOT, Settings

DEFAULT_SANDBOX_PYTHON = Path("/opt/pineopt/sandbox-venv/bin/python")
RUNTIME_PACKAGES = ("core", "sandbox")
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}
READY_TIMEOUT_S = 60.0
KILL_GRACE_S = 0.3


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Per-run limits; each can only be lower than the Settings it came from."""

    timeout_s: float
    memory_mb: int
    cpu_s: int
    output_bytes: int
    result_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings, **lower: float) -> Limits:
        """Limits from settings, optionally lowered (never raised) per run."""
        base = {"timeout_s": float(settings.timeout_s), "memory_mb": settings.memory_mb,
                "cpu_s": settings.cpu_s, "output_bytes": settings.output_bytes,
                "result_bytes": settings.result_bytes}
        for key, value in lower.items():
            if value:
                base[key] = type(base[key])(min(base[key], value))
        return cls(**base)


@dataclass(slots=True, kw_only=True)
class Outcome:
    """How a worker's job ended. ``status`` is a RunStatus value."""

    status: str
    message: str = ""
    log: str = ""
    result: dict = field(default_factory=dict)
    job_dir: Path | None = None


def sandbox_python(settings: Settings) -> str:
    """The interpreter the child runs with (a venv outside any home directory)."""
    if settings.sandbox_python:
        return settings.sandbox_python
    if settings.sandbox_mode == "firejail" and DEFAULT_SANDBOX_PYTHON.exists():
        return str(DEFAULT_SANDBOX_PYTHON)
    return sys.executable


def ensure_runtime(settings: Settings) -> Path:
    """Copy our child-side packages (core/, sandbox/) into the jobs root, once per content."""
    import hashlib

    files = sorted(p for pkg in RUNTIME_PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    target = settings.jobs_root / f"runtime-{digest.hexdigest()[:16]}"
    if target.exists():
        return target
    tmp = settings.jobs_root / f".runtime-{uuid.uuid4().hex}"
    for path in files:
        dest = tmp / path.relative_to(REPO_ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    for path in [tmp, *tmp.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race with identical content
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _sandbox_ids(settings: Settings) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(settings.sandbox_user)
    except KeyError:
        raise SandboxError(
            f"The sandbox user {settings.sandbox_user!r} does not exist. Run `make setup` as root "
            "(it creates it) or set PINEOPT_SANDBOX_USER.", status="sandbox_unavailable")
    return entry.pw_uid, entry.pw_gid


def firejail_argv(settings: Settings, *, job_dir: Path, limits: Limits, program: list[str],
                  result_fd: int) -> list[str]:
    """The firejail command line (reference/security.md section 3) for one job."""
    hidden = {str(REPO_ROOT), str(settings.home), "/run/dbus", "/run/postgresql", "/root"}
    return [
        "firejail", "--noprofile", "--quiet",
        "--private", "--private-dev", "--private-tmp", "--private-cwd",
        "--read-only=/", "--read-only=/tmp", "--read-only=/dev/shm", "--read-only=/var/tmp",
        "--read-only=~", f"--read-write={job_dir / 'out'}",
        *[f"--blacklist={p}" for p in sorted(hidden)],
        "--net=none", "--protocol=inet", "--ipc-namespace", "--hostname=sandbox", "--machine-id",
        "--caps.drop=all", "--nonewprivs", "--nogroups",
        "--seccomp=execve,execveat,socket,socketpair", "--seccomp.block-secondary",
        "--memory-deny-write-execute", "--restrict-namespaces",
        "--x11=none", "--dbus-user=none", "--dbus-system=none", "--nosound", "--no3d",
        "--novideo", "--noinput", "--nou2f",
        f"--rlimit-as={settings.memory_mb}m", f"--rlimit-cpu={settings.cpu_s}",
        "--rlimit-fsize=128m", f"--rlimit-nproc={settings.nproc}",
        f"--rlimit-nofile={settings.nofile}",
        # No --timeout: on firejail 0.9.72 it slows the child ~4x (measured). The parent keeps
        # the wall clock, and the child arms SIGALRM as a backstop if the parent dies.
        f"--keep-fd={result_fd}",
        *program,
    ]


def _plain_limits(settings: Settings) -> Callable[[], None]:
    def apply() -> None:
        import resource

        mem = settings.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (settings.cpu_s, settings.cpu_s))
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024 * 1024, 128 * 1024 * 1024))
    return apply


class Worker:
    """One sandboxed child process that takes exactly one job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.job_dir = settings.jobs_root / uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | None = None
        self._result_r = -1
        self._ready = False
        self._buffers: dict[int, bytearray] = {}
        self._open: set[int] = set()
        self._killed_by: str = ""

    def start(self) -> Worker:
        """Create the job folder and start the child; it imports, then waits for a job."""
        runtime = ensure_runtime(self.settings)
        ids = _sandbox_ids(self.settings) if self.settings.sandbox_mode == "firejail" else None
        (self.job_dir / "out").mkdir(parents=True)
        self.job_dir.chmod(0o755)
        if ids:
            os.chown(self.job_dir / "out", *ids)
        result_r, result_w = os.pipe()
        program = [sandbox_python(self.settings), "-I", "-B", str(runtime / "sandbox" / "child.py"),
                   str(self.job_dir), str(result_w)]
        limits = Limits.from_settings(self.settings)
        kwargs: dict = {}
        if self.settings.sandbox_mode == "firejail":
            argv = firejail_argv(self.settings, job_dir=self.job_dir, limits=limits,
                                 program=program, result_fd=result_w)
            if ids:
                kwargs = {"user": ids[0], "group": ids[1], "extra_groups": []}
        else:
            argv = program
            kwargs = {"preexec_fn": _plain_limits(self.settings), "cwd": str(self.job_dir)}
        self.proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(CLEAN_ENV), start_new_session=True, pass_fds=(result_w,), **kwargs)
        os.close(result_w)
        self._result_r = result_r
        for fd in (self.proc.stdout.fileno(), self.proc.stderr.fileno(), result_r):
            self._buffers[fd] = bytearray()
            self._open.add(fd)
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until the child has imported its libraries. Raises SandboxError if it dies."""
        deadline = time.monotonic() + timeout_s
        while not self._ready:
            if not self._pump(deadline - time.monotonic(), on_message=None):
                break
        if not self._ready:
            log = self._log()
            self.kill("failed")
            raise SandboxError("The sandbox did not start. " + _first_line(log), status="sandbox_unavailable",
                               log=log)

    def run(self, job: dict, *, limits: Limits, progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None) -> Outcome:
        """Send the job, stream progress, enforce limits; return how it ended."""
        assert self.proc is not None and self.proc.stdin is not None
        self.wait_ready()
        job = {**job, "limits": {"memory_bytes": limits.memory_mb * 1024 * 1024,
                                 "cpu_s": limits.cpu_s, "wall_s": int(limits.timeout_s) + 5}}
        try:
            self.proc.stdin.write(json.dumps(job, allow_nan=False).encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + limits.timeout_s
        final: dict = {}

        def on_message(msg: dict) -> None:
            if msg.get("type") == "progress" and progress is not None:
                progress(int(msg.get("done", 0)), int(msg.get("total", 0)))
            elif msg.get("type") in ("result", "error"):
                final.update(msg)

        while self.proc.poll() is None or self._readable():
            if cancel is not None and cancel.is_set():
                self.kill("cancelled")
                break
            if time.monotonic() > deadline:
                self.kill("timed_out")
                break
            if self._output_size() > limits.output_bytes:
                self.kill("output_limit")
                break
            if len(self._buffers[self._result_r]) > limits.result_bytes:
                self.kill("output_limit")
                break
            if not self._pump(0.1, on_message=on_message) and self.proc.poll() is not None:
                break
        return self._outcome(final, limits)

    def _outcome(self, final: dict, limits: Limits) -> Outcome:
        assert self.proc is not None
        code = self.proc.wait()
        log = self._log()
        if self._killed_by == "cancelled":
            return Outcome(status="cancelled", message="Cancelled by the user.", log=log)
        if self._killed_by == "timed_out":
            return Outcome(status="timed_out", log=log,
                           message=f"Stopped after the {limits.timeout_s:g} s wall-clock limit.")
        if self._killed_by == "output_limit":
            return Outcome(status="output_limit", log=log,
                           message=f"Stopped: output exceeded {limits.output_bytes:,} bytes "
                                   "(remove or reduce print calls).")
        if final.get("type") == "result":
            return Outcome(status="completed", result=final, log=log, job_dir=self.job_dir)
        if final.get("type") == "error":
            return Outcome(status=str(final.get("kind", "crashed")), log=log,
                           message=str(final.get("message", ""))[:20_000])
        if code in (-signal.SIGKILL, 137, -signal.SIGXCPU, 152):
            return Outcome(status="cpu_limit", log=log,
                           message=f"Stopped at the {limits.cpu_s} s CPU-time limit.")
        return Outcome(status="crashed", log=log,
                       message=f"The sandboxed process exited unexpectedly (code {code}). "
                               + _first_line(log))

    def _readable(self) -> bool:
        if not self._open:
            return False
        ready, _, _ = select.select(list(self._open), [], [], 0)
        return bool(ready)

    def _pump(self, timeout_s: float, *, on_message: Callable[[dict], None] | None) -> bool:
        """Read what is available; return False when nothing more can come."""
        if not self._open or timeout_s <= 0:
            return False
        ready, _, _ = select.select(list(self._open), [], [], timeout_s)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                self._open.discard(fd)
                continue
            self._buffers[fd] += chunk
            if fd == self._result_r:
                self._drain_messages(on_message)
        return True

    def _drain_messages(self, on_message: Callable[[dict], None] | None) -> None:
        buf = self._buffers[self._result_r]
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            try:
                msg = json.loads(line, parse_constant=_reject_constant)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("type") == "ready":
                self._ready = True
            elif on_message is not None:
                on_message(msg)

    def _output_size(self) -> int:
        return sum(len(b) for fd, b in self._buffers.items() if fd != self._result_r)

    def _log(self) -> str:
        text = b"".join(bytes(b) for fd, b in sorted(self._buffers.items()) if fd != self._result_r)
        return text.decode("utf-8", "replace")[: self.settings.output_bytes]

    def kill(self, reason: str) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL)."""
        self._killed_by = self._killed_by or reason
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self.proc.kill()
        self.proc.wait(5)

    def cleanup(self) -> None:
        """Kill if still running, close pipes and remove the job folder."""
        self.kill("cleanup")
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None and not stream.closed:
                    stream.close()
        if self._result_r >= 0:
            try:
                os.close(self._result_r)
            except OSError:
                pass
            self._result_r = -1
        shutil.rmtree(self.job_dir, ignore_errors=True)


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} in sandbox result")


def _first_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
