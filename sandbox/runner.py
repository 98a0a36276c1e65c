"""Parent side of the sandbox: job folders, the firejail command line, limits, result channel.

A Worker is one sandboxed child process: started (and warmed up) before a job exists, given
exactly one job, then gone. Results arrive as JSON lines on fd 3 plus Parquet files in the job's
out/ folder; nothing is unpickled. The channel is read within a byte and a message budget and
every line is parsed strictly (sandbox.channel): a protocol fault stops the child and ends the
run result_rejected. Every way a run can end maps to a RunStatus value.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import SandboxError
from core.settings import Settings
from sandbox import cgroups, userpool
from sandbox.command import (
    CLEAN_ENV,
    Limits,
    ensure_runtime,
    firejail_argv,
    launch_as,
    out_usage,
    plain_limits,
    run_group,
    sandbox_ids,
    sandbox_python,
    user_nproc,
)
from sandbox.channel import ChannelError, ChannelReader
from sandbox.cgroups import RunGroup
from sandbox.doctor import explain

__all__ = ["Limits", "Outcome", "Worker"]

READY_TIMEOUT_S = 60.0
POLL_S = 0.1  # how often the parent checks cancel, the wall clock and the output caps
MAX_MESSAGES = 16
DRAIN_S = 0.01
# Statuses the child may report for itself; anything else it claims is treated as a crash.
CHILD_STATUSES = frozenset({"crashed", "rejected", "memory_limit", "output_limit", "cpu_limit"})
KILL_MESSAGES = {
    "cancelled": ("cancelled", "Cancelled by the user."),
    "timed_out": ("timed_out", "Stopped after the {limits.timeout_s:g} s wall-clock limit (make "
                               "the strategy faster or use a shorter date range)."),
    "output_limit": ("output_limit", "Stopped: output exceeded {limits.output_bytes:,} bytes "
                                     "(remove or reduce print calls)."),
    "out_quota": ("output_limit", "Stopped: the run wrote more than its {limits.out_mb} MB quota "
                                  "to its out/ folder (PINEOPT_OUT_MB); write less, or raise "
                                  "PINEOPT_OUT_MB."),
}
MAX_OUT_ENTRIES = 1_000  # files and folders a run may create in out/ (it needs four)


@dataclass(slots=True, kw_only=True)
class Outcome:
    """How a worker's job ended. ``status`` is a RunStatus value."""

    status: str
    message: str = ""
    log: str = ""
    result: dict = field(default_factory=dict)
    job_dir: Path | None = None
    messages: list[dict] = field(default_factory=list)  # other messages (the self-test probe)


