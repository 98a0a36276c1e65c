"""Backtest page widgets for the crypto broker: costs, perpetual margin and funding, risk rules.

Returns the settings as a config-file-shaped mapping (see core.runs.config_file) so the page builds
its BacktestConfig exactly like the CLI does. Percent inputs are shown in % and returned as
fractions. Widget keys include the exchange and market so presets refill when they change.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.runs import costs, semantics
from core.model import BacktestConfig


def _pct(container: Any, label: str, *, value: float, key: str, max_pct: float = 100.0,
         step: float = 0.01, help_text: str = "") -> float:
    """A percent number input returning a fraction."""
    shown = container.number_input(label, min_value=0.0, max_value=float(max_pct),
                                   value=float(value) * 100,
                                   step=step, format="%.4f", key=key, help=help_text or None,
                                   persist_state="session")
    return float(shown) / 100


def cost_inputs(*, exchange: str, market: str, key: str,
                strategy_fee: float | None = None) -> dict[str, Any]:
    """Maker/taker fees (preset, editable), slippage model and fill timing -> the costs table.

    strategy_fee: a fee rate the strategy itself declares (Pine strategy() commission); it
    replaces the exchange preset as the default of both fee fields.
    """
    preset = costs.preset(exchange, market)
    if strategy_fee is None:
        st.caption(f"Preset: {preset.label}. Limit orders and take-profits pay maker; market and "
                   "stop orders and stop-losses pay taker.")
        maker_default, taker_default = preset.maker_fee_rate, preset.taker_fee_rate
    else:
        st.caption(f"Defaults from the strategy's strategy() commission ({strategy_fee:.4%}), as on "
                   f"TradingView; the {preset.label} preset would be {preset.maker_fee_rate:.3%} / "
                   f"{preset.taker_fee_rate:.3%}.")
        maker_default = taker_default = strategy_fee
    c1, c2, c3 = st.columns(3)
    maker = _pct(c1, "Maker fee (%)", value=maker_default, key=f"{key}maker", max_pct=10)
    taker = _pct(c2, "Taker fee (%)", value=taker_default, key=f"{key}taker", max_pct=10)
    fill = c3.radio("Fill timing", ["next_open", "this_close"], key=f"{key}fill",
                    persist_state="session",
                    format_func={"next_open": "Next bar open", "this_close": "This bar close"}.get)
    c4, c5 = st.columns(2)
    mode = c4.radio("Slippage", ["bps", "range"], horizontal=True, key=f"{key}slipmode",
                    persist_state="session",
                    format_func={"bps": "Fixed (bps)", "range": "Scaled by bar range"}.get)
    amount = c5.number_input("Basis points of price" if mode == "bps" else "Fraction of high-low",
                             min_value=0.0, max_value=1_000.0 if mode == "bps" else 1.0,
                             value=0.0, step=0.5 if mode == "bps" else 0.01, key=f"{key}slip",
                             persist_state="session")
    return {"maker_fee_rate": maker, "taker_fee_rate": taker, "fill_timing": fill,
            "slippage_bps": float(amount) if mode == "bps" else 0.0,
            "slippage_range_frac": float(amount) if mode == "range" else 0.0}


def backtesting_inputs(*, key: str, market: str) -> dict[str, Any]:
    """backtesting.py semantics: one commission rate; everything else fixed (core.runs.semantics)."""
    st.caption("As `Backtest(data, cls, cash=..., commission=...)` of backtesting.py 0.6.6: "
               "whole units, shorts allowed, one fee for every fill, no slippage, next-open "
               "fills, no risk rules, trades still open at the end left open.")
    if market != "spot":
        st.warning("backtesting.py semantics need spot data: pick a spot symbol.")
    fee = _pct(st, "Commission (%)", value=0.0, key=f"{key}btfee", max_pct=10,
               help_text="backtesting.py's commission: a fraction of each fill's notional.")
    return semantics.defaults("backtesting", commission=fee)


def margin_inputs(*, exchange: str, market: str, symbol: str, stored_funding: int,
                  key: str) -> dict[str, Any]:
    """Perps: leverage, maintenance margin, liquidation fee, funding. Spot: the margin switch."""
    if market != "perp":
        short = st.checkbox("Enable margin (allow shorting on spot)", value=False,
                            key=f"{key}spotmargin", persist_state="session")
        return {"spot_margin": short}
    c1, c2, c3 = st.columns(3)
    leverage = c1.number_input("Leverage (×)", min_value=1.0, max_value=costs.MAX_LEVERAGE,
                               value=1.0, step=1.0, key=f"{key}lev",
                               persist_state="session", help="Isolated margin.")
    mmr = _pct(c2, "Maintenance margin (%)", value=costs.maintenance_rate(symbol),
               key=f"{key}mmr", max_pct=50, help_text="Default: the exchange's tier 1.")
    liq = _pct(c3, "Liquidation fee (%)", value=costs.preset(exchange, "perp").liquidation_fee_rate,
               key=f"{key}liq", max_pct=10)
    rate = costs.DEFAULT_FUNDING_RATE_8H
    if stored_funding:
        st.caption(f"Funding: {stored_funding:,} stored 8-hourly rates in this range are applied "
                   "at each funding time (longs pay positive rates, shorts receive them).")
    else:
        st.info("No funding rates are stored for this symbol and range: a constant rate is "
                f"applied every 8 h (default {rate:.4%} per 8 h).")
        rate = _pct(st, "Constant funding rate per 8 h (%)", value=rate, key=f"{key}fund",
                    max_pct=3, step=0.001)
    return {"leverage": float(leverage), "maintenance_margin_rate": mmr,
            "liquidation_fee_rate": liq, "funding_rate_8h": rate, "spot_margin": False}


def risk_inputs(*, key: str) -> dict[str, float]:
    """Risk rules in %, 0 = off -> the risk table (fractions)."""
    c1, c2, c3 = st.columns(3)
    return {
        "stop_loss_pct": _pct(c1, "Default stop-loss (%)", value=0.0, key=f"{key}sl",
                              help_text="For trades opened without their own stop-loss."),
        "take_profit_pct": _pct(c2, "Default take-profit (%)", value=0.0, key=f"{key}tp",
                                max_pct=10_000),
        "trailing_stop_pct": _pct(c3, "Trailing stop (%)", value=0.0, key=f"{key}trail"),
        "max_position_pct": _pct(c1, "Max position (% of equity)", value=0.0, key=f"{key}maxpos",
                                 max_pct=12_500),
        "max_drawdown_halt": _pct(c2, "Max drawdown halt (%)", value=0.0, key=f"{key}dd",
                                  help_text="Flatten and stop trading past this drawdown."),
        "max_daily_loss": _pct(c3, "Max daily loss (%)", value=0.0, key=f"{key}daily",
                               help_text="Flatten and pause until the next UTC day."),
    }


RISK_KEYS = {"stop_loss_pct": "sl", "take_profit_pct": "tp", "trailing_stop_pct": "trail",
             "max_position_pct": "maxpos", "max_drawdown_halt": "dd", "max_daily_loss": "daily"}


def session_values(config: BacktestConfig, *, key: str, margin_key: str) -> dict[str, Any]:
    """The widget values (session-state key -> value, percents in %) that show ``config`` in
    the inputs above: used by "Re-run with these settings" to refill the Backtest page."""
    c, m, r = config.costs, config.margin, config.risk
    maker, taker = config.fee_rates
    slip_mode = "range" if c.slippage_range_frac else "bps"
    values: dict[str, Any] = {
        f"{key}maker": maker * 100, f"{key}taker": taker * 100, f"{key}fill": c.fill_timing,
        f"{key}slipmode": slip_mode,
        f"{key}slip": c.slippage_range_frac if slip_mode == "range" else c.slippage_bps,
        **{f"{key}{short}": getattr(r, name) * 100 for name, short in RISK_KEYS.items()}}
    if config.market != "perp":
        return values | {f"{margin_key}spotmargin": bool(m.spot_margin)}
    values |= {f"{margin_key}lev": m.leverage, f"{margin_key}fund": m.funding_rate_8h * 100}
    if m.maintenance_margin_rate is not None:
        values[f"{margin_key}mmr"] = m.maintenance_margin_rate * 100
    if m.liquidation_fee_rate is not None:
        values[f"{margin_key}liq"] = m.liquidation_fee_rate * 100
    return values
