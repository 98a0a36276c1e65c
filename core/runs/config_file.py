"""Backtest configuration files (TOML) and layered settings -> one BacktestConfig.

Owns the file format: top-level keys are BacktestConfig fields (exchange, market, symbol,
timeframe, start, end, cash_usdt, fractional, finalize_trades), tables [costs], [margin],
[risk] hold the blocks and [params] the strategy parameters. Unknown keys are refused with a
"did you mean" hint.
Layering: defaults < file < explicitly given flags. Exchange presets fill the fees, maintenance
margin and liquidation fee nobody set. Pure apart from reading the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from pathlib import Path
from typing import Any

from core.runs import costs
from core.errors import ConfigError
from core.model import BacktestConfig, CostModel, MarginModel, RiskRules

TOP_LEVEL = ("exchange", "market", "symbol", "timeframe", "start", "end", "cash_usdt",
             "commission", "fractional", "finalize_trades")
BLOCKS = {"costs": CostModel, "margin": MarginModel, "risk": RiskRules}


def _unknown(key: str, known: list[str], where: str) -> ConfigError:
    near = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean {near[0]!r}?" if near else f" Known keys: {', '.join(known)}."
    return ConfigError(f"Unknown key {key!r} in {where}.{hint}")


def read_toml(path: Path) -> dict[str, Any]:
    """The checked mapping of a config file; raises ConfigError for syntax or unknown keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from exc
    known = [*TOP_LEVEL, *BLOCKS, "params"]
    for key, value in data.items():
        if key not in known:
            raise _unknown(key, known, str(path))
        if key in BLOCKS:
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] in {path} must be a table of settings.")
            names = [f.name for f in dataclasses.fields(BLOCKS[key])]
            for sub in value:
                if sub not in names:
                    raise _unknown(sub, names, f"[{key}] of {path}")
    return data


# What a run request starts from before the strategy's own defaults, a config file and explicit
# settings: the CLI and the API build identical configs (and run hashes) from identical inputs.
REQUEST_DEFAULTS: dict[str, Any] = {"exchange": "sample", "market": "spot", "cash_usdt": 100_000.0,
                                    "fractional": True, "margin": {"spot_margin": False}}


def request_layers(strategy_defaults: dict[str, float] | None = None) -> dict[str, Any]:
    """REQUEST_DEFAULTS overlaid with a strategy's own capital and commission (Pine
    strategy() properties: ``cash_usdt``, ``commission``); the first layer of merge()."""
    layer: dict[str, Any] = {**REQUEST_DEFAULTS, "margin": dict(REQUEST_DEFAULTS["margin"])}
    own = strategy_defaults or {}
    if "cash_usdt" in own:
        layer["cash_usdt"] = own["cash_usdt"]
    if "commission" in own:
        layer["costs"] = {"maker_fee_rate": own["commission"], "taker_fee_rate": own["commission"]}
    return layer


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; blocks and params merge key by key; None values are ignored."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if isinstance(value, dict):
                given = {k: v for k, v in value.items() if v is not None}
                out[key] = {**out.get(key, {}), **given}
            else:
                out[key] = value
    return out


def build_config(mapping: dict[str, Any], *, names: dict[str, str] | None = None
                 ) -> BacktestConfig:
    """A checked BacktestConfig with exchange presets for unset fees and margin rates.

    ``names`` maps fields to what the user typed (flags) for error messages.
    Raises ConfigError naming the setting, its value and the allowed range.
    """
    try:
        config = BacktestConfig.from_dict(mapping)
    except TypeError as exc:
        raise ConfigError(f"Bad configuration: {exc}.") from exc
    config = costs.with_presets(config)
    costs.check_config(config, names=names)
    return config
