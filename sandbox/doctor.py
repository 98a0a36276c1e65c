"""What the sandbox needs from the host, checked fact by fact, and firejail's errors explained.

``facts`` lists every setup fact the self-test depends on (firejail installed, the sandbox user
and its home, the interpreter, the jobs root, the container marker), each with the fix that
matches it; ``explain`` turns firejail's own stderr into a cause and a fix. Used by
`pineopt doctor`, `make setup` (its last step) and the self-test's failure message. Host side only.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

SETUP_FIX = "run `sudo make setup` (it creates or repairs it)"
LIBRARIES = ("numpy", "pandas", "backtesting", "RestrictedPython")


@dataclass(frozen=True, slots=True)
class Fact:
    """One checked fact: its name, whether it holds, what was seen, and the fix if it does not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    optional: bool = False  # a protection the host may lack: reported, never a failure


# firejail's own error text -> (cause, fix). The first matching pattern wins.
_CAUSES: tuple[tuple[str, str, str], ...] = (
    (r"fs_tmpfs: No such file or directory|cannot (?:find|access) (?:the )?home",
     "the sandbox user's home folder does not exist (firejail --private mounts an empty tmpfs "
     "on it)", SETUP_FIX),
    (r"not owned by the current user",
     "the sandbox user's home folder is not owned by the sandbox user", SETUP_FIX),
    (r"an existing sandbox was detected",
     "firejail believes it already runs inside a sandbox and would run strategies unprotected",
     "inside a container set the environment variable container=docker (the Dockerfile does); "
     "do not start PineOpt inside another firejail"),
    (r"is not allowed to use firejail|firejail\.users",
     "the sandbox user is not listed in /etc/firejail/firejail.users", SETUP_FIX),
    (r"apparmor",
     "AppArmor refuses firejail's mounts",
     "on an Ubuntu host run the container with --security-opt apparmor=unconfined, or load "
     "firejail's AppArmor profile (apt-get install firejail)"),
    (r"(?:clone|unshare|mount).*(?:Operation not permitted|Permission denied)|"
     r"cannot create (?:new )?namespace|Operation not permitted",
     "firejail may not create namespaces or mounts here (an unprivileged container, or user "
     "namespaces switched off)",
     "run the container with --cap-add SYS_ADMIN --security-opt seccomp=unconfined (README, "
     "Docker), or on a VM/host where firejail works"),
    (r"no suitable .* executable found|cannot run (?:program|command)|execvp|"
     r"No such file or directory",
     "the sandbox interpreter could not be started", SETUP_FIX),
)


def firejail_lines(log: str, limit: int = 4) -> list[str]:
    """firejail's own error and warning lines in a child's output (at most ``limit``)."""
    keep = [ln.strip() for ln in log.splitlines()
            if re.match(r"\s*(Error|Warning|Peer \d+|.*fs\.c:\d+)", ln)]
    return [ln[:300] for ln in keep[:limit]]


def explain(log: str) -> str:
    """One paragraph for a sandbox that did not start: firejail's words, the cause, the fix."""
    lines = firejail_lines(log)
    quoted = " / ".join(f"«{ln}»" for ln in lines) if lines else "(no output from firejail)"
    for pattern, cause, fix in _CAUSES:
        if re.search(pattern, log, re.IGNORECASE):
            return f"firejail said {quoted}. Cause: {cause}. Fix: {fix}."
    return f"firejail said {quoted}."


def facts(settings: Settings) -> list[Fact]:
    """Every setup fact the sandbox depends on, in the order a person would fix them."""
    if settings.sandbox_mode == "none":
        return [Fact("sandbox mode", True, "UNSAFE: PINEOPT_SANDBOX=none runs strategies "
                     "WITHOUT the sandbox (development only; unset it to use firejail)")]
    out = [Fact("Linux", sys.platform == "linux", sys.platform, "firejail needs Linux")]
    out.append(_firejail())
    out.extend(_user(settings))
    out.append(_pool_users(settings))
    out.extend(_interpreter(settings))
    out.append(_jobs_root(settings))
    out.append(_container())
    return out


def _pool_users(settings: Settings) -> Fact:
    """The per-run users (sandbox.userpool): each exists, unprivileged, with a private home of
    its own. Required where they keep the per-run limits (no per-run pids control group)."""
    from sandbox import cgroups, userpool

    problems = []
    for name in userpool.names(settings):
        try:
            entry = pwd.getpwnam(name)
            info = Path(entry.pw_dir).stat()
        except KeyError:
            problems.append(f"no user {name}")
            continue
        except OSError:
            problems.append(f"{name}'s home {entry.pw_dir} does not exist")
            continue
        if entry.pw_uid < userpool.MIN_UID or info.st_uid != entry.pw_uid or \
                stat.S_IMODE(info.st_mode) != 0o700:
            problems.append(f"{name} (uid {entry.pw_uid}) or its home {entry.pw_dir} is not "
                            "an unprivileged user's own 0700 folder")
    count = settings.user_pool
    detail = (f"{count} users {settings.sandbox_user}-1 ... -{count}, each with its own home"
              if count else "none (PINEOPT_SANDBOX_POOL=0)")
    return Fact("per-run users", not problems, "; ".join(problems[:3]) if problems else detail,
                SETUP_FIX, optional=cgroups.for_settings(settings).has("pids"))


