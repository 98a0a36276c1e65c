"""Panels of the Data page: catalogue, import, download, funding, preview and quality.

Each panel reads its widgets, calls one core service and renders the outcome; user errors
(PineOptError) are shown, never raised.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from core.market import export as data_export, decompress, download, importers, catalogue as market_data, quality
from core.errors import PineOptError
from core.market.layouts import ColumnMapping
from core.model import TIMEFRAMES
from core.market.sample import SAMPLE_LABEL
from reports import market_charts
from ui import services

UPLOAD_MAX_MB = decompress.UPLOAD_MAX_MB  # Streamlit's server.maxUploadSize says the same
UPLOAD_TYPES = ["csv", "txt", "json", "parquet", "zip", "gz"]
BADGE = {"ok": "ok", "warnings": "warnings", "problems": "problems", "": "unchecked"}
FIELDS = ("time", "open", "high", "low", "close", "volume")
FLASH = "data_page_flash"


def done(lines: list[str]) -> None:
    """Remember a success message and rerun so the catalogue shows the new data."""
    st.session_state[FLASH] = lines
    st.rerun()


def flash() -> None:
    """Show (once) the message left by done()."""
    lines = st.session_state.pop(FLASH, None)
    if lines:
        st.success("\n\n".join(lines))


def catalogue(db: Path) -> list[market_data.Dataset]:
    """The datasets table with coverage and quality badges; returns the datasets."""
    sets = market_data.list_datasets(db)
    badges = quality.saved_badges(db)
    st.dataframe(pd.DataFrame([{
        "Exchange": d.exchange, "Market": d.market, "Symbol": d.symbol, "Timeframe": d.timeframe,
        "First bar (UTC)": d.first, "Last bar (UTC)": d.last, "Bars": d.bars,
        "Missing bars": d.missing_bars,
        "Quality": BADGE[badges.get((d.exchange, d.market, d.symbol, d.timeframe), "")],
        "Source": SAMPLE_LABEL if d.synthetic else "imported / downloaded"} for d in sets]),
        hide_index=True, width="stretch")
    st.caption("Higher timeframes are resampled from the stored bars on demand (UTC days, weeks "
               "from Monday; an incomplete last bar is dropped). Quality: run a check on the "
               "Preview tab.")
    return sets


def _mapping_form(detection: importers.Detection) -> ColumnMapping | None:
    st.warning(f"Which column is which? Detection is unsure ({detection.reason}).")
    cols = st.columns(len(FIELDS))
    options = list(detection.columns)
    chosen = {f: cols[i].selectbox(f.capitalize(), options, index=min(i, len(options) - 1),
                                   key=f"map_{f}") for i, f in enumerate(FIELDS)}
    return ColumnMapping(**chosen)


def _step_inputs() -> dict[str, float]:
    """Tick size and lot step of the imported symbol (0: the catalogue's, else inferred)."""
    c1, c2 = st.columns(2)
    help_text = ("0 keeps the catalogue's value, or infers one from the prices (never from the "
                 "Volume column); the import report shows what was used.")
    tick = c1.number_input("Tick size (price step)", min_value=0.0, value=0.0, format="%g",
                           key="import_tick", help=help_text)
    lot = c2.number_input("Lot step (quantity step, coins)", min_value=0.0, value=0.0,
                          format="%g", key="import_lot", help=help_text)
    return {"tick_size": float(tick), "lot_step": float(lot)}


def import_panel(db: Path) -> None:
    """Upload, mapping preview, target fields, import with progress and the report."""
    upload = st.file_uploader("Data file (Binance kline/funding CSV or zip, ccxt JSON/CSV, "
                              "generic CSV or Parquet; .gz too)", type=UPLOAD_TYPES,
                              max_upload_size=UPLOAD_MAX_MB, key="data_upload",
                              help=f"Up to {UPLOAD_MAX_MB} MB per upload. Larger files: "
                                   "`pineopt data import FILE` (up to "
                                   f"{decompress.MAX_IMPORT_MB} MB).")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        detection = importers.preview(upload.name, data)
    except PineOptError as exc:
        services.show_error(exc)
        return
    st.caption(f"Detected layout: {detection.layout} ({detection.reason}). First rows:")
    st.dataframe(detection.preview, hide_index=True)
    mapping = None if detection.confident else _mapping_form(detection)
    c1, c2, c3, c4 = st.columns(4)
    target = importers.Target(
        exchange=c1.text_input("Exchange", placeholder="binance for Binance files"),
        market=c2.selectbox("Market", ["", "spot", "perp"], format_func=lambda m: m or "auto"),
        symbol=c3.text_input("Symbol", placeholder="from the file name, e.g. BTCUSDT"),
        timeframe=c4.selectbox("Timeframe", ["", *TIMEFRAMES], format_func=lambda t: t or "auto"),
        **_step_inputs())
    replace = st.checkbox("Replace the stored bars", key="import_replace",
                          help="Off: an import that would change bars already stored is refused "
                               "and shows the differences.")
    if st.button("Import", type="primary", key="do_import"):
        bar = st.progress(0.0, text="starting")
        try:
            report = importers.import_bytes(db, upload.name, data, target=target, mapping=mapping,
                                            replace=replace,
                                            progress=lambda f, m: bar.progress(f, text=m))
        except importers.ReplaceNeeded as exc:
            services.show_error(exc)
            st.dataframe(exc.changes, hide_index=True)
            return
        except PineOptError as exc:
            services.show_error(exc)
            return
        lines = [f"Imported {upload.name}:", *report.summary.splitlines(), *report.notes]
        done(lines)


def download_panel(db: Path) -> None:
    """Exchange, market, symbol search, timeframe, since; download with progress."""
    c1, c2, c3 = st.columns(3)
    exchange = c1.text_input("Exchange (ccxt id)", value="binance", key="dl_exchange")
    market = c2.radio("Market", ["spot", "perp"], horizontal=True, key="dl_market")
    query = c3.text_input("Search symbols", placeholder="btc", key="dl_query")
    if st.button("Refresh market list", key="dl_refresh"):
        try:
            count = download.refresh_markets(db, exchange, base_url=download.base_url_from_env())
            st.success(f"Cached {count} {exchange} markets.")
        except PineOptError as exc:
            services.show_error(exc)
    found = market_data.list_symbols(db, query=query, exchange=exchange, market=market)
    names = [s.ccxt_symbol or s.symbol for s in found]
    c4, c5, c6 = st.columns(3)
    symbol = c4.selectbox("Symbol", names, key="dl_symbol", placeholder="refresh the list first")
    timeframe = c5.selectbox("Timeframe", TIMEFRAMES, index=TIMEFRAMES.index("1h"), key="dl_tf")
    since = c6.date_input("Since (UTC)", value=None, key="dl_since",
                          help="Empty: continue after the stored data, or the last 30 days.")
    if st.button("Download", type="primary", key="dl_go", disabled=not symbol):
        bar = st.progress(0.0, text="contacting the exchange")
        request = download.DownloadRequest(exchange=exchange, market=market, symbol=symbol,
                                           timeframe=timeframe, since=str(since or ""))
        try:
            result = download.download(db, request, base_url=download.base_url_from_env(),
                                       progress=lambda f, m: bar.progress(f, text=m))
        except PineOptError as exc:
            services.show_error(exc)
            return
        done([result.summary])


def funding_panel(db: Path) -> None:
    """Pick a stored funding history; chart and summary."""
    series = data_export.funding_series(db)
    if not series:
        st.info("No funding rates stored yet: download a perp or import a funding-rate file.")
        return
    labels = {f"{e}/{s}": (e, s) for e, s, *_ in series}
    exchange, symbol = labels[st.selectbox("Perpetual", list(labels), key="fund_pick")]
    rates = market_data.load_funding(db, exchange, symbol)
    stats = data_export.funding_stats(rates)
    c1, c2, c3 = st.columns(3)
    c1.metric("Mean rate per funding", f"{stats['mean_pct']:.4f}%")
    c2.metric("Annualised (3 a day)", f"{stats['annualised_pct']:.1f}%")
    c3.metric("Negative fundings", f"{stats['negative_share']:.1%}")
    st.altair_chart(market_charts.funding_chart(rates), width="stretch")
    if exchange == "sample":
        st.caption(f"{SAMPLE_LABEL}: funding every 8 hours at 00:00, 08:00 and 16:00 UTC.")


def symbol_rules_form(db: Path, d: market_data.Dataset) -> None:
    """Show and edit the dataset symbol's tick size, lot step and min notional."""
    try:
        info = market_data.get_symbol(db, d.exchange, d.market, d.symbol)
    except PineOptError:
        return
    with st.expander(f"Trading rules of {d.symbol} ({info.source or 'unknown source'})"):
        with st.form(key="rules_form"):
            c1, c2, c3 = st.columns(3)
            tick = c1.number_input("Tick size (quote)", value=info.tick_size, min_value=0.0,
                                   format="%g")
            lot = c2.number_input("Lot step (base)", value=info.lot_step, min_value=0.0,
                                  format="%g")
            notional = c3.number_input("Min notional (quote)", value=info.min_notional,
                                       min_value=0.0, format="%g")
            if st.form_submit_button("Save rules"):
                try:
                    data_export.edit_symbol_rules(db, exchange=d.exchange, market=d.market,
                                                  symbol=d.symbol, tick_size=tick, lot_step=lot,
                                                  min_notional=notional)
                    st.success("Saved.")
                except PineOptError as exc:
                    services.show_error(exc)


def _range(d: market_data.Dataset) -> tuple[dt.date, dt.date]:
    first, last = d.first.date(), d.last.date()
    picked = st.date_input("Range (UTC)", value=(max(first, last - dt.timedelta(days=30)), last),
                           min_value=first, max_value=last, key="pv_range")
    return picked if isinstance(picked, tuple) and len(picked) == 2 else (first, last)


def preview_panel(db: Path, sets: list[market_data.Dataset]) -> None:
    """Candlestick + volume chart of a chosen range; quality check and repairs on request."""
    if not sets:
        return
    labels = {f"{d.exchange}/{d.market}/{d.symbol} {d.timeframe}": d for d in sets}
    d = labels[st.selectbox("Dataset", list(labels), key="pv_set")]
    higher = [tf for tf in TIMEFRAMES if market_data.TIMEFRAME_MINUTES[tf]
              >= market_data.TIMEFRAME_MINUTES[d.timeframe]]
    timeframe = st.selectbox("Show as", higher, key="pv_tf")
    start, end = _range(d)
    report = _report_of(d)
    try:
        frame = market_data.load_ohlcv(db, exchange=d.exchange, market=d.market, symbol=d.symbol,
                                       timeframe=timeframe, start=str(start), end=str(end))
    except PineOptError as exc:
        services.show_error(exc)
    else:
        marks = _flagged_bars(report) if report is not None and timeframe == d.timeframe else None
        # The title as its own row: the chart's hover toolbar then floats over this row's empty
        # right end, not over the Range input's calendar icon just above the chart.
        st.markdown(f"**{d.symbol} {timeframe}**")
        st.altair_chart(market_charts.candles_with_volume(frame, marks=marks), width="stretch")
        if marks is not None and len(marks):
            st.caption("Orange dashed lines: bars the quality check flagged (hover for the "
                       "finding; up to 5 examples per check).")
        if len(frame) > market_charts.MAX_CANDLES:
            st.caption(f"Showing the last {market_charts.MAX_CANDLES} of {len(frame)} bars.")
    symbol_rules_form(db, d)
    quality_panel(db, d)


QUALITY = "q_reports"  # dataset label -> its last quality report in this session


def _label(d: market_data.Dataset) -> str:
    return f"{d.exchange}/{d.market}/{d.symbol} {d.timeframe}"


def _report_of(d: market_data.Dataset) -> quality.QualityReport | None:
    return st.session_state.get(QUALITY, {}).get(_label(d))


def _flagged_bars(report: quality.QualityReport) -> pd.DataFrame:
    """time, finding of the example bars in the report (a gap marks the bar before it)."""
    rows = [{"time": pd.Timestamp(example.split(" → ")[0]), "finding": issue.message}
            for issue in report.issues for example in issue.examples]
    return pd.DataFrame(rows, columns=["time", "finding"])


def quality_panel(db: Path, d: market_data.Dataset) -> None:
    """Run the quality report; offer repairs (applied only when the user clicks). The verdict
    shown is always the selected dataset's own."""
    key = {"exchange": d.exchange, "market": d.market, "symbol": d.symbol,
           "timeframe": d.timeframe}
    reports = st.session_state.setdefault(QUALITY, {})
    if st.button("Check quality", key="q_check"):
        reports[_label(d)] = quality.dataset_report(db, **key)
        st.rerun()  # draw the flagged bars on the chart above
    report = reports.get(_label(d))
    if report is None:
        return
    if report.ok:
        st.success(f"Quality: clean ({report.bars} bars).")
        return
    st.warning(f"Quality: {report.badge} — {report.summary}")
    st.dataframe(pd.DataFrame([{"Check": i.kind, "Finding": i.message,
                                "Examples (UTC)": ", ".join(i.examples)} for i in report.issues]),
                 hide_index=True, width="stretch")
    offered = [i.repair for i in report.issues if i.repair]
    fixes = st.multiselect("Repairs to apply", offered, format_func=quality.REPAIRS.get,
                           key="q_fixes")
    if st.button("Repair", key="q_repair", disabled=not fixes):
        result = quality.repair(db, fixes=fixes, **key)
        reports[_label(d)] = result.after
        st.success(f"Repaired: {result.summary}.")
