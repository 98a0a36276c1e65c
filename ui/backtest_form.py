"""The run settings form of the Backtest and Optimize pages (market_form: data, timeframe,
dates, capital, semantics, costs, margin, risk), its widget keys kept for the session, date-range
presets, the timeframes the stored data can give, and "Re-run with these settings" from Results.

Every input has a key and ``persist_state="session"``, so leaving the page and coming back keeps
the market, leverage, fees and parameters. A re-run request writes a stored run's settings into
the Backtest page's keys before the page draws. The Optimize page draws the same form under its
own keys (FormKeys), so a sweep runs on the same markets and costs as a single backtest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.errors import PineOptError
from core.market import catalogue as market_data
from core.market.catalogue import Dataset
from core.model import TIMEFRAME_MINUTES, TIMEFRAMES, Language, RunRecord
from core.runs import pine_run, semantics
from core.settings import Settings
from ui import broker_form, services, widgets

STRATEGY = "bt_strategy"
DATA = "bt_data"
TIMEFRAME = "bt_timeframe"
DATES = "bt_dates"
RANGE = "bt_range"
FRACTIONAL = "bt_fractional"
RERUN = "bt_rerun"  # a RunRecord whose settings the page loads on its next draw
LOADED = "bt_loaded"  # the message saying which run's settings were loaded
PRESETS = ("YTD", "1Y", "2Y", "All")


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


def coverage_note(start: dt.date, end: dt.date, *, first: dt.date, last: dt.date) -> str | None:
    """What a run over ``start``..``end`` uses when the stored bars (``first``..``last``) do
    not cover it all; None when they do."""
    span = f"the stored bars run from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if end < first or start > last:
        return (f"No stored bars from {start:%Y-%m-%d} to {end:%Y-%m-%d}: {span}. Pick dates "
                "inside them (the YTD / 1Y / 2Y / All buttons do), or add data on the Data page.")
    if start < first or end > last:
        return (f"{span[0].upper()}{span[1:]}: the run uses {max(start, first):%Y-%m-%d} to "
                f"{min(end, last):%Y-%m-%d}.")
    return None


def apply_preset(first: dt.date, last: dt.date, keys: FormKeys | None = None) -> None:
    """on_change of the range presets: move the date inputs."""
    keys = keys or BACKTEST
    name = st.session_state.get(keys.range)
    if name in PRESETS:
        st.session_state[keys.dates] = preset_range(name, first=first, last=last)


@dataclass(frozen=True, slots=True)
class FormKeys:
    """Session-state keys of one page's copy of market_form (the Backtest page's are the
    module constants, which "Re-run with these settings" fills)."""

    data: str
    timeframe: str
    dates: str
    range: str
    fractional: str
    semantics: str
    prefix: str  # of the cost, risk, margin and capital inputs

    def cost(self, exchange: str, market: str, sid: int) -> str:
        """Key prefix of the cost and risk inputs."""
        return f"{self.prefix}_{exchange}_{market}_{sid}_"

    def margin(self, exchange: str, market: str, sid: int, symbol: str) -> str:
        """Key prefix of the margin inputs."""
        return f"{self.cost(exchange, market, sid)}{symbol}_"

    def cash(self, sid: int, version: int) -> str:
        """Key of the capital input."""
        return f"{self.prefix}_cash_{sid}_{version}"


BACKTEST = FormKeys(data=DATA, timeframe=TIMEFRAME, dates=DATES, range=RANGE,
                    fractional=FRACTIONAL, semantics="semantics", prefix="b")
OPTIMIZE = FormKeys(data="opt_data", timeframe="opt_tf", dates="opt_dates", range="opt_range",
                    fractional="opt_fractional", semantics="opt_semantics", prefix="o")


def market_form(settings: Settings, *, sid: int, language: Language, source: str, version: int,
                keys: FormKeys) -> dict[str, Any] | None:
    """Data (stored datasets only), timeframe (never finer than the stored bars), date range with
    presets, capital, semantics, costs, margin and risk rules: the run settings as a
    config-file mapping (core.runs.config_file.build_config), parameters not included. None,
    with a note, when no data is stored."""
    datasets = market_data.list_datasets(settings.db_path)
    symbols = sorted({(d.exchange, d.market, d.symbol) for d in datasets})
    if not symbols:
        st.info("No market data is stored: load the sample or download bars on the Data page.")
        return None
    c1, c2, c3 = st.columns(3)
    spot_first = next((i for i, t in enumerate(symbols) if t[1] == "spot"), 0)
    exchange, market, symbol = c1.selectbox("Data", symbols, index=spot_first, key=keys.data,
                                            format_func=lambda t: f"{t[2]} · {t[0]} {t[1]}",
                                            persist_state="session")
    cover = [d for d in datasets if (d.exchange, d.market, d.symbol) == (exchange, market, symbol)]
    offered = timeframes(cover)  # never finer than the stored bars
    timeframe = c2.selectbox("Timeframe", offered, index=widgets.index_of(offered, "1h"),
                             key=keys.timeframe, persist_state="session",
                             help="Stored timeframes and whole multiples of them.")
    first, last = min(d.first for d in cover).date(), max(d.last for d in cover).date()
    default_start = dt.date(2024, 1, 1) if first <= dt.date(2024, 1, 1) <= last else first
    # no min/max: a typed date outside them was refused in the field (red) while the run kept
    # the last accepted range, which the page no longer showed; dates past the bars get a note
    dates = c3.date_input("Date range (UTC)", value=(default_start, last), key=keys.dates,
                          persist_state="session",
                          help="The run uses the stored bars inside this range.")
    c3.segmented_control("Range", PRESETS, key=keys.range, label_visibility="collapsed",
                         on_change=apply_preset, args=(first, last, keys))
    st.caption("Stored coverage (UTC): " + "; ".join(
        f"{d.timeframe} {d.first:%Y-%m-%d %H:%M} to {d.last:%Y-%m-%d %H:%M}, {d.bars:,} bars"
        + (f" ({d.missing_bars:,} missing)" if d.missing_bars else "") for d in cover)
               + (" · synthetic sample data" if any(d.synthetic for d in cover) else ""))
    start, end = (dates if isinstance(dates, tuple) and len(dates) == 2 else (first, last))
    if (note := coverage_note(start, end, first=first, last=last)) is not None:
        st.warning(note, icon=":material/date_range:")
    own = pine_run.strategy_defaults(source) if language is Language.PINE else {}
    c4, c5 = st.columns(2)
    cash = c4.number_input("Initial capital (USDT)", min_value=10.0, step=1_000.0,
                           value=own.get("cash_usdt", 100_000.0), persist_state="session",
                           key=keys.cash(sid, version),
                           help="Pine strategies start from their strategy() initial_capital.")
    try:
        info = market_data.get_symbol(settings.db_path, exchange, market, symbol)
        rules = f"lot {info.lot_step:g}, min notional {info.min_notional:g} USDT"
    except PineOptError:
        rules = "lot step unknown: 1 satoshi"
    mode = st.radio("Semantics", semantics.CHOICES, format_func=semantics.LABELS.get,
                    horizontal=True, key=keys.semantics,
                    help="backtesting.py semantics reproduce a plain backtesting.py run exactly.")
    key = keys.cost(exchange, market, sid)
    if mode == "backtesting":
        layers = broker_form.backtesting_inputs(key=key, market=market)
    else:
        fractional = c5.checkbox(f"Fractional coins ({rules})", value=True, key=keys.fractional,
                                 persist_state="session",
                                 help="Off: whole coins, as plain backtesting.py.")
        with st.expander("Costs: fees, slippage, fills", expanded=True):
            cost_layer = broker_form.cost_inputs(exchange=exchange, market=market, key=key,
                                                 strategy_fee=own.get("commission"))
        with st.expander("Perpetual: leverage, margin, funding" if market == "perp" else "Margin",
                         expanded=market == "perp"):
            stored = len(market_data.load_funding(settings.db_path, exchange, symbol, str(start),
                                                  str(end)))
            margin_layer = broker_form.margin_inputs(
                exchange=exchange, market=market, symbol=symbol, stored_funding=stored,
                key=keys.margin(exchange, market, sid, symbol))
        with st.expander("Risk rules (0 = off)"):
            risk_layer = broker_form.risk_inputs(key=key)
        layers = {"fractional": fractional, "costs": cost_layer, "margin": margin_layer,
                  "risk": risk_layer}
    return {"exchange": exchange, "market": market, "symbol": symbol, "timeframe": timeframe,
            "start": str(start), "end": str(end), "cash_usdt": float(cash), **layers}


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
        FRACTIONAL: cfg.fractional, BACKTEST.cash(sid, latest_version[sid]): cfg.cash_usdt,
        **{f"{param_key(sid)}_{k}": v for k, v in cfg.params.items()},
        **broker_form.session_values(cfg, key=BACKTEST.cost(cfg.exchange, cfg.market, sid),
                                     margin_key=BACKTEST.margin(cfg.exchange, cfg.market, sid,
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
