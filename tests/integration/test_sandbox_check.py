"""The sandbox self-test: passes on this host, fails closed when the sandbox is broken."""

from __future__ import annotations

from pathlib import Path

from core.runs import service as runs
from sandbox import selftest as sandbox_check
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from tests.conftest import make_settings


def test_self_test_passes_with_the_real_command_line(settings) -> None:
    status = sandbox_check.self_test(settings)
    assert status.ok, status.message
    assert status.mode == "firejail" and not status.unsafe
    assert sandbox_check.self_test(settings) is status  # cached per process
    assert not list(settings.home.glob(".sandbox-marker-*"))  # the marker is removed


def test_broken_interpreter_fails_closed_with_a_fix(home: Path, sma_source: str) -> None:
    broken = make_settings(home, pineopt_sandbox_python="/nonexistent/python3")
    status = sandbox_check.self_test(broken)
    assert not status.ok
    assert "did not start" in status.message and "make setup" in status.message
    sid, _ = strategies.save_by_name(broken.db_path, meta=StrategyMeta(name="sma"),
                                     source=sma_source, language=Language.PYTHON)
    run = runs.run_sync(broken, strategy_id=sid,
                        config=BacktestConfig(start="2024-01-01", end="2024-01-05"))
    assert run.status is RunStatus.SANDBOX_UNAVAILABLE
    assert "self-test failed" in run.error and "make setup" in run.error


def test_missing_sandbox_user_fails_closed(home: Path) -> None:
    status = sandbox_check.self_test(make_settings(home, pineopt_sandbox_user="no-such-user-x"))
    assert not status.ok and "no-such-user-x" in status.message


def test_development_mode_is_reported_unsafe(home: Path) -> None:
    status = sandbox_check.self_test(make_settings(home, pineopt_sandbox="none"))
    assert status.ok and status.unsafe and "UNSAFE" in status.message


def test_judge_flags_nested_sandbox_warning_and_unblocked_exec() -> None:
    probe = {"type": "probe", "checks": {"seccomp": [False, "Seccomp: 0"]}}
    failures = sandbox_check._judge([probe], "Warning: an existing sandbox was detected.", "")
    assert any("existing sandbox" in f for f in failures)
    assert any("seccomp" in f for f in failures)
    assert any("not blocked" in f for f in failures)


def test_cli_exits_1_with_the_reason_when_the_sandbox_is_broken(home, monkeypatch, capsys,
                                                                sma_source) -> None:
    import cli

    monkeypatch.setenv("PINEOPT_SANDBOX_PYTHON", "/nonexistent/python3")
    strategy_file = home / "sma.py"
    strategy_file.write_text(sma_source)
    code = cli.main(["backtest", str(strategy_file), "--symbol", "BTCUSDT", "--timeframe", "1h",
                     "--start", "2024-01-01", "--end", "2024-01-03"])
    err = capsys.readouterr().err
    assert code == 1
    assert "sandbox_unavailable" in err and "self-test failed" in err and "make setup" in err


def test_job_folder_is_private_and_only_out_is_the_sandbox_users(settings) -> None:
    import os
    import pwd
    import stat

    from sandbox.runner import Worker

    worker = Worker(settings).start()
    try:
        mode = worker.job_dir.stat()
        out = (worker.job_dir / "out").stat()
        assert stat.S_IMODE(mode.st_mode) == 0o711 and mode.st_uid == 0
        assert stat.S_IMODE(out.st_mode) == 0o700
        assert out.st_uid == pwd.getpwnam(settings.sandbox_user).pw_uid
        assert len(worker.job_dir.name) == 32  # 128 random bits
        assert stat.S_IMODE(os.stat(settings.jobs_root).st_mode) & 0o077 == 0o011
    finally:
        worker.cleanup()
    assert not worker.job_dir.exists()


def test_limits_can_only_be_lowered_per_run(settings) -> None:
    import pytest

    from sandbox.runner import Limits

    base = Limits.from_settings(settings)
    lower = Limits.from_settings(settings, cpu_s=5, memory_mb=10_000, timeout_s=3)
    assert (lower.cpu_s, lower.memory_mb, lower.timeout_s) == (5, base.memory_mb, 3.0)
    assert lower.for_child()["wall_s"] == 8
    with pytest.raises(ValueError, match="unknown limit 'cpu'"):
        Limits.from_settings(settings, cpu=1)
