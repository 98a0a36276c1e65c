"""The sandbox command line: limits, the interpreter, the runtime copy and the firejail argv.

reference/security.md section 3 is the source of every flag. Used by sandbox.runner (parent side)
and sandbox.selftest (the self-test runs the exact same command line).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import sys
import uuid
from typing import Any
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import SandboxError
from core.settings import REPO_ROOT, Settings
from sandbox import cgroups
from sandbox.cgroups import RunGroup
from sandbox.filesystem import allowed_paths, filesystem_flags

# What the sandbox child runs, and nothing else (no store, market, runs, strategies or Pine
# translator code): files and folders relative to the repository. Folders ship their *.py files.
# scripts/dev/import_contracts.py checks that these import only each other.
RUNTIME_FILES = (
    "core/__init__.py", "core/sizing.py", "core/engine",
    "core/pine/__init__.py", "core/pine/runtime.py", "core/pine/emulation",
    "sandbox/__init__.py", "sandbox/child.py", "sandbox/names.py", "sandbox/policy.py",
    "sandbox/policy_names.py", "sandbox/probe.py",
)
STARTUP_CPU_S = 30  # CPU seconds allowed for imports; the child counts the run's own from there
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Per-run limits; each can only be lower than the Settings it came from.

    timeout_s: wall clock kept by the parent; memory_mb: address space; cpu_s: CPU seconds;
    nproc/nofile: processes (per uid) and open files; fsize_mb: largest file written;
    output_bytes: stdout+stderr (and prints); result_bytes: the JSON result channel;
    out_mb: everything the run writes to its out/ folder (the parent's quota watchdog).
    """

    timeout_s: float
    memory_mb: int
    cpu_s: int
    nproc: int
    nofile: int
    fsize_mb: int
    output_bytes: int
    result_bytes: int
    out_mb: int = 256

    @classmethod
    def from_settings(cls, settings: Settings, **lower: float) -> Limits:
        """Limits from settings, optionally lowered (never raised) per run.

        Raises ValueError naming an unknown limit.
        """
        base: dict[str, Any] = {
                "timeout_s": float(settings.timeout_s), "memory_mb": settings.memory_mb,
                "cpu_s": settings.cpu_s, "nproc": settings.nproc, "nofile": settings.nofile,
                "fsize_mb": settings.fsize_mb, "output_bytes": settings.output_bytes,
                "result_bytes": settings.result_bytes, "out_mb": settings.out_mb}
        for key, value in lower.items():
            if key not in base:
                raise ValueError(f"unknown limit {key!r}; known: {', '.join(base)}")
            if value:
                base[key] = type(base[key])(min(base[key], value))
        return cls(**base)

    def for_child(self) -> dict[str, int]:
        """The rlimits the child applies to itself, plus its SIGALRM wall backstop."""
        mb = 1024 * 1024
        return {"memory_bytes": self.memory_mb * mb, "cpu_s": self.cpu_s, "nproc": self.nproc,
                "nofile": self.nofile, "fsize_bytes": self.fsize_mb * mb,
                "output_bytes": self.output_bytes, "wall_s": int(self.timeout_s) + 5}


def sandbox_python(settings: Settings) -> str:
    """The interpreter the child runs with: the sandbox venv's (outside any home directory).

    Never the app's own interpreter under firejail: it may live in a hidden folder, and a missing
    sandbox venv must fail the self-test loudly. PINEOPT_SANDBOX=none uses the app's.
    """
    if settings.sandbox_python:
        return settings.sandbox_python
    if settings.sandbox_mode == "firejail":
        return str(settings.sandbox_venv / "bin" / "python")
    return sys.executable


def runtime_sources(root: Path = REPO_ROOT) -> list[Path]:
    """The child-side source files (RUNTIME_FILES, folders expanded to their *.py), sorted."""
    out = []
    for entry in RUNTIME_FILES:
        path = root / entry
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return sorted(out)


def ensure_runtime(settings: Settings) -> Path:
    """Copy the child-side code (RUNTIME_FILES) into the jobs root, once per content."""
    files = runtime_sources()
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


