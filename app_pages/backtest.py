"""Backtest page: choose a strategy, data and settings; run; watch progress."""

import datetime as dt

import streamlit as st

from core.runs import config_file, pine_run, service as runs, semantics
from core.market import catalogue as market_data
from core.strategies import params, crud as strategies
from core.errors import PineOptError
from core.model import Language
from ui import backtest_form as form
from ui import broker_form, services, submit, widgets

settings = services.settings()
st.title("Backtest")
widgets.placement_caption(settings)

records = strategies.list_strategies(settings.db_path)
if not records:
    st.info("No strategies yet: write one on the Strategies page and save it.")
    st.stop()
names = {r.id: f"{r.meta.name} (v{r.latest_version})" for r in records}
form.load_pending({r.id: r.latest_version for r in records})  # "Re-run with these settings"
form.loaded_note()
if st.session_state.get(form.STRATEGY) not in names:  # first visit, or chosen on Strategies
    st.session_state[form.STRATEGY] = widgets.pick(list(names),
                                                   st.session_state.get(services.SELECTED_STRATEGY))
sid = st.selectbox("Strategy", list(names), format_func=names.get, key=form.STRATEGY,
                   persist_state="session")
st.session_state[services.SELECTED_STRATEGY] = sid
datasets = market_data.list_datasets(settings.db_path)
symbols = sorted({(d.exchange, d.market, d.symbol) for d in datasets})
c1, c2, c3 = st.columns(3)
spot_first = next((i for i, t in enumerate(symbols) if t[1] == "spot"), 0)
exchange, market, symbol = c1.selectbox("Data", symbols, index=spot_first, key=form.DATA,
                                        format_func=lambda t: f"{t[2]} · {t[0]} {t[1]}",
                                        persist_state="session")
cover = [d for d in datasets if (d.exchange, d.market, d.symbol) == (exchange, market, symbol)]
offered = form.timeframes(cover)  # never finer than the stored bars
timeframe = c2.selectbox("Timeframe", offered, index=widgets.index_of(offered, "1h"),
                         key=form.TIMEFRAME, persist_state="session",
                         help="Stored timeframes and whole multiples of them.")
first, last = min(d.first for d in cover).date(), max(d.last for d in cover).date()
default_start = dt.date(2024, 1, 1) if first <= dt.date(2024, 1, 1) <= last else first
dates = c3.date_input("Date range (UTC)", value=(default_start, last), min_value=first,
                      max_value=last, key=form.DATES, persist_state="session")
c3.segmented_control("Range", form.PRESETS, key=form.RANGE, label_visibility="collapsed",
                     on_change=form.apply_preset, args=(first, last))
st.caption("Stored coverage (UTC): " + "; ".join(
    f"{d.timeframe} {d.first:%Y-%m-%d %H:%M} to {d.last:%Y-%m-%d %H:%M}, {d.bars:,} bars"
    + (f" ({d.missing_bars:,} missing)" if d.missing_bars else "") for d in cover)
           + (" · synthetic sample data" if any(d.synthetic for d in cover) else ""))
start, end = (dates if isinstance(dates, tuple) and len(dates) == 2 else (first, last))
version = strategies.get_version(settings.db_path, sid)
record = strategies.get(settings.db_path, sid)
own = pine_run.strategy_defaults(version.source) if record.language is Language.PINE else {}
c4, c5 = st.columns(2)
cash = c4.number_input("Initial capital (USDT)", min_value=10.0, step=1_000.0,
                       value=own.get("cash_usdt", 100_000.0), persist_state="session",
                       key=form.cash_key(sid, version.version),
                       help="Pine strategies start from their strategy() initial_capital.")
try:
    info = market_data.get_symbol(settings.db_path, exchange, market, symbol)
    rules = f"lot {info.lot_step:g}, min notional {info.min_notional:g} USDT"
except PineOptError:
    rules = "lot step unknown: 1 satoshi"
mode = st.radio("Semantics", semantics.CHOICES, format_func=semantics.LABELS.get,
                horizontal=True, key="semantics",
                help="backtesting.py semantics reproduce a plain backtesting.py run exactly.")
key = form.cost_key(exchange, market, sid)
if mode == "backtesting":
    layers = broker_form.backtesting_inputs(key=key, market=market)
else:
    fractional = c5.checkbox(f"Fractional coins ({rules})", value=True, key=form.FRACTIONAL,
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
            key=form.margin_key(exchange, market, sid, symbol))
    with st.expander("Risk rules (0 = off)"):
        risk_layer = broker_form.risk_inputs(key=key)
    layers = {"fractional": fractional, "costs": cost_layer, "margin": margin_layer,
              "risk": risk_layer}
values = widgets.parameter_form(params.extract(version.source, record.language),
                                key=form.param_key(sid))

mapping = {"exchange": exchange, "market": market, "symbol": symbol, "timeframe": timeframe,
           "start": str(start), "end": str(end), "cash_usdt": float(cash), **layers,
           "params": values}
force = st.checkbox("Run again even if an identical run exists", key="run_force")
manager = services.jobs()  # warm now: inside _submit a cache spinner would be a rerun point


def _submit() -> runs.RunRecord:
    run = runs.request_run(settings, strategy_id=sid, config=config_file.build_config(mapping),
                           force=force)
    if not run.status.finished:
        manager.submit(run.id)
    st.session_state[services.SELECTED_RUN] = run.id
    return run


st.button("Run backtest", type="primary", key="run_backtest", on_click=submit.on_click,
          shortcut="Mod+Enter", help="Ctrl/Cmd+Enter")
submit.serve(_submit)  # each click: exactly one run, or the reason why not

widgets.job_monitor(settings)
