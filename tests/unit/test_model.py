"""Config ids and run hashes: identical inputs always give identical ids."""

from __future__ import annotations

from core.model import BacktestConfig, RunStatus, canonical_json, run_hash


def test_config_id_is_stable_and_order_independent() -> None:
    a = BacktestConfig(symbol="BTCUSDT", params={"fast": 10, "slow": 50})
    b = BacktestConfig(symbol="BTCUSDT", params={"slow": 50, "fast": 10})
    assert a.config_id == b.config_id
    assert len(a.config_id) == 64
    assert BacktestConfig(symbol="ETHUSDT").config_id != a.config_id


def test_run_hash_changes_with_each_input() -> None:
    cfg = BacktestConfig()
    base = run_hash(strategy_sha="s1", data_sha="d1", config=cfg)
    assert base == run_hash(strategy_sha="s1", data_sha="d1", config=BacktestConfig())
    assert base != run_hash(strategy_sha="s2", data_sha="d1", config=cfg)
    assert base != run_hash(strategy_sha="s1", data_sha="d2", config=cfg)
    assert base != run_hash(strategy_sha="s1", data_sha="d1", config=BacktestConfig(cash_usdt=5.0))


def test_from_dict_ignores_unknown_keys_and_round_trips() -> None:
    cfg = BacktestConfig(symbol="ETHUSDT", timeframe="4h", params={"n": 3})
    data = {**cfg.to_dict(), "some_future_field": 1}
    assert BacktestConfig.from_dict(data) == cfg
    assert canonical_json(cfg.to_dict()) == canonical_json(BacktestConfig.from_dict(data).to_dict())


def test_run_status_finished() -> None:
    assert not RunStatus.QUEUED.finished
    assert not RunStatus.RUNNING.finished
    assert RunStatus.COMPLETED.finished and RunStatus.CANCELLED.finished
