"""The executor seam without a cluster: settings, the bytes transfer's defensive checks on both
ends, the code-version refusal, and where the pages say jobs run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core import executors
from core.errors import ConfigError, SandboxError
from core.executors import task, transfer, version
from core.settings import load_settings

LIMITS = {"result_bytes": 1_000_000, "log_bytes": 10_000}
RESULT = {"type": "result", "bars": 3, "trades": 0, "claimed": {}}


def test_the_executor_comes_from_the_environment() -> None:
    assert load_settings({}).executor == "local"
    remote = load_settings({"PINEOPT_DASK_SCHEDULER": "tcp://10.0.0.5:8786"})
    assert (remote.executor, remote.dask_scheduler) == ("dask", "tcp://10.0.0.5:8786")
    inproc = load_settings({"PINEOPT_EXECUTOR": "dask"})
    assert (inproc.executor, inproc.dask_scheduler, inproc.dask_workers) == ("dask", "", 2)
    assert load_settings({"PINEOPT_EXECUTOR": "local",
                          "PINEOPT_DASK_SCHEDULER": "tcp://h:8786"}).executor == "local"
    with pytest.raises(ConfigError, match="PINEOPT_EXECUTOR='ray' is not known"):
        load_settings({"PINEOPT_EXECUTOR": "ray"})


def test_local_placement_is_described_without_a_cluster() -> None:
    where = executors.placement(load_settings({}))
    assert where.kind == "local" and where.text.startswith("Jobs run locally")


def test_pack_out_returns_regular_files_one_level_deep(tmp_path: Path) -> None:
    (tmp_path / "t0").mkdir()
    (tmp_path / "t0" / "equity.parquet").write_bytes(b"E")
    (tmp_path / "trades.parquet").write_bytes(b"T")
    assert transfer.pack_out(tmp_path, max_total_bytes=10) == {
        "t0/equity.parquet": b"E", "trades.parquet": b"T"}


@pytest.mark.parametrize("plant", ["symlink", "fifo", "deep", "name", "total"])
def test_pack_out_refuses_what_a_hostile_sandbox_can_leave(tmp_path: Path, plant: str) -> None:
    if plant == "symlink":
        (tmp_path / "equity.parquet").symlink_to("/etc/hostname")
    elif plant == "fifo":
        os.mkfifo(tmp_path / "equity.parquet")
    elif plant == "deep":
        (tmp_path / "t0" / "x").mkdir(parents=True)
    elif plant == "name":
        (tmp_path / "-rf").write_bytes(b"x")
    else:
        (tmp_path / "equity.parquet").write_bytes(b"x" * 11)
    with pytest.raises(SandboxError, match="Result rejected") as caught:
        transfer.pack_out(tmp_path, max_total_bytes=10)
    assert caught.value.status == "result_rejected"


@pytest.mark.parametrize("name", ["../escape", "/etc/x", "t0/../../x", "a/b/c", "", ".hidden"])
def test_unpack_out_refuses_paths_outside_out(tmp_path: Path, name: str) -> None:
    with pytest.raises(SandboxError, match="Result rejected"):
        transfer.unpack_out(tmp_path, {name: b"x"}, max_total_bytes=100)
    assert list(tmp_path.iterdir()) == []


def test_unpack_out_writes_the_files_for_the_usual_checks(tmp_path: Path) -> None:
    transfer.unpack_out(tmp_path, {"t1/equity.parquet": b"E", "trades.parquet": b"T"},
                        max_total_bytes=100)
    assert (tmp_path / "t1" / "equity.parquet").read_bytes() == b"E"
    assert (tmp_path / "trades.parquet").read_bytes() == b"T"


def _reply(**changes: object) -> dict:
    return {"status": "completed", "message": "", "log": "hi", "worker": "w1",
            "code_version": "v", "result": json.dumps(RESULT).encode(), "files": {}, **changes}


def test_a_good_reply_is_parsed_with_the_channel_rules() -> None:
    checked = transfer.check_reply(_reply(), **LIMITS)
    assert checked["result"] == RESULT and checked["log"] == "hi"


@pytest.mark.parametrize(("changes", "fault"), [
    ({"extra": 1}, "known keys"),
    ({"status": "owned"}, "unknown status"),
    ({"log": b"bytes"}, "a bytes 'log'"),
    ({"result": b'{"type": "result", "bars": NaN, "trades": 0, "claimed": {}}'}, "non-finite"),
    ({"result": b'{"type": "progress", "done": 1, "total": 2}'}, "not a result message"),
    ({"result": b'{"type": "result", "bars": 1, "trades": 0, "claimed": {}, "x": 1}'},
     "unknown keys"),
])
def test_a_malformed_reply_is_rejected(changes: dict, fault: str) -> None:
    with pytest.raises(SandboxError, match=fault) as caught:
        transfer.check_reply(_reply(**changes), **LIMITS)
    assert caught.value.status == "result_rejected"


def test_a_worker_refuses_a_task_of_other_code_naming_both_versions() -> None:
    reply = task.run_job({"code_version": "0.0.9+deadbeef0000", "job": b"{}", "files": {}})
    assert reply["status"] == "version_mismatch"
    assert "0.0.9+deadbeef0000" in reply["message"]
    assert version.code_version() in reply["message"]
    assert set(reply) <= set(transfer.REPLY_KEYS)


def test_an_unreachable_scheduler_fails_the_study_saying_how_to_fix_it(
        home: Path, sma_source: str) -> None:
    import socket

    from core.strategies import crud as strategies
    from core.errors import SandboxUnavailableError
    from core.model import BacktestConfig, StrategyMeta
    from core.studies import study_store, sweep
    from tests.conftest import make_settings

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    on_dask = make_settings(home, PINEOPT_DASK_SCHEDULER=address)
    sid, _ = strategies.save(on_dask.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    study_id = sweep.create(on_dask, strategy_id=sid, specs={"fast": "5:10:5"},
                            config=BacktestConfig(symbol="BTCUSDT", timeframe="1h",
                                                  start="2024-01-01", end="2024-01-10"))
    with pytest.raises(SandboxUnavailableError, match=f"{address} .* cannot be reached"):
        sweep.run(on_dask, study_id)
    assert study_store.get_study(on_dask.db_path, study_id).status == "failed"
