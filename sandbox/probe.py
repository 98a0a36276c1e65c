"""The sandbox self-test probe: runs inside the sandbox (instead of a strategy) and reports facts.

Each check is a name -> (passed, detail) pair sent on the result channel as one "probe" message;
the parent (sandbox.selftest) decides. The exec check comes last in its own message, because
if exec is not blocked this process is replaced and that message never arrives.
Imports only the standard library.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

ZERO_CAPS = 0


def _status_fields() -> dict[str, str]:
    text = Path("/proc/self/status").read_text()
    return {k: v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())}


def _socket_blocked(family: int) -> tuple[bool, str]:
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        return True, f"refused ({exc.errno})"
    sock.close()
    return False, "a socket was created"


def _write_blocked(folder: str) -> tuple[bool, str]:
    target = Path(os.path.expanduser(folder)) / ".pineopt-probe"
    try:
        with target.open("w") as handle:
            handle.write("x")
    except OSError as exc:
        return True, f"refused ({exc.errno})"
    return False, f"wrote {target}"


def _unreadable(path: str) -> tuple[bool, str]:
    """True when nothing can be read at ``path`` (firejail's blacklist leaves an empty,
    inaccessible stand-in, so existence alone proves nothing)."""
    target = Path(path)
    try:
        content = os.listdir(target) if target.is_dir() else target.read_bytes()
    except OSError:
        return True, "unreadable"
    return (not content), ("empty" if not content else f"{path} is readable")


def _only_own_job(jobs_root: str, job_dir: Path) -> tuple[bool, str]:
    """The jobs root shows no other run's folder (unlistable, or only this job and the runtime)."""
    try:
        names = os.listdir(jobs_root)
    except OSError:
        return True, "not listable"
    others = [n for n in names if n != job_dir.name and not n.startswith("runtime-")]
    return (not others), (f"sees {len(others)} other entries" if others else "only its own job")


def _own_pid_namespace() -> tuple[bool, str]:
    """A pid namespace of its own: a small pid, and no process visible but pid 1 and itself."""
    pid = os.getpid()
    visible = {int(n) for n in os.listdir("/proc") if n.isdigit()}
    others = visible - {1, pid}
    return (pid < 1000 and not others), f"pid {pid}, {len(others)} other processes visible"


def _in_run_groups(controllers: list[str], job_dir: Path) -> tuple[bool, str]:
    """Every expected controller places this process in its run's own group (named by job)."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    paths = {name: path for _, names, path in (ln.split(":", 2) for ln in lines)
             for name in (names.split(",") if names else [""])}
    wrong = [c for c in controllers if not paths.get(c, "").endswith("/" + job_dir.name)]
    return (not wrong), ("in its run's groups" if not wrong else f"not in its run's {wrong}")


def checks(spec: dict[str, Any], job_dir: Path) -> dict[str, tuple[bool, str]]:
    """Every check except exec. ``spec``: hidden paths, jobs root, canary value, firejail flag."""
    fields = _status_fields()
    out: dict[str, tuple[bool, str]] = {
        "env_scrubbed": (not any(spec["canary"] in v for v in os.environ.values()),
                         "canary variable absent"),
        "write_root": _write_blocked("/"),
        "write_tmp": _write_blocked("/tmp"),  # noqa: S108 - probing that /tmp is read-only
        "write_home": _write_blocked("~"),
        "jobs_root_private": _only_own_job(spec["jobs_root"], job_dir),
    }
    if spec.get("cgroups") is not None:
        out["run_cgroups"] = _in_run_groups(spec["cgroups"], job_dir)
    for i, path in enumerate(spec["hidden"]):
        out[f"hidden_{i}"] = _unreadable(path)
    if spec.get("firejail"):
        out.update({
            "seccomp": (fields.get("Seccomp") == "2", f"Seccomp: {fields.get('Seccomp')}"),
            "no_new_privs": (fields.get("NoNewPrivs") == "1",
                             f"NoNewPrivs: {fields.get('NoNewPrivs')}"),
            "no_capabilities": (int(fields.get("CapEff", "1") or "1", 16) == ZERO_CAPS,
                                f"CapEff: {fields.get('CapEff')}"),
            "pid_namespace": _own_pid_namespace(),
            "unprivileged": (os.getuid() != 0, f"uid {os.getuid()}"),
            "socket_inet": _socket_blocked(socket.AF_INET),
            "socket_unix": _socket_blocked(socket.AF_UNIX),
        })
    return out


def run(spec: dict[str, Any], job_dir: Path, channel: Any) -> None:
    """Send the checks, then try to exec (which must fail with EPERM) and report that."""
    found = checks(spec, job_dir)
    channel.send(type="probe", checks={k: [ok, detail] for k, (ok, detail) in found.items()})
    if not spec.get("firejail"):
        channel.send(type="probe_exec", blocked=True, detail="not checked without firejail")
        return
    try:
        os.execv("/bin/true", ["true"])  # noqa: S606 - the probe proves exec is blocked
    except PermissionError:
        channel.send(type="probe_exec", blocked=True, detail="EPERM")
    except OSError as exc:
        channel.send(type="probe_exec", blocked=False, detail=f"errno {exc.errno}, not EPERM")