def sandbox_ids(settings: Settings) -> tuple[int, int] | None:
    """(uid, gid) of the sandbox user when we are root, else None. Raises SandboxError."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(settings.sandbox_user)
    except KeyError:
        raise SandboxError(
            f"The sandbox user {settings.sandbox_user!r} does not exist. Run `make setup` as root "
            "(it creates it) or set PINEOPT_SANDBOX_USER.", status="sandbox_unavailable") from None
    return entry.pw_uid, entry.pw_gid


def interpreter_dir(settings: Settings) -> Path:
    """The folder the sandbox interpreter lives in (its venv; followed through the symlink)."""
    return Path(sandbox_python(settings)).parents[1]


def sandbox_home(settings: Settings, *, user: str = "") -> str:
    """The sandbox user's home (firejail mounts an empty tmpfs there); HOME inside the sandbox.

    ``user`` is the run's leased pool user (sandbox.userpool), default the main sandbox user.
    Needed explicitly because the private /etc has no passwd file to look it up in.
    """
    try:
        return pwd.getpwnam(user or settings.sandbox_user).pw_dir if os.geteuid() == 0 else (
            pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        return "/nonexistent"


def user_nproc(settings: Settings, limits: Limits, group: RunGroup | None) -> int:
    """RLIMIT_NPROC for the sandbox user. It counts every run of that user together, so when
    the run's own pids group caps it at limits.nproc, the rlimit leaves room for every run at
    once (one run forking to its limit cannot stop another from starting)."""
    if group is not None and "pids" in group.dirs:
        return limits.nproc * (settings.max_concurrent + settings.pool_size + 2)
    return limits.nproc


def run_group(settings: Settings, run_id: str, limits: Limits) -> RunGroup | None:
    """The run's control groups with its memory and process limits, or None when the host has
    none to give (sandbox.cgroups.detect says why). Raises SandboxError if creating them fails."""
    support = cgroups.for_settings(settings)
    if not support.bases:
        return None
    cgroups.sweep(support, settings.jobs_root)
    try:
        return cgroups.RunGroup(support, run_id).create(
            memory_bytes=limits.memory_mb * 1024 * 1024, pids=limits.nproc,
            nice=settings.sandbox_nice, runs=settings.max_concurrent)
    except OSError as exc:
        raise SandboxError(f"Could not create the run's control group ({exc}). Run `pineopt "
                           "doctor`; on a host without writable cgroups the limits stay per "
                           "process.", status="sandbox_unavailable") from exc


def launch_as(ids: tuple[int, int], group: RunGroup | None) -> Callable[[], None]:
    """The child's first step after fork: join the run's groups while still root, then become
    the sandbox user (no supplementary groups) before firejail starts."""
    def apply() -> None:
        if group is not None:
            group.join()
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])
    return apply


def out_usage(out_dir: Path, *, max_entries: int = 10_000) -> tuple[int, int]:
    """(bytes, entries) under the run's out/ folder; stops counting past ``max_entries``.

    Apparent sizes, so sparse files count at their full length.
    """
    total = entries = 0
    stack = [out_dir]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as items:
                for item in items:
                    entries += 1
                    if item.is_dir(follow_symlinks=False):
                        stack.append(Path(item.path))
                    else:
                        total += item.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total, entries


def firejail_argv(settings: Settings, *, job_dir: Path, limits: Limits, program: list[str],
                  result_fd: int, runtime: Path | None = None,
                  group: RunGroup | None = None, user: str = "") -> list[str]:
    """The firejail command line (reference/security.md section 3) for one job.

    The filesystem is an allow-list (sandbox.filesystem): the interpreter, ``runtime`` (the
    child-side code copy, default ensure_runtime's), the job folder and system directories.
    ``group`` (the run's control groups) makes the process rlimit user-wide (user_nproc);
    ``user`` names the run's leased pool user (its home becomes HOME), default the main one.
    """
    allowed = allowed_paths(interpreter_dir=interpreter_dir(settings),
                            runtime=runtime or ensure_runtime(settings), job_dir=job_dir)
    return [
        "firejail", "--noprofile", "--quiet",
        "--private", "--private-dev", "--private-tmp", "--private-cwd",
        *filesystem_flags(allowed=allowed, hidden=[REPO_ROOT, settings.home]),
        "--read-only=/", "--read-only=/tmp", "--read-only=/dev/shm", "--read-only=/var/tmp",
        "--read-only=~", f"--read-write={job_dir / 'out'}",
        f"--env=HOME={sandbox_home(settings, user=user)}", f"--nice={settings.sandbox_nice}",
        "--net=none", "--protocol=inet", "--ipc-namespace", "--hostname=sandbox", "--machine-id",
        "--caps.drop=all", "--nonewprivs", "--nogroups",
        "--seccomp=execve,execveat,socket,socketpair", "--seccomp.block-secondary",
        "--memory-deny-write-execute", "--restrict-namespaces",
        "--x11=none", "--dbus-user=none", "--dbus-system=none", "--nosound", "--no3d",
        "--novideo", "--noinput", "--nou2f",
        f"--rlimit-as={limits.memory_mb}m", f"--rlimit-cpu={limits.cpu_s + STARTUP_CPU_S}",
        f"--rlimit-fsize={limits.fsize_mb}m",
        f"--rlimit-nproc={user_nproc(settings, limits, group)}",
        f"--rlimit-nofile={limits.nofile}",
        # No --timeout: on firejail 0.9.72 it slows the child ~4x (measured). The parent keeps
        # the wall clock, and the child arms SIGALRM as a backstop if the parent dies.
        f"--keep-fd={result_fd}",
        *program,
    ]


def plain_limits(limits: Limits) -> Callable[[], None]:
    """rlimits for PINEOPT_SANDBOX=none (development only; no isolation beyond these)."""
    def apply() -> None:
        import resource

        mb = 1024 * 1024
        for res, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                           (resource.RLIMIT_CPU, limits.cpu_s + STARTUP_CPU_S),
                           (resource.RLIMIT_FSIZE, limits.fsize_mb * mb),
                           (resource.RLIMIT_NOFILE, limits.nofile)):
            resource.setrlimit(res, (value, value))
    return apply