class Worker:
    """One sandboxed child process that takes exactly one job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.job_dir = settings.jobs_root / uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | None = None
        self._result_r = -1
        self._dir_fd = -1  # a shared flock on job_dir: the sweep (core.runs.housekeeping) keeps it
        self._ready = False
        self._buffers: dict[int, bytearray] = {}
        self._open: set[int] = set()
        self._killed_by: str = ""
        self._sent_at = time.monotonic()
        self._channel = ChannelReader(max_bytes=settings.result_bytes)
        self._fault: ChannelError | None = None
        self.group: RunGroup | None = None  # the run's control groups (sandbox.cgroups)
        self.lease: userpool.Lease | None = None  # the run's own sandbox user, if leased
        self._background = False  # warming up at idle CPU weight until a job needs it
        self.on_cleanup: Callable[[], None] | None = None  # the pool's, once the job is over

    def start(self, *, entry: list[str] | None = None,
              lease_wait_s: float = userpool.LEASE_WAIT_S, background: bool = False) -> Worker:
        """Create the job folder and start the child; it imports, then waits for a job.

        The folder is 0711 root with a random name (other jobs cannot list or guess it); only
        out/ is writable, by the run's sandbox user: a leased pool user of its own where the
        host has no per-run pids group (sandbox.userpool), else the main one. ``entry``
        replaces the interpreter arguments [child.py] (the security tests run raw code under
        the identical command line); JOB_DIR and RESULT_FD always follow. Raises SandboxError
        if the sandbox user is missing, userpool.NoFreeUser if no pool user frees up within
        ``lease_wait_s``. ``background``: a pool's spare worker, which warms up at idle CPU
        weight (its run group's, where the host has one) until prioritize() or its job.
        """
        self._background = background
        runtime = ensure_runtime(self.settings)
        ids = sandbox_ids(self.settings) if self.settings.sandbox_mode == "firejail" else None
        if ids and userpool.applies(self.settings, per_run_pids=cgroups.for_settings(
                self.settings).has("pids")):
            self.lease = userpool.lease(self.settings, wait_s=lease_wait_s)
            ids = (self.lease.user.uid, self.lease.user.gid)
        try:
            return self._launch(runtime, ids, entry)
        except BaseException:
            self.cleanup()
            raise

    def _launch(self, runtime: Path, ids: tuple[int, int] | None,
                entry: list[str] | None) -> Worker:
        (self.job_dir / "out").mkdir(parents=True)
        self._dir_fd = os.open(self.job_dir, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._dir_fd, fcntl.LOCK_SH)
        self.job_dir.chmod(0o711)
        (self.job_dir / "out").chmod(0o700)
        if ids:
            os.chown(self.job_dir / "out", *ids)
        result_r, result_w = os.pipe()
        entry = entry or [str(runtime / "sandbox" / "child.py")]
        program = [sandbox_python(self.settings), "-I", "-B", *entry, str(self.job_dir),
                   str(result_w)]
        limits = Limits.from_settings(self.settings)
        kwargs: dict = {"preexec_fn": plain_limits(limits), "cwd": str(self.job_dir)}
        argv = program
        if self.settings.sandbox_mode == "firejail":
            self.group = run_group(self.settings, self.job_dir.name, limits) if ids else None
            if self.group is not None and self._background:
                self.group.weigh_cpu(idle=True)
            argv = firejail_argv(self.settings, job_dir=self.job_dir, limits=limits,
                                 program=program, result_fd=result_w, runtime=runtime,
                                 group=self.group,
                                 user=self.lease.user.name if self.lease else "")
            kwargs = {"preexec_fn": launch_as(ids, self.group)} if ids else {}
        self.proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(CLEAN_ENV), start_new_session=True, pass_fds=(result_w,), **kwargs)
        os.close(result_w)
        self._result_r = result_r
        assert self.proc.stdout is not None and self.proc.stderr is not None  # PIPE above
        for fd in (self.proc.stdout.fileno(), self.proc.stderr.fileno()):
            self._buffers[fd] = bytearray()
        self._open.update((*self._buffers, result_r))
        return self

    def prioritize(self) -> None:
        """A job is waiting for this worker: weigh its CPU as a run's from now on."""
        if self._background and self.group is not None:
            self.group.weigh_cpu(idle=False)
        self._background = False

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S,
                   cancel: threading.Event | None = None) -> bool:
        """Block until the child has imported its libraries; False if cancelled meanwhile.

        Raises SandboxError(sandbox_unavailable) if the child dies or is not ready in time.
        """
        deadline = time.monotonic() + timeout_s
        while not self._ready:
            if cancel is not None and cancel.is_set():
                self.kill("cancelled")
                return False
            left = deadline - time.monotonic()
            if not self._open or left <= 0:
                break
            self._pump(min(POLL_S, left), on_message=None)
        if not self._ready:
            log = self._log()
            self.kill("failed")
            raise SandboxError("The sandbox did not start: " + explain(log),
                               status="sandbox_unavailable", log=log)
        return True

    def send(self, job: dict, *, limits: Limits, cancel: threading.Event | None = None) -> bool:
        """Write the job (with the child's limits) to stdin and close it; False if cancelled
        before the child was ready. Raises SandboxError if the child cannot start."""
        assert self.proc is not None and self.proc.stdin is not None
        self.prioritize()
        if not self.wait_ready(cancel=cancel):
            return False
        if self.group is not None:  # the run's own limits may be lower than the settings'
            self.group.limit(memory_bytes=limits.memory_mb * 1024 * 1024, pids=limits.nproc)
        child_limits = {**limits.for_child(),
                        "nproc": user_nproc(self.settings, limits, self.group)}
        job = {**job, "limits": child_limits}
        try:
            self.proc.stdin.write(json.dumps(job, allow_nan=False).encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self._sent_at = time.monotonic()
        return True

    def run(self, job: dict, *, limits: Limits, progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None) -> Outcome:
        """Send the job, stream progress, enforce limits; return how it ended.

        Cancel and the wall clock are checked every POLL_S; both kill the process group.
        """
        assert self.proc is not None
        self._channel.max_bytes = limits.result_bytes
        if not self.send(job, limits=limits, cancel=cancel):
            return self._outcome({}, limits)
        deadline = self._sent_at + limits.timeout_s
        final: dict = {}
        others: list[dict] = []

        def on_message(msg: dict) -> None:
            kind = msg.get("type")
            if kind == "progress" and progress is not None:
                progress(msg["done"], msg["total"])  # ints, checked by sandbox.channel
            elif kind in ("result", "error") and not final:
                final.update(msg)
            elif kind != "progress" and len(others) < MAX_MESSAGES:
                others.append(msg)

        while self.proc.poll() is None or self._readable():
            stop = self._limit_hit(limits, deadline, cancel)
            if stop:
                self.kill(stop)
                break
            if not self._pump(POLL_S, on_message=on_message) and self.proc.poll() is not None:
                break
            if final:  # the child flushed its output and files before the final message
                self._drain(on_message)
                self.kill("finished")
                break
        outcome = self._outcome(final, limits)
        outcome.messages = others
        return outcome

    def _limit_hit(self, limits: Limits, deadline: float, cancel: threading.Event | None) -> str:
        """The reason to stop now ('' to keep going)."""
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if time.monotonic() > deadline:
            return "timed_out"
        if self._output_size() > limits.output_bytes:
            return "output_limit"
        return self._out_over_quota(limits)

    def _out_over_quota(self, limits: Limits) -> str:
        """'out_quota' when the run's out/ folder is past its quota in bytes or entries."""
        size, entries = out_usage(self.job_dir / "out", max_entries=MAX_OUT_ENTRIES)
        return "out_quota" if size > limits.out_mb * 1024 * 1024 or \
            entries > MAX_OUT_ENTRIES else ""

    def _outcome(self, final: dict, limits: Limits) -> Outcome:
        assert self.proc is not None
        code = self.proc.wait()
        log = self._log()
        if self._killed_by == "channel" and self._fault is not None:
            text = str(self._fault)
            if self._fault.status == "result_rejected":
                text = f"Result rejected: {text}"
            return Outcome(status=self._fault.status, log=log, message=text)
        if self._killed_by in ("", "finished"):  # what it left in out/ counts as well
            self._killed_by = self._out_over_quota(limits) or self._killed_by
        if self._killed_by in KILL_MESSAGES:
            status, text = KILL_MESSAGES[self._killed_by]
            return Outcome(status=status, log=log, message=text.format(limits=limits))
        if final.get("type") == "result":
            return Outcome(status="completed", result=final, log=log, job_dir=self.job_dir)
        if final.get("type") == "error":
            kind = str(final.get("kind", "crashed"))
            return Outcome(status=kind if kind in CHILD_STATUSES else "crashed", log=log,
                           message=str(final.get("message", ""))[:20_000])
        return self._died(code, limits, log)

    def _died(self, code: int, limits: Limits, log: str) -> Outcome:
        """The child ended without a result or error message: a limit or a crash."""
        if self.group is not None and self.group.oom_kills():
            return Outcome(status="memory_limit", log=log,
                           message=f"Stopped by the {limits.memory_mb} MB memory limit (all "
                                   "the run's processes together; PINEOPT_MEMORY_MB).")
        cpu_used = time.monotonic() - self._sent_at
        killed = code in (-signal.SIGKILL, 128 + signal.SIGKILL, -signal.SIGXCPU,
                          128 + signal.SIGXCPU)
        if killed and cpu_used >= limits.cpu_s * 0.9:
            return Outcome(status="cpu_limit", log=log,
                           message=f"Stopped at the {limits.cpu_s} s CPU-time limit (make the "
                                   "strategy do less work per bar, or use a shorter date range).")
        if killed or "MemoryError" in log[-2000:]:
            return Outcome(status="memory_limit", log=log,
                           message=f"Stopped by the {limits.memory_mb} MB memory limit.")
        return Outcome(status="crashed", log=log,
                       message=f"The sandboxed process exited unexpectedly (code {code}). "
                               + _first_line(log))

    def _drain(self, on_message: Callable[[dict], None]) -> None:
        """Read whatever is already buffered in the pipes (no waiting for more)."""
        for _ in range(64):
            if not self._readable():
                return
            self._pump(DRAIN_S, on_message=on_message)

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
            if fd == self._result_r:
                if not self._on_channel(chunk, on_message):
                    return False
            else:
                self._buffers[fd] += chunk
        return True

    def _on_channel(self, chunk: bytes, on_message: Callable[[dict], None] | None) -> bool:
        """Hand the chunk's checked messages on; False after a protocol fault (child killed)."""
        if self._fault is not None:
            return False
        try:
            messages = self._channel.feed(chunk)
        except ChannelError as exc:
            self._fault = exc
            self._open.clear()
            self.kill("channel")
            return False
        for msg in messages:
            if msg["type"] == "ready":
                self._ready = True
            elif on_message is not None:
                on_message(msg)
        return True

    def _output_size(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    def _log(self) -> str:
        text = b"".join(bytes(b) for _fd, b in sorted(self._buffers.items()))
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
        if self.group is not None:
            self.group.remove()
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1
        if self.lease is not None:  # after the kill: the user's processes are gone
            self.lease.release()
        done, self.on_cleanup = self.on_cleanup, None
        if done is not None:
            done()


def _first_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