def _firejail() -> Fact:
    path = shutil.which("firejail")
    if path is None:
        return Fact("firejail installed", False, "not found on PATH",
                    "run `sudo make setup` (apt-get install firejail)")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True,  # noqa: S603
                                 timeout=10, check=False).stdout.splitlines()[:1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Fact("firejail installed", False, f"{path} does not run ({exc})",
                    "reinstall it: sudo apt-get install --reinstall firejail")
    return Fact("firejail installed", True, f"{path} ({version[0] if version else '?'})")


def _user(settings: Settings) -> list[Fact]:
    name = settings.sandbox_user
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return [Fact("sandbox user", False, f"no user {name!r}",
                     f"{SETUP_FIX}, or set PINEOPT_SANDBOX_USER to an existing unprivileged user")]
    out = [Fact("sandbox user", entry.pw_uid >= 1000,
                f"{name} (uid {entry.pw_uid})" + ("" if entry.pw_uid >= 1000 else
                                                  ": a system user firejail refuses"),
                f"remove it (userdel {name}) and {SETUP_FIX}")]
    home = Path(entry.pw_dir)
    try:
        info = home.stat()
    except OSError:
        return [*out, Fact("sandbox home", False, f"{home} does not exist (firejail --private "
                           "needs it)", SETUP_FIX)]
    owned = info.st_uid == entry.pw_uid
    private = stat.S_IMODE(info.st_mode) == 0o700
    inside_other = any(home != p and p in home.parents for p in (Path("/root"), Path("/home")))
    detail = f"{home} owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}"
    out.append(Fact("sandbox home", owned and private and not inside_other, detail
                    + ("" if owned else f": not owned by {name}")
                    + ("" if private else ": should be 700")
                    + ("" if not inside_other else ": inside another user's home"), SETUP_FIX))
    users = Path("/etc/firejail/firejail.users")
    if users.exists():
        listed = name in users.read_text(errors="replace").split()
        out.append(Fact("firejail.users", listed, f"{name} {'listed' if listed else 'missing'} "
                        f"in {users}", SETUP_FIX))
    return out


def _interpreter(settings: Settings) -> list[Fact]:
    from sandbox.command import sandbox_python

    python = Path(sandbox_python(settings))
    if not python.exists():
        return [Fact("sandbox interpreter", False, f"{python} does not exist", SETUP_FIX)]
    real = python.resolve()
    under_home = any(p in real.parents for p in (Path("/root"), Path("/home")))
    out = [Fact("sandbox interpreter", not under_home,
                f"{python}" + (f" -> {real}: under a home directory, which the sandbox hides"
                               if under_home else ""), SETUP_FIX)]
    probe = subprocess.run(  # noqa: S603 - fixed argv
        [str(python), "-I", "-c", f"import {', '.join(LIBRARIES)}"], capture_output=True,
        text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})
    detail = ("imports " + ", ".join(LIBRARIES) if probe.returncode == 0 else
              (probe.stderr.strip().splitlines() or ["does not run"])[-1][:200])
    out.append(Fact("sandbox libraries", probe.returncode == 0, detail, SETUP_FIX))
    return out


def _jobs_root(settings: Settings) -> Fact:
    root = settings.jobs_root
    try:
        info = root.stat()
    except OSError:
        return Fact("jobs root", False, f"{root} does not exist", SETUP_FIX)
    mode = stat.S_IMODE(info.st_mode)
    listable = bool(mode & 0o004)  # other users (the sandbox user) could list job folders
    writable = os.access(root, os.W_OK)
    detail = f"{root} mode {mode:o}" + (": other users can list it" if listable else "") + (
        "" if writable else ": this process cannot create job folders in it")
    return Fact("jobs root", not listable and writable, detail,
                f"{SETUP_FIX}, or set PINEOPT_JOBS_ROOT to a folder this user owns")


def _container() -> Fact:
    """firejail in a PID namespace (Docker) needs container=docker, or it runs unsandboxed.

    Like firejail, a PID namespace shows itself by hiding the kernel's threads (no kthreadd).
    """
    marker = os.environ.get("container", "")
    try:
        kernel_visible = Path("/proc/2/comm").read_text().strip() == "kthreadd"
    except OSError:
        kernel_visible = False
    if not kernel_visible and not marker:
        return Fact("container marker", False, "a PID namespace (a container) without the "
                    "container variable: firejail would run strategies unsandboxed",
                    "set container=docker in the environment (the Dockerfile does)")
    return Fact("container marker", True,
                f"container={marker}" if marker else "host PID namespace")


