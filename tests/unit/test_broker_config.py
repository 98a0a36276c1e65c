"""Backtest configuration: presets, TOML files, CLI flags, checks, and stable run hashes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from clicmd import backtest as cli_backtest
from core.runs import config_file, costs
from core.errors import ConfigError
from core.model import BacktestConfig, canonical_json


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_backtest.add_parser(parser.add_subparsers())
    return parser.parse_args(["backtest", "s.py", *argv])


def test_presets_per_exchange_and_market() -> None:
    spot = costs.with_presets(BacktestConfig(exchange="binance", market="spot"))
    perp = costs.with_presets(BacktestConfig(exchange="sample", market="perp", symbol="BTCUSDT"))
    assert spot.fee_rates == (0.001, 0.001)
    assert perp.fee_rates == (0.0002, 0.0005)  # "sample" uses Binance USDS-M
    assert perp.margin.maintenance_margin_rate == 0.004
    edited = costs.with_presets(BacktestConfig(market="perp", costs={"taker_fee_rate": 0.0004}))
    assert edited.fee_rates == (0.0002, 0.0004)  # a user's value beats the preset


def test_cli_flags_build_a_perp_config() -> None:
    config = cli_backtest.build_config(parse(
        "--symbol", "BTCUSDT", "--timeframe", "1h", "--market", "perp", "--leverage", "10",
        "--maker-fee", "0.0002", "--taker-fee", "0.0005", "--slippage-bps", "2",
        "--funding-rate", "0.0001", "--max-drawdown-halt", "0.3"))
    assert (config.market, config.margin.leverage, config.fee_rates) == ("perp", 10.0,
                                                                         (0.0002, 0.0005))
    assert config.costs.slippage_bps == 2 and config.risk.max_drawdown_halt == 0.3
    assert config.margin.funding_rate_8h == 0.0001 and config.fractional
    assert not config.margin.spot_margin


@pytest.mark.parametrize(("argv", "message"), [
    (["--market", "perp", "--leverage", "200"],
     "--leverage 200.0 is out of range: allowed from 1 to 125"),
    (["--taker-fee", "0.5"], "--taker-fee 0.5 is out of range: allowed from 0 to 0.1"),
    (["--max-drawdown-halt", "1.5"], "--max-drawdown-halt 1.5 is out of range"),
    (["--leverage", "5"], "needs market perp"),
    (["--cash", "0"], "--cash 0.0 is out of range: allowed above 0"),
])
def test_bad_flags_name_the_flag_value_and_range(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cli_backtest.build_config(parse("--symbol", "BTCUSDT", "--timeframe", "1h", *argv))


def test_toml_file_with_flags_on_top(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('symbol = "ETHUSDT"\ntimeframe = "4h"\nmarket = "perp"\ncash_usdt = 5000\n'
                    '[costs]\nslippage_bps = 3\nfill_timing = "this_close"\n'
                    '[margin]\nleverage = 5\n[risk]\nmax_daily_loss = 0.05\n[params]\nfast = 12\n')
    config = cli_backtest.build_config(parse("--config", str(path), "--leverage", "8"))
    assert (config.symbol, config.timeframe, config.cash_usdt) == ("ETHUSDT", "4h", 5000.0)
    assert config.margin.leverage == 8.0  # the flag wins over the file
    assert config.costs.fill_timing == "this_close" and config.risk.max_daily_loss == 0.05
    assert config.params == {"fast": 12} and config.margin.maintenance_margin_rate == 0.005


def test_toml_unknown_key_suggests_the_near_one(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[margin]\nleverag = 5\n')
    with pytest.raises(ConfigError, match="Did you mean 'leverage'"):
        config_file.read_toml(path)
    path.write_text('symbol = "BTC\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_file.read_toml(path)


def test_missing_symbol_says_where_to_give_it() -> None:
    with pytest.raises(ConfigError, match="--symbol is missing"):
        cli_backtest.build_config(parse("--timeframe", "1h"))


def test_old_stored_configs_keep_their_hash_and_meaning() -> None:
    stored = {"exchange": "sample", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1h",
              "start": "", "end": "", "cash_usdt": 100000.0, "commission": 0.001,
              "params": {}, "extra": {}}
    config = BacktestConfig.from_dict(stored)
    assert canonical_json(config.to_dict()) == canonical_json(stored)
    assert config.fee_rates == (0.001, 0.001) and not config.fractional
    assert config.margin.spot_margin  # older runs could short spot, as plain backtesting.py


def test_nested_blocks_round_trip_and_hash_deterministically() -> None:
    a = BacktestConfig(market="perp", margin={"leverage": 10}, risk={"max_drawdown_halt": 0.3},
                       fractional=True)
    b = BacktestConfig.from_dict(json.loads(json.dumps(a.to_dict())))
    assert a == b and a.config_id == b.config_id
    assert a.config_id != BacktestConfig(market="perp", margin={"leverage": 11},
                                         fractional=True).config_id
    assert BacktestConfig(**a.to_dict()) == a  # dict blocks are accepted
