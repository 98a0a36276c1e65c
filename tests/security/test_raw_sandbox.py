"""The OS sandbox is the wall: raw Python (no validation, no RestrictedPython, no import guard)
run under the identical firejail command line still cannot reach the network, read secrets,
write outside its out/ folder, start programs, gain privileges or fork without bound; and
results it forges are rejected by the parent.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.settings import REPO_ROOT
from sandbox.command import ensure_runtime, interpreter_dir
from sandbox.runner import Worker
from tests.conftest import make_settings
from tests.security.harness import Verdict, run_raw

pytestmark = pytest.mark.sandbox
HOST_SECRET = "PINEOPT_TEST_HOST_SECRET"

RAW_ATTACKS = {
    "tcp_to_canary_server": "import socket\n"
                            "result = socket.create_connection(('127.0.0.1', PORT), timeout=3)",
    "udp_to_public_dns": "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                         "result = s.sendto(b'x', ('8.8.8.8', 53))",
    "unix_socket": "import socket\nresult = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
    "cloud_metadata_http": "import urllib.request\n"
                           "result = urllib.request.urlopen('http://169.254.169.254/', "
                           "timeout=3).read()",
    "read_canary_file": "result = open(CANARY).read()",
    "read_the_store": "result = open(STORE, 'rb').read(16)",
    "read_app_code": "result = open(APP_FILE).read(40)",
    "read_etc_shadow": "result = open('/etc/shadow').read(20)",
    "list_root_home": "result = os.listdir('/root')",
    "list_other_jobs": "others = [n for n in os.listdir(JOBS_ROOT) if n not in "
                       "(os.path.basename(job_dir), os.path.basename(RUNTIME))]\n"
                       "assert others, 'sees only its own job and the runtime'\nresult = others",
    "read_etc_passwd": "result = open('/etc/passwd').read(40)",
    "read_proc_1_cmdline": "result = open('/proc/1/cmdline', 'rb').read(200)",
    "read_proc_1_task_cmdline": "result = open('/proc/1/task/1/cmdline', 'rb').read(200)",
    "read_foreign_store_srv": "result = open(FOREIGN_SRV, 'rb').read(16)",
    "read_foreign_store_home": "result = open(FOREIGN_HOME, 'rb').read(16)",
    "list_srv": "names = os.listdir('/srv')\nassert names, 'empty'\nresult = names",
    "list_home": "names = os.listdir('/home')\nassert names, 'empty'\nresult = names",
    "read_repo_readme": "result = open(REPO + '/README.md').read(40)",
    "list_repo_parent": "names = os.listdir(REPO_PARENT)\nassert names, 'empty'\nresult = names",
    "list_opt_beyond_interpreter": "names = [n for n in os.listdir('/opt') if n != OPT_TOP]\n"
                                   "assert names, 'only the interpreter'\nresult = names",
    "write_root": "result = open('/pwned', 'w').write('x')",
    "write_tmp": "result = open('/tmp/pwned', 'w').write('x')",
    "write_var_tmp": "result = open('/var/tmp/pwned', 'w').write('x')",
    "write_dev_shm": "result = open('/dev/shm/pwned', 'w').write('x')",
    "write_home": "result = open(os.path.expanduser('~/pwned'), 'w').write('x')",
    "write_own_job_folder": "result = open(job_dir + '/pwned', 'w').write('x')",
    "write_runtime_code": "result = open(RUNTIME + '/sandbox/child.py', 'a').write('#')",
    "write_other_jobs_out": "result = open(VICTIM + '/out/equity.parquet', 'w').write('x')",
    "subprocess_run": "import subprocess\nresult = subprocess.run(['/bin/true']).returncode",
    "os_system": "rc = os.system('true')\nassert rc == 0, rc\nresult = rc",
    "ctypes_libc_system": "import ctypes\nrc = ctypes.CDLL(None).system(b'true')\n"
                          "assert rc == 0, rc\nresult = rc",
    "leaked_environment": "leaked = [k for k in os.environ if 'SECRET' in k or 'PINEOPT' in k]\n"
                          "assert leaked, 'nothing leaked'\nresult = leaked",
    "become_root": "os.setuid(0)\nresult = os.getuid()",
    "signal_host_process": "os.kill(HOST_PID, 0)\nresult = 'host pid visible'",
    "write_execute_memory": "import mmap\nresult = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | "
                            "mmap.PROT_WRITE | mmap.PROT_EXEC)",
    "fork_bomb": "import time\nforked = 0\nfor _ in range(300):\n    if os.fork() == 0:\n"
                 "        time.sleep(20)\n        os._exit(0)\n    forked += 1\nresult = forked",
}


@pytest.fixture(scope="session")
def raw_verdicts(sec_settings, canaries, foreign_stores) -> dict[str, Verdict]:
    """Every raw attack, run in parallel; a second worker is the victim whose out/ is attacked."""
    os.environ[HOST_SECRET] = "hunter2"
    victim = Worker(sec_settings).start()
    runtime = ensure_runtime(sec_settings)
    values = {"PORT": str(canaries.port), "CANARY": repr(str(canaries.path)),
              "STORE": repr(str(sec_settings.db_path)),
              "APP_FILE": repr(str(REPO_ROOT / "core" / "settings.py")),
              "JOBS_ROOT": repr(str(sec_settings.jobs_root)), "RUNTIME": repr(str(runtime)),
              "VICTIM": repr(str(victim.job_dir)), "HOST_PID": str(os.getpid()),
              "FOREIGN_SRV": repr(str(foreign_stores["/srv"])),
              "FOREIGN_HOME": repr(str(foreign_stores["/home"])),
              "REPO_PARENT": repr(str(REPO_ROOT.parent)), "REPO": repr(str(REPO_ROOT)),
              "OPT_TOP": repr(interpreter_dir(sec_settings).parts[2])}
    fork_settings = make_settings(sec_settings.home, pineopt_nproc="40")

    def attack(body: str, settings=sec_settings) -> Verdict:
        for key, value in values.items():
            body = body.replace(key, value)
        return run_raw(settings, body)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {name: pool.submit(attack, body, fork_settings if name == "fork_bomb"
                                         else sec_settings)
                       for name, body in RAW_ATTACKS.items()}
            return {name: future.result() for name, future in futures.items()}
    finally:
        victim.cleanup()
        del os.environ[HOST_SECRET]


def _report(verdict: Verdict) -> dict:
    reports = [m for m in verdict.messages if m.get("type") == "raw"]
    assert len(reports) == 1, (verdict.status, verdict.message, verdict.log[-500:])
    return reports[0]


@pytest.mark.parametrize("name", sorted(set(RAW_ATTACKS) - {"fork_bomb"}))
def test_raw_attack_is_blocked(name: str, raw_verdicts) -> None:
    report = _report(raw_verdicts[name])
    assert report["escaped"] is False, report["detail"]
    assert report["detail"].split(":")[0] in (
        "PermissionError", "OSError", "FileNotFoundError", "AssertionError", "URLError",
        "ProcessLookupError", "TimeoutError", "NotADirectoryError"), report["detail"]


def test_raw_fork_bomb_is_capped_by_the_process_limit(raw_verdicts) -> None:
    report = _report(raw_verdicts["fork_bomb"])
    assert report["escaped"] is False  # fork() failed before 300 children existed
    assert "Resource temporarily unavailable" in report["detail"] or "BlockingIOError" in \
        report["detail"], report["detail"]


def test_exec_is_refused_with_eperm(sec_settings) -> None:
    verdict = run_raw(sec_settings, "os.execv('/bin/true', ['true'])")
    assert _report(verdict)["detail"].startswith("PermissionError: [Errno 1]")