def limits_mode(settings: Settings) -> tuple[str, str]:
    """How this host keeps limits per run: ("cgroups", ...), ("user pool", ...) or ("none",
    ...), with one plain sentence saying so."""
    from sandbox import cgroups, userpool

    support = cgroups.for_settings(settings)
    if support.has("pids"):
        return "cgroups", (f"cgroup v{support.version}: each run has its own control group "
                           f"({', '.join(sorted(support.bases))})")
    members = userpool.members(settings)
    why = f" ({support.reason})" if support.reason else ""
    if userpool.applies(settings, per_run_pids=False):
        return "user pool", (f"no per-run control groups{why}: each run leases a sandbox user "
                             f"of its own ({len(members)} of {settings.user_pool} pool users "
                             f"set up, {settings.sandbox_user}-1 ...)")
    missing = ("no pool users are set up (PINEOPT_SANDBOX_POOL="
               f"{settings.user_pool})" if not members else "the app does not run as root")
    return "none", f"no per-run control groups{why}, and {missing}: limits are per user"


def run_limits(settings: Settings) -> list[Fact]:
    """Which per-run limits this host enforces (sandbox.cgroups, sandbox.userpool), each said
    plainly; the first fact names the mechanism (cgroups / user pool / none)."""
    from sandbox import cgroups

    support = cgroups.for_settings(settings)
    mode, said = limits_mode(settings)
    how = f"cgroup v{support.version}" if support.version else "no control groups"
    why = f" ({support.reason})" if support.reason else ""
    fix = ("run the app as root on a host with writable cgroup v2 (memory, pids and cpu "
           "delegated) or v1 controllers")
    pool_fix = (f"{fix}; or, without them, keep PINEOPT_SANDBOX_POOL >= 1 (and at least "
                f"PINEOPT_MAX_CONCURRENT + PINEOPT_POOL_SIZE) and {SETUP_FIX}")
    return [
        Fact("per-run limits", mode != "none", f"{mode}: {said}", pool_fix, optional=True),
        Fact("per-run memory", support.has("memory"),
             f"{settings.memory_mb} MB for all of a run's processes together ({how})"
             if support.has("memory") else f"per process only: {settings.memory_mb} MB address "
             f"space each, so a forking run can hold more{why}", fix, optional=True),
        _processes_fact(settings, mode, how, why, pool_fix),
        Fact("CPU weight", support.has("cpu"),
             f"each of {settings.max_concurrent} concurrent runs weighs as one task at nice "
             f"{settings.sandbox_nice} against the app's ({how}; PINEOPT_SANDBOX_NICE)"
             if support.has("cpu") else
             f"nice {settings.sandbox_nice} only{why}", fix, optional=True),
        Fact("out/ quota", True, f"{settings.out_mb} MB per run, kept by the parent's watchdog "
             "(checked every 0.1 s and at the end; PINEOPT_OUT_MB)", optional=True),
    ]


def _processes_fact(settings: Settings, mode: str, how: str, why: str, fix: str) -> Fact:
    from sandbox import userpool

    if mode == "cgroups":
        detail = f"{settings.nproc} per run ({how})"
    elif mode == "user pool":
        count = len(userpool.members(settings))
        wait = (f"; more than {count} runs at once (PINEOPT_MAX_CONCURRENT plus "
                "PINEOPT_POOL_SIZE warm sandboxes) wait for a free user"
                if count < settings.max_concurrent + settings.pool_size else "")
        detail = (f"{settings.nproc} per run: each run is a sandbox user of its own, which also "
                  f"owns the run's out/ folder ({count} pool users{wait})")
    else:
        detail = (f"{settings.nproc} per sandbox user, shared by all runs: one run forking to "
                  f"the limit stops the others from starting{why}")
    return Fact("per-run processes", mode != "none", detail, fix, optional=True)


def summary(settings: Settings) -> str:
    """One line for the UI: how (cgroups / user pool / none) and which per-run limits the host
    enforces."""
    facts = run_limits(settings)
    marks = [f"{f.name} {'✓' if f.ok else '✗ (' + f.detail.split(':')[0] + ')'}"
             for f in facts[1:]]
    return f"Per-run limits by {limits_mode(settings)[0]}: " + "; ".join(marks)


def report(items: list[Fact]) -> str:
    """The facts as lines: ✓/✗ name: detail (– for a protection the host lacks), and the fix
    under each failure."""
    lines = []
    for fact in items:
        mark = "✓" if fact.ok else ("–" if fact.optional else "✗")
        lines.append(f"{mark} {fact.name}: {fact.detail}")
        if not fact.ok and fact.fix:
            lines.append(f"    fix: {fact.fix}")
    return "\n".join(lines)
