"""The engine golden: executes the engine with every realism setting on and pins what it produced.

Run: tests/golden/engine_strategy.py (an SMA 10/30 reversal, 0.3 of the margin per entry) on
the synthetic ETHUSDT perpetual (core.market.sample, deterministic), 4h bars of 2022, 100,000
USDT, 10x leverage (isolated margin, 0.5 % maintenance, 1.25 % liquidation fee), maker/taker
fees 0.02 %/0.05 %, 2 bps slippage, a 0.001 ETH lot step and 5 USDT minimum notional, funding
from the sample's 8-hourly rates, and a default take-profit of 8 % as the risk rule. The run has
signal exits, take-profits and liquidations; its trades (every column), equity per bar and risk
events are pinned in engine_trades.csv, engine_equity.csv and engine_events.csv.

Only scripts/regenerate_engine_golden.py rewrites those files (it shows the diff and needs
--accept), so a change in engine behaviour is always a deliberate, reviewed change.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TRADES_CSV = HERE / "engine_trades.csv"
EQUITY_CSV = HERE / "engine_equity.csv"
EVENTS_CSV = HERE / "engine_events.csv"
SYMBOL, TIMEFRAME, START, END = "ETHUSDT", "4h", "2022-01-01", "2022-12-31 23:59"
SETTINGS = {"cash_usdt": 100_000.0, "maker_fee_rate": 0.0002, "taker_fee_rate": 0.0005,
            "slippage_bps": 2.0, "perp": True, "margin": 0.1, "maintenance_margin_rate": 0.005,
            "liquidation_fee_rate": 0.0125, "lot_step_coins": 0.001, "min_notional_usdt": 5.0,
            "take_profit_pct": 0.08}


def _bars_and_funding() -> tuple[pd.DataFrame, pd.Series]:
    from core.market import sample as sample_data
    from core.market.resample import resample

    spec = next(s for s in sample_data.SAMPLE_SPECS if s.symbol == SYMBOL)
    perp = sample_data.generate_perp(spec).set_index("ts").rename(columns=str.capitalize)
    perp.index = pd.DatetimeIndex(perp.index, name=None)
    funding = sample_data.generate_funding(spec).set_index("ts")["rate"]
    funding.index = pd.DatetimeIndex(funding.index, name=None)
    return resample(perp.loc[START:END], TIMEFRAME), funding


def run() -> dict[str, pd.DataFrame]:
    """Execute the golden run in-process -> {"trades", "equity", "events"} frames as pinned."""
    from core.engine import backtest as engine

    bars, funding = _bars_and_funding()
    loader = importlib.util.spec_from_file_location("golden_engine_strategy",
                                                    HERE / "engine_strategy.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    out = engine.run(module.GoldenReversal, bars, engine.EngineSettings(**SETTINGS),
                     funding=funding)
    equity = pd.DataFrame({"equity": out.equity.to_numpy()},
                          index=pd.DatetimeIndex(bars.index, name="time"))
    return {"trades": out.trades.reset_index(drop=True), "equity": equity,
            "events": out.events.reset_index(drop=True)}


def as_csv(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The CSV text each frame is pinned as (the equity frame keeps its time index)."""
    return {"trades": frames["trades"].to_csv(index=False),
            "equity": frames["equity"].to_csv(),
            "events": frames["events"].to_csv(index=False)}


def paths() -> dict[str, Path]:
    """Where each pinned frame lives."""
    return {"trades": TRADES_CSV, "equity": EQUITY_CSV, "events": EVENTS_CSV}
