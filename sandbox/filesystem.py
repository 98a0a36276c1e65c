"""What the sandbox child sees of the host filesystem: an allow-list, the way judge systems do it.

The child sees the system directories the interpreter runs from (/usr and its /bin, /lib links),
the sandbox interpreter's venv, the child-side runtime copy, its own job folder, a handful of
/etc files the dynamic loader needs, a minimal /dev and its own /proc entries. Every other
top-level directory is hidden: a directory holding an allowed path becomes a tmpfs with only
that path bound in (--whitelist), everything else is blacklisted, /etc is rebuilt from a list
(--private-etc) and the home directories are empty (--private). Verified on firejail 0.9.72:
firejail cannot blacklist /run itself, /proc/1 as a whole or /proc/1/mountinfo (it reads them
after the blacklist step), so /run is hidden entry by entry and /proc/1 file by file
(mountinfo and mounts of pid 1 describe the sandbox's own mount namespace, nothing more).
Host side only.
"""

from __future__ import annotations

import os
from pathlib import Path

# Top-level names the child needs as they are: the interpreter, its shared libraries.
SYSTEM_TOP = frozenset({"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"})
# Handled by other flags: private /etc, /dev, /tmp, homes; /proc and /run entry by entry.
SPECIAL_TOP = frozenset({"etc", "dev", "tmp", "home", "root", "proc", "run"})
# /etc files Python, numpy and pandas need (the loader's cache and the time zone). No passwd,
# group, hosts or anything naming the host's users, services or secrets.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
# Entries of /proc/1 (firejail's own process inside the sandbox: its command line names host
# paths) the child could otherwise read; mountinfo stays because firejail itself reads it.
PROC1_HIDDEN = ("arch_status", "attr", "autogroup", "cgroup", "cmdline", "comm",
                "coredump_filter", "cpuset", "environ", "gid_map", "limits", "loginuid", "mounts",
                "net", "oom_adj", "oom_score", "oom_score_adj", "projid_map", "sched", "schedstat",
                "sessionid", "setgroups", "stat", "statm", "status", "task", "timens_offsets",
                "uid_map", "wchan")
# firejail keeps its own state here while the sandbox starts; it is never blacklisted.
FIREJAIL_RUN = "firejail"


def _top(path: Path) -> str:
    parts = path.parts
    return parts[1] if len(parts) > 1 else ""


def _system_link(entry: Path, root: Path) -> bool:
    """True for a top-level symlink into a system directory (bin -> usr/bin)."""
    if not entry.is_symlink():
        return False
    target = Path(os.path.realpath(entry))
    return target.is_relative_to(root) and _top(target) in SYSTEM_TOP


def allowed_paths(*, interpreter_dir: Path | None, runtime: Path, job_dir: Path) -> list[Path]:
    """The host paths bound into the sandbox besides the system directories."""
    paths = [runtime, job_dir]
    if interpreter_dir is not None and _top(interpreter_dir) not in SYSTEM_TOP:
        paths.insert(0, interpreter_dir)
    return paths


def filesystem_flags(*, allowed: list[Path], hidden: list[Path],
                     root: Path = Path("/")) -> list[str]:
    """firejail flags that leave only ``allowed`` (plus system directories) visible.

    ``hidden`` are extra paths to blacklist when they live inside a system directory (the repo
    or PINEOPT_HOME under /usr/local, say); anywhere else the allow-list hides them already.
    """
    flags = ["--private-etc=" + ",".join(ETC_FILES)]
    by_top: dict[str, list[Path]] = {}
    for path in allowed:
        by_top.setdefault(_top(path), []).append(path)
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in SYSTEM_TOP or name in SPECIAL_TOP or _system_link(entry, root):
            continue
        if name in by_top:
            flags.extend(f"--whitelist={p}" for p in by_top[name])
        else:
            flags.append(f"--blacklist={entry}")
    run = root / "run"
    if run.is_dir():
        flags.extend(f"--blacklist={p}" for p in sorted(run.iterdir()) if p.name != FIREJAIL_RUN)
    flags.extend(f"--blacklist=/proc/1/{name}" for name in PROC1_HIDDEN)
    flags.append("--blacklist=/root")
    flags.extend(f"--blacklist={p}" for p in hidden if _top(p) in SYSTEM_TOP and p.exists())
    return flags
