"""Per-run control groups: one run's whole process tree shares one memory, process and CPU budget.

rlimits are per process (RLIMIT_AS) or per user (RLIMIT_NPROC): a run that forks can hold its
memory limit once per child, and one run forking to the process limit stops every other run of
the same sandbox user from starting. A control group per run closes both: the kernel counts the
memory (RAM and swap) and the processes of everything the run starts, and weighs its CPU share
against the app's. Supported layouts: cgroup v2 (unified, /sys/fs/cgroup/cgroup.controllers)
and cgroup v1 (one hierarchy per controller, as on this project's CI host). Groups live under
the app's own group, in a folder named after the sandbox user (``pineopt-<user>``), one
subfolder per run; the child joins its run's group before it drops root (see join()). Without
root or without writable controllers, detect() says which limits stay per process.
Host side only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
NICE_STEP = 1.25  # the kernel's CPU weight falls by about this factor per nice level


def cpu_weight(nice: int, *, version: int, runs: int = 1) -> int:
    """The CPU weight of all sandboxes together: each of ``runs`` concurrent runs weighs as one
    task at ``nice`` against the app's threads at nice 0 (v1 cpu.shares 1024, v2 weight 100)."""
    default, low, high = (1024, 2, 262_144) if version == 1 else (100, 1, 10_000)
    return min(high, max(low, round(runs * default / NICE_STEP ** nice)))


@dataclass(frozen=True, slots=True)
class Support:
    """Which per-run controls this host allows: the cgroup version and each controller's folder
    for the sandbox user's groups (absent when that controller is unusable), and why not."""

    version: int  # 2, 1, or 0 when no usable controller
    bases: dict[str, Path] = field(default_factory=dict)
    reason: str = ""

    def has(self, controller: str) -> bool:
        """True when runs get their own group for ``controller`` (memory, pids or cpu)."""
        return controller in self.bases


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            out[name] = path
    return out


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def for_settings(settings: Settings) -> Support:
    """detect() for the settings' sandbox user, or none when PINEOPT_CGROUPS=off."""
    if not settings.cgroups:
        return Support(0, reason="control groups are switched off (PINEOPT_CGROUPS=off)")
    return detect(settings.sandbox_user)


def detect(sandbox_user: str, *, root: Path = CGROUP_ROOT) -> Support:
    """The per-run controls available to this process (must be root to move the child)."""
    if os.geteuid() != 0:
        return Support(0, reason="the app does not run as root, so it cannot place runs in "
                                 "control groups")
    try:
        own = _own_paths()
    except OSError as exc:
        return Support(0, reason=f"/proc/self/cgroup is unreadable ({exc})")
    name = f"pineopt-{sandbox_user}"
    if (root / "cgroup.controllers").is_file():
        mine = root / own.get("", "/").lstrip("/")
        enabled = set((mine / "cgroup.subtree_control").read_text().split()) if (
            mine / "cgroup.subtree_control").is_file() else set()
        usable = [c for c in CONTROLLERS if c in enabled] if _writable(mine) else []
        return Support(2 if usable else 0, {c: mine / name for c in usable},
                       "" if usable else "cgroup v2 without the memory/pids/cpu controllers "
                                         f"delegated to {mine}")
    bases = {c: root / c / own[c].lstrip("/") / name for c in CONTROLLERS
             if c in own and _writable(root / c / own[c].lstrip("/"))}
    return Support(1 if bases else 0, bases,
                   "" if bases else f"no writable cgroup controllers under {root}")


class RunGroup:
    """The control groups of one run: create with limits, join (in the child), read, remove."""

    def __init__(self, support: Support, run_id: str) -> None:
        self.support = support
        self.dirs = {c: base / run_id for c, base in support.bases.items()}

    def create(self, *, memory_bytes: int, pids: int, nice: int, runs: int = 1) -> RunGroup:
        """Make the run's groups and set its limits; each of ``runs`` concurrent runs weighs as
        one task at ``nice`` (cpu_weight). Raises OSError if the kernel refuses."""
        v2 = self.support.version == 2
        for base in dict.fromkeys(folder.parent for folder in self.dirs.values()):
            if not base.is_dir():
                base.mkdir(exist_ok=True)
                if v2:  # let the runs' groups below use the controllers
                    _write(base, "cgroup.subtree_control", "+" + " +".join(self.dirs))
        if "cpu" in self.dirs:
            _write(self.dirs["cpu"].parent, "cpu.weight" if v2 else "cpu.shares",
                   cpu_weight(nice, version=self.support.version, runs=runs))
        for folder in self.dirs.values():
            folder.mkdir(exist_ok=True)
        return self.limit(memory_bytes=memory_bytes, pids=pids)

    def limit(self, *, memory_bytes: int, pids: int) -> RunGroup:
        """Set (or lower, when the job arrives) the run's memory and process limits."""
        v2 = self.support.version == 2
        if "memory" in self.dirs:
            memory = self.dirs["memory"]
            if v2:
                _write(memory, "memory.max", memory_bytes)
                _write(memory, "memory.swap.max", 0, optional=True)
            else:
                _write(memory, "memory.limit_in_bytes", memory_bytes)
                _write(memory, "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
        if "pids" in self.dirs:
            _write(self.dirs["pids"], "pids.max", pids)
        return self

    def weigh_cpu(self, *, idle: bool) -> None:
        """Weigh the run's CPU as a warm-up nobody waits for (the least the kernel allows: a
        pooled worker warms up on otherwise idle CPU, not on that of running runs) or as a run
        (the kernel's default). No-op without a cpu group."""
        folder = self.dirs.get("cpu")
        if folder is not None:
            v2 = self.support.version == 2
            _write(folder, "cpu.weight" if v2 else "cpu.shares",  # a priority, not a limit:
                   (1 if v2 else 2) if idle else (100 if v2 else 1024), optional=True)

    def join(self) -> None:
        """Move the calling process into every group (the child, before it drops root)."""
        for folder in self.dirs.values():
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        """How many processes of the run the kernel killed at the memory limit."""
        folder = self.dirs.get("memory")
        name = "memory.events" if self.support.version == 2 else "memory.oom_control"
        try:
            text = (folder / name).read_text() if folder else ""
        except OSError:
            return 0
        found = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
        return int(found.group(1)) if found else 0

    def peak_memory_bytes(self) -> int:
        """The most memory the run's processes held at once (0 when unknown)."""
        folder = self.dirs.get("memory")
        name = "memory.peak" if self.support.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((folder / name).read_text()) if folder else 0
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Kill whatever is left in the groups and remove them (a busy one is left for sweep)."""
        for folder in self.dirs.values():
            for pid in _procs(folder):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                folder.rmdir()


def sweep(support: Support, jobs_root: Path) -> None:
    """Remove groups of finished runs (their job folder is gone) that are empty now: their own
    removal found them busy. A group whose job folder exists may be about to be joined."""
    for base in support.bases.values():
        if base.is_dir():
            for folder in base.iterdir():
                if folder.is_dir() and not (jobs_root / folder.name).exists() and \
                        not _procs(folder):
                    with contextlib.suppress(OSError):
                        folder.rmdir()


def _procs(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _write(folder: Path, name: str, value: int | str, *, optional: bool = False) -> None:
    try:
        (folder / name).write_text(str(value))
    except OSError:
        if not optional:
            raise
