"""Named sets of default settings ("semantics") for the Backtest page and ``pineopt backtest``.

- ``crypto`` (the default): fractional coins on the symbol's lot step and minimum notional, no
  short selling on spot unless margin is enabled, the exchange's maker/taker fee preset when no
  fee is given, and trades still open on the last bar closed there and counted (Python; a Pine
  run keeps them open, as TradingView: core.analytics.metrics.open_at_end).
- ``backtesting``: exactly ``Backtest(data, cls, cash=cash, commission=commission)`` of
  backtesting.py 0.6.6: whole units, shorts allowed on spot, one fee rate for every fill (0
  unless given, never a preset), no slippage, fills at the next bar's open, no risk rules, and
  trades still open at the end left open (``finalize_trades=False``): they are not in the trade
  list or the trade statistics, and the final equity holds their unrealised P&L.

Each returns a config-file-shaped mapping (core.runs.config_file) that explicit settings override.
"""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError

CHOICES = ("crypto", "backtesting")
LABELS = {"crypto": "Crypto (PineOpt defaults)",
          "backtesting": "backtesting.py semantics (Backtest(data, cls, cash, commission))"}


def defaults(name: str, *, commission: float | None = None) -> dict[str, Any]:
    """The settings ``name`` stands for; ``commission`` is the single fee rate (backtesting)."""
    if name == "crypto":
        return {"fractional": True, "finalize_trades": True, "margin": {"spot_margin": False}}
    if name == "backtesting":
        fee = 0.0 if commission is None else float(commission)
        return {"fractional": False, "finalize_trades": False,
                "commission": fee,
                "costs": {"maker_fee_rate": fee, "taker_fee_rate": fee, "fill_timing": "next_open",
                          "slippage_bps": 0.0, "slippage_range_frac": 0.0},
                "margin": {"spot_margin": True, "leverage": 1.0}}
    raise ConfigError(f"Unknown semantics {name!r}: use one of {', '.join(CHOICES)}.")
