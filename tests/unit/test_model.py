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


def test_a_config_is_immutable_all_the_way_down_and_hashable() -> None:
    import copy
    import dataclasses
    import json

    import pytest

    from core.model import BacktestConfig

    config = BacktestConfig(params={"fast": 10, "levels": [1, 2]},
                            extra={"limits": {"timeout_s": 30}})
    for mutate in (lambda: config.params.__setitem__("fast", 3),
                   lambda: config.params.update(fast=3), lambda: config.params.pop("fast"),
                   lambda: config.extra["limits"].__setitem__("timeout_s", 1),
                   lambda: config.extra.clear()):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.params = {}  # type: ignore[misc]
    twin = BacktestConfig(params={"levels": [1, 2], "fast": 10},
                          extra={"limits": {"timeout_s": 30}})
    assert hash(config) == hash(twin) and len({config, twin}) == 1
    assert copy.deepcopy(config) == config
    assert json.loads(json.dumps(config.to_dict()))["params"] == {"fast": 10, "levels": [1, 2]}
    changed = dataclasses.replace(config, params={**config.params, "fast": 3})
    assert changed.params["fast"] == 3 and config.params["fast"] == 10
    assert BacktestConfig.from_dict(config.to_dict()).config_id == config.config_id
