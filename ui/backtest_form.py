"""State of the Backtest page's form: widget keys kept for the session, date-range presets,
the timeframes the stored data can give, and "Re-run with these settings" from Results.

Every input has a key and ``persist_state="session"``, so leaving the page and coming back keeps
the market, leverage, fees and parameters. A re-run request writes a stored run's settings into
those keys before the page draws.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from core.market.catalogue import Dataset
from core.model import TIMEFRAME_MINUTES, TIMEFRAMES, RunRecord
from ui import broker_form, services

STRATEGY = "bt_strategy"
DATA = "bt_data"
TIMEFRAME = "bt_timeframe"
DATES = "bt_dates"
RANGE = "bt_range"
FRACTIONAL = "bt_fractional"
RERUN = "bt_rerun"  # a RunRecord whose settings the page loads on its next draw
LOADED = "bt_loaded"  # the message saying which run's settings were loaded
PRESETS = ("YTD", "1Y", "2Y", "All")


def cost_key(exchange: str, market: str, sid: int) -> str:
    """Key prefix of the cost and risk inputs (presets refill when exchange or market change)."""
    return f"b_{exchange}_{market}_{sid}_"


def margin_key(exchange: str, market: str, sid: int, symbol: str) -> str:
    """Key prefix of the margin inputs."""
    return f"{cost_key(exchange, market, sid)}{symbol}_"


def cash_key(sid: int, version: int) -> str:
    """Key of the capital input (a Pine strategy's own capital is the default per version)."""
    return f"cash_{sid}_{version}"


def param_key(sid: int) -> str:
    """Key prefix of the parameter inputs."""
    return f"p{sid}"


def timeframes(cover: list[Dataset]) -> list[str]:
    """Timeframes the stored series can give: stored ones and whole multiples of the finest."""
    stored = [TIMEFRAME_MINUTES[d.timeframe] for d in cover]
    return [tf for tf in TIMEFRAMES
            if any(TIMEFRAME_MINUTES[tf] >= m and TIMEFRAME_MINUTES[tf] % m == 0 for m in stored)]


def preset_range(name: str, *, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """(start, end) of a preset ending at the last stored day, clipped to the first."""
    starts = {"YTD": dt.date(last.year, 1, 1), "1Y": last - dt.timedelta(days=365),
              "2Y": last - dt.timedelta(days=730), "All": first}
    return max(first, starts[name]), last


def apply_preset(first: dt.date, last: dt.date) -> None:
    """on_change of the range presets: move the date inputs."""
    name = st.session_state.get(RANGE)
    if name in PRESETS:
        st.session_state[DATES] = preset_range(name, first=first, last=last)


def request_rerun(run: RunRecord) -> None:
    """Ask the Backtest page to load ``run``'s settings (call, then switch to the page)."""
    st.session_state[RERUN] = run


def load_pending(latest_version: dict[int, int]) -> None:
    """Write a requested run's settings into the form's keys (call before any widget)."""
    run: RunRecord | None = st.session_state.pop(RERUN, None)
    if run is None or run.strategy_id not in latest_version:
        return
    cfg, sid = run.config, run.strategy_id
    values: dict[str, Any] = {
        STRATEGY: sid, DATA: (cfg.exchange, cfg.market, cfg.symbol), TIMEFRAME: cfg.timeframe,
        FRACTIONAL: cfg.fractional, cash_key(sid, latest_version[sid]): cfg.cash_usdt,
        **{f"{param_key(sid)}_{k}": v for k, v in cfg.params.items()},
        **broker_form.session_values(cfg, key=cost_key(cfg.exchange, cfg.market, sid),
                                     margin_key=margin_key(cfg.exchange, cfg.market, sid,
                                                           cfg.symbol))}
    if cfg.start and cfg.end:
        values[DATES] = (dt.date.fromisoformat(cfg.start[:10]), dt.date.fromisoformat(cfg.end[:10]))
    st.session_state.update(values)
    st.session_state.pop(RANGE, None)
    st.session_state[services.SELECTED_STRATEGY] = sid
    note = "" if run.strategy_version == latest_version[sid] else (
        f" It ran version {run.strategy_version}; this page runs the latest, "
        f"v{latest_version[sid]}.")
    st.session_state[LOADED] = f"Loaded the settings of run {run.id}.{note}"


def loaded_note() -> None:
    """Say once which run's settings were loaded."""
    if (text := st.session_state.pop(LOADED, None)) is not None:
        st.info(text, icon=":material/replay:")
