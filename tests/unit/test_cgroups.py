"""Per-run control groups (sandbox.cgroups) on a folder laid out like /sys/fs/cgroup: which
layout is detected, and what a run's group writes. The kernel side runs in
tests/security/test_run_limits.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import cgroups



def _own(controller: str) -> str:
    return cgroups._own_paths().get(controller, "/").lstrip("/")  # noqa: SLF001


def test_v2_with_delegated_controllers(tmp_path: Path) -> None:
    mine = tmp_path / _own("")
    mine.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids io\n")
    (mine / "cgroup.subtree_control").write_text("cpu memory pids\n")
    support = cgroups.detect("sbx", root=tmp_path)
    assert support.version == 2 and all(support.has(c) for c in cgroups.CONTROLLERS)
    group = cgroups.RunGroup(support, "run1").create(memory_bytes=500 * 2**20, pids=30, nice=4,
                                                          runs=5)
    base = mine / "pineopt-sbx"
    assert (base / "cpu.weight").read_text() == "205"  # five nice-4 tasks: 5 * 100 / 1.25**4
    assert set((base / "cgroup.subtree_control").read_text().replace("+", "").split()) == {
        "memory", "pids", "cpu"}
    assert (base / "run1" / "memory.max").read_text() == str(500 * 2**20)
    assert (base / "run1" / "pids.max").read_text() == "30"
    group.limit(memory_bytes=400 * 2**20, pids=20)  # lowered when the job arrives
    assert (base / "run1" / "memory.max").read_text() == str(400 * 2**20)
    group.weigh_cpu(idle=True)  # a pooled worker warming up
    assert (base / "run1" / "cpu.weight").read_text() == "1"
    group.weigh_cpu(idle=False)  # its job arrived
    assert (base / "run1" / "cpu.weight").read_text() == "100"


def test_v2_without_delegation_says_why(tmp_path: Path) -> None:
    (tmp_path / _own("")).mkdir(parents=True, exist_ok=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    support = cgroups.detect("sbx", root=tmp_path)
    assert support.version == 0 and not support.bases
    assert "without the memory/pids/cpu controllers" in support.reason


def test_v1_controllers(tmp_path: Path) -> None:
    for controller in cgroups.CONTROLLERS:
        (tmp_path / controller / _own(controller)).mkdir(parents=True, exist_ok=True)
    support = cgroups.detect("sbx", root=tmp_path)
    assert support.version == 1 and all(support.has(c) for c in cgroups.CONTROLLERS)
    cgroups.RunGroup(support, "run1").create(memory_bytes=2**20, pids=7, nice=10)
    memory = support.bases["memory"] / "run1"
    assert (memory / "memory.limit_in_bytes").read_text() == str(2**20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(2**20)
    assert (support.bases["cpu"] / "cpu.shares").read_text() == "110"  # the kernel's nice 10
    assert (support.bases["pids"] / "run1" / "pids.max").read_text() == "7"
    group = cgroups.RunGroup(support, "run1")
    group.weigh_cpu(idle=True)
    assert (support.bases["cpu"] / "run1" / "cpu.shares").read_text() == "2"
    group.weigh_cpu(idle=False)
    assert (support.bases["cpu"] / "run1" / "cpu.shares").read_text() == "1024"


def test_no_controllers(tmp_path: Path) -> None:
    support = cgroups.detect("sbx", root=tmp_path)
    assert support.version == 0 and "no writable cgroup controllers" in support.reason


def test_cgroups_off_forces_the_fallback_and_a_bad_value_is_named(tmp_path: Path) -> None:
    from core.errors import ConfigError
    from core.settings import load_settings

    off = load_settings({"PINEOPT_HOME": str(tmp_path), "PINEOPT_CGROUPS": "off"})
    support = cgroups.for_settings(off)
    assert support.version == 0 and not support.bases and "PINEOPT_CGROUPS=off" in support.reason
    assert load_settings({"PINEOPT_HOME": str(tmp_path)}).cgroups is True
    with pytest.raises(ConfigError, match="PINEOPT_CGROUPS='maybe'.*'auto'.*'off'"):
        load_settings({"PINEOPT_HOME": str(tmp_path), "PINEOPT_CGROUPS": "maybe"})
