"""Trades left open at the end (finalize_trades off) come back in out/open_trades.parquet; the
host counts them into the equity it verifies and rejects any forged or unexpected one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Strategy

from core.engine import backtest as engine
from core.errors import SandboxError
from core.runs.result_check import check_result

SETTINGS = engine.EngineSettings(cash_usdt=100_000.0, maker_fee_rate=0.002, taker_fee_rate=0.002,
                                 finalize_trades=False)


class BuyAndKeep(Strategy):
    """Buys 3 units on bar 5 and adds 2 on bar 40: two trades open at the end."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        if len(self.data) in (5, 40):
            self.buy(size=3 if len(self.data) == 5 else 2)


def _data(n: int = 120) -> pd.DataFrame:
    close = 100 + np.cumsum(np.sin(np.arange(n) / 5.0))
    return pd.DataFrame({"Open": close, "High": close + 1, "Low": close - 1, "Close": close,
                         "Volume": 1.0}, index=pd.date_range("2024-01-01", periods=n, freq="h"))


def _write(out: Path, result: engine.EngineOutput, open_trades: pd.DataFrame) -> None:
    out.mkdir(exist_ok=True)
    result.equity.rename("equity").to_frame().to_parquet(out / "equity.parquet")
    result.trades.to_parquet(out / "trades.parquet")
    if len(open_trades):
        open_trades.to_parquet(out / "open_trades.parquet")


def _check(out: Path, data: pd.DataFrame, claimed: dict, broker: engine.EngineSettings) -> None:
    check_result(out, data, claimed, cash_usdt=100_000.0, commission=0.0,
                 broker=dataclasses.asdict(broker))


def test_open_trades_are_verified_into_the_equity(tmp_path: Path) -> None:
    data = _data()
    result = engine.run(BuyAndKeep, data, SETTINGS)
    assert len(result.trades) == 0 and len(result.open_trades) == 2
    _write(tmp_path, result, result.open_trades)
    _check(tmp_path, data, {"trades": 0, "open_trades": 2}, SETTINGS)


@pytest.mark.parametrize(("forge", "says"), [
    ("claim_fewer", "the equity at bar"),
    ("claim_more", "does not match open_trades.parquet"),
    ("exit_above_last_close", "outside its bar's low-high range"),
    ("no_entry_fee", "not marked at the last close with its entry fee"),
    ("when_finalizing", "not allowed by the run's settings"),
])
def test_forged_open_trades_are_rejected(tmp_path: Path, forge: str, says: str) -> None:
    data = _data()
    result = engine.run(BuyAndKeep, data, SETTINGS)
    held, claimed, broker = result.open_trades.copy(), {"trades": 0, "open_trades": 2}, SETTINGS
    if forge == "claim_fewer":
        held, claimed["open_trades"] = held.iloc[:0], 0
    elif forge == "claim_more":
        claimed["open_trades"] = 3
    elif forge == "exit_above_last_close":
        held["ExitPrice"] = held["ExitPrice"] + 5
        held["PnL"] = held["PnL"] + 5 * held["Size"]
    elif forge == "no_entry_fee":
        held["PnL"] = held["PnL"] + held["Commission"]
        held["Commission"] = held["EntryFee"] = 0.0
    else:
        broker = dataclasses.replace(SETTINGS, finalize_trades=True)
    _write(tmp_path, result, held)
    with pytest.raises(SandboxError, match=says) as info:
        _check(tmp_path, data, claimed, broker)
    assert info.value.status == "result_rejected"
