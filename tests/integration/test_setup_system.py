"""scripts/setup_system.sh from zero, twice, two at once, and repairing what was broken on purpose.

Every test uses fresh names (sandbox user, its home, the interpreter's venv, the jobs root) and
removes them afterwards, so nothing here depends on state left on the machine. Needs root.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import selftest as sandbox_check
from core.settings import load_settings
from sandbox import doctor

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup_system.sh"
POOL = 2  # per-run users <user>-1, <user>-2 (sandbox/userpool.py)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="the system setup needs root")]


def _names(tag: str) -> dict[str, str]:
    return {"PINEOPT_SANDBOX_USER": f"pjt-{tag}",
            "PINEOPT_SANDBOX_HOME": f"/var/lib/pineopt-test-{tag}/home",
            "PINEOPT_SANDBOX_VENV": f"/opt/pineopt-test-{tag}/venv",
            "PINEOPT_JOBS_ROOT": f"/var/lib/pineopt-test-{tag}/jobs",
            "PINEOPT_SANDBOX_POOL": str(POOL)}


def _fresh_names(home: Path) -> Iterator[dict[str, str]]:
    """Names nobody has used; everything they create is removed at the end."""
    tag = secrets.token_hex(3)
    env = {**_names(tag), "PINEOPT_HOME": str(home)}
    assert subprocess.run(["id", env["PINEOPT_SANDBOX_USER"]], capture_output=True,
                          check=False).returncode != 0
    yield env
    for name in [env["PINEOPT_SANDBOX_USER"], *_pool(env)]:
        subprocess.run(["userdel", name], capture_output=True, check=False)
    for folder in (f"/var/lib/pineopt-test-{tag}", f"/opt/pineopt-test-{tag}"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Fresh names, nothing created yet."""
    yield from _fresh_names(tmp_path / "home")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Fresh names set up once for the module; each test that breaks them repairs them."""
    for env in _fresh_names(tmp_path_factory.mktemp("setup") / "home"):
        done = _setup(env)
        assert done.returncode == 0, done.stderr
        yield env


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SETUP)], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=600, check=False)


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), "doctor"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
                          check=False)


def _pool(env: dict[str, str]) -> list[str]:
    return [f"{env['PINEOPT_SANDBOX_USER']}-{i}" for i in range(1, POOL + 1)]


def _user_state(name: str) -> tuple:
    entry = pwd.getpwnam(name)
    home = os.stat(entry.pw_dir)
    return tuple(entry), home.st_ino, home.st_uid, home.st_mode


def _state(env: dict[str, str]) -> tuple:
    """What a second run must not change: the passwd lines and homes of the sandbox user and the
    per-run users, the venv link, the jobs root."""
    jobs = os.stat(env["PINEOPT_JOBS_ROOT"])
    users = tuple(_user_state(n) for n in [env["PINEOPT_SANDBOX_USER"], *_pool(env)])
    return (users, jobs.st_mode, jobs.st_uid,
            os.readlink(env["PINEOPT_SANDBOX_VENV"]),
            os.stat(env["PINEOPT_SANDBOX_VENV"] + "/bin/python").st_ino)


def test_from_zero_then_again_changes_nothing(fresh: dict[str, str]) -> None:
    first = _setup(fresh)
    assert first.returncode == 0, first.stderr
    assert f"creating the sandbox user {fresh['PINEOPT_SANDBOX_USER']}" in first.stdout
    entry = pwd.getpwnam(fresh["PINEOPT_SANDBOX_USER"])
    assert entry.pw_uid >= 1000 and entry.pw_dir == fresh["PINEOPT_SANDBOX_HOME"]
    info = os.stat(entry.pw_dir)
    assert info.st_uid == entry.pw_uid and stat.S_IMODE(info.st_mode) == 0o700
    assert stat.S_IMODE(os.stat(fresh["PINEOPT_JOBS_ROOT"]).st_mode) == 0o711
    pool = [pwd.getpwnam(name) for name in _pool(fresh)]  # each with a home of its own
    assert [p.pw_dir for p in pool] == [f"{fresh['PINEOPT_SANDBOX_HOME']}-{i}"
                                        for i in range(1, POOL + 1)]
    assert len({entry.pw_uid, *(p.pw_uid for p in pool)}) == POOL + 1
    for p in pool:
        info = os.stat(p.pw_dir)
        assert p.pw_uid >= 1000 and info.st_uid == p.pw_uid
        assert stat.S_IMODE(info.st_mode) == 0o700
    before = _state(fresh)
    second = _setup(fresh)
    assert second.returncode == 0 and second.stdout == "", second.stdout + second.stderr
    assert _state(fresh) == before
    checked = _doctor(fresh)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "✗" not in checked.stdout and "✓ sandbox self-test" in checked.stdout


def test_two_setups_at_once_leave_one_working_sandbox(fresh: dict[str, str]) -> None:
    procs = [subprocess.Popen([str(SETUP)], env={**os.environ, **fresh}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    built = sum(out.count("building the sandbox interpreter") for out, _ in outputs)
    assert built == 1, outputs  # the second waited on the lock and found the build ready
    status = sandbox_check.self_test(load_settings(fresh), refresh=True)
    assert status.ok, status.message


@pytest.mark.parametrize(("break_it", "fact", "said", "wall_down"), [
    ("rm -rf {home}", "sandbox home", "does not exist", True),
    ("chown root:root {home}", "sandbox home", "not owned by", True),
    ("usermod --home /nonexistent {user}", "sandbox home", "/nonexistent does not exist", True),
    ("rm -rf $(readlink -f {venv})", "sandbox interpreter", "does not exist", True),
    # the sandbox sees only its own job folder, so the wall holds; doctor still names the fault
    ("chmod 755 {jobs}", "jobs root", "other users can list it", False),
])
def test_a_broken_setup_is_named_by_doctor_and_repaired(installed: dict[str, str],
                                                        break_it: str, fact: str,
                                                        said: str, wall_down: bool) -> None:
    fresh = installed  # whole: set up by the fixture, repaired by every test before this one
    subprocess.run(break_it.format(home=fresh["PINEOPT_SANDBOX_HOME"],
                                   user=fresh["PINEOPT_SANDBOX_USER"],
                                   venv=fresh["PINEOPT_SANDBOX_VENV"],
                                   jobs=fresh["PINEOPT_JOBS_ROOT"]), shell=True, check=True)
    broken = _doctor(fresh)
    assert broken.returncode == 1
    lines = broken.stdout.splitlines()
    named = [i for i, ln in enumerate(lines) if ln.startswith(f"✗ {fact}:")]
    assert named and said in lines[named[0]], broken.stdout
    assert "fix: run `sudo make setup`" in lines[named[0] + 1]
    assert ("✗ sandbox self-test" in broken.stdout) is wall_down  # down only when it is
    repaired = _setup(fresh)
    assert repaired.returncode == 0, repaired.stderr
    again = _doctor(fresh)
    assert again.returncode == 0, again.stdout


@pytest.mark.parametrize(("break_it", "said"), [
    ("rm -rf {home}-2", "-2's home"),
    ("chown root:root {home}-1", "not an unprivileged user's own"),
])
def test_a_broken_per_run_user_is_named_by_doctor_and_repaired(installed: dict[str, str],
                                                               break_it: str, said: str) -> None:
    env = {**installed, "PINEOPT_CGROUPS": "off"}  # the per-run users are the mechanism then
    subprocess.run(break_it.format(home=env["PINEOPT_SANDBOX_HOME"]), shell=True, check=True)
    broken = _doctor(env)
    assert broken.returncode == 1
    lines = broken.stdout.splitlines()
    named = [i for i, ln in enumerate(lines) if ln.startswith("✗ per-run users:")]
    assert named and said in lines[named[0]], broken.stdout
    assert "fix: run `sudo make setup`" in lines[named[0] + 1]
    repaired = _setup(env)
    assert repaired.returncode == 0, repaired.stderr
    again = _doctor(env)
    assert again.returncode == 0, again.stdout
    assert "✓ per-run limits: user pool" in again.stdout


@pytest.mark.parametrize("log", [
    "Error while opening directory: fs.c:484 fs_tmpfs: No such file or directory\n"
    "Error: proc 8189 cannot sync with peer: unexpected EOF\n"
    "Peer 8190 unexpectedly exited with status 1\n",
    "Error: cannot mount tmpfs on /var/lib/x: not owned by the current user\n"
    "Peer 8201 unexpectedly exited with status 1\n",
])
def test_firejail_errors_are_quoted_with_their_cause(log: str) -> None:
    text = doctor.explain(log)
    assert log.splitlines()[0] in text and "Cause: the sandbox user's home" in text
    assert "Fix: run `sudo make setup`" in text


def test_self_test_in_a_pid_namespace_needs_the_container_marker(settings) -> None:
    """Docker gives the app its own PID namespace; firejail then needs container=docker, or it
    runs strategies unsandboxed. The self-test must pass with it and fail closed without it."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is missing")
    env = {**os.environ, "PINEOPT_HOME": str(settings.home)}
    env.pop("container", None)
    argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, str(REPO / "cli.py"),
            "doctor"]
    marked = subprocess.run(argv, env={**env, "container": "docker"}, capture_output=True,
                            text=True, timeout=300, check=False)
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert "✓ sandbox self-test" in marked.stdout
    unmarked = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
    assert unmarked.returncode == 1
    assert "✗ container marker" in unmarked.stdout
    assert "✗ sandbox self-test" in unmarked.stdout and "WITHOUT a sandbox" in unmarked.stdout
