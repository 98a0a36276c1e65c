"""Streamlit sections of the Results page (one stored run). Frames and charts come from
reports/; this module only lays them out and reads the trade filters.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import streamlit as st

from core.analytics import metrics
from core.runs import admin as run_admin, notes as run_notes, service as runs
from core.analytics.run_bundle import RunBundle
from core.errors import PineOptError
from core.model import RunRecord, RunStatus
from core.settings import Settings
from reports import broker_charts, export, pdf, tables, tearsheet
from ui import backtest_form, result_charts, run_actions, services, url_state

COMPARE_RUNS = "compare_run_ids"
HEADLINE = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown", "win_rate",
            "profit_factor", "total_trades")
CARDS_PER_ROW = 4
TRADE_FORMATS = {
    "P&L (USDT)": st.column_config.NumberColumn(format="%.2f"),
    "P&L %": st.column_config.NumberColumn(format="%.2f%%"),
    "Cum. P&L (USDT)": st.column_config.NumberColumn(format="%.2f"),
    "Run-up (USDT)": st.column_config.NumberColumn(format="%.2f", help="MFE: best open P&L"),
    "Drawdown (USDT)": st.column_config.NumberColumn(format="%.2f", help="MAE: worst open P&L"),
    "Entry price": st.column_config.NumberColumn(format="%.2f"),
    "Exit price": st.column_config.NumberColumn(format="%.2f"),
    "Size (coins)": st.column_config.NumberColumn(format="%.6g"),
    "Entry time": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Exit time": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
}


def bundle(settings: Settings, run_id: int) -> RunBundle:
    """The run's bundle, cached per store, run id and creation time (ui.result_charts)."""
    run = runs.get_run(settings.db_path, run_id)
    return result_charts.bundle(str(settings.home), run.id, run.created_at)


# A hidden tab panel is display:none, so its charts measure 0 px wide and Streamlit re-creates
# every Vega view when the tab shows again (seconds for the Charts tab). Hidden panels are kept
# laid out at full width instead, but take no height and are invisible and inert.
_KEEP_TABS_LAID_OUT = """<style>
[data-testid="stTabs"] [data-testid="stTabPanel"]:not([role="tabpanel"]) {
  display: block !important; visibility: hidden; height: 0; overflow: hidden;
  padding: 0 !important; margin: 0 !important; pointer-events: none;
}
</style>"""


def keep_tabs_laid_out() -> None:
    """Keep hidden tabs' content laid out so switching back to a tab redraws nothing."""
    st.html(_KEEP_TABS_LAID_OUT)


def failed_run(run: RunRecord) -> None:
    """Status, message and log of a run that did not complete."""
    st.error(f"Run {run.id} ended as **{run.status.value}**; it has no results.")
    st.code(run.error or "(no message)", language=None)
    if run.log:
        st.expander("Run log").code(run.log, language=None)


def run_warnings(settings: Settings, b: RunBundle) -> None:
    """Refused orders, trades left open and a Pine run's shorts on spot, one warning each,
    above everything else."""
    for note in run_notes.run_warnings(b.run.config, runs.run_cost_split(settings.db_path,
                                                                          b.run.id), b.metrics):
        st.warning(note, icon="⚠️")


def header(b: RunBundle) -> None:
    """One-line context, headline metric cards and the Compare shortcut."""
    cfg = b.run.config
    deleted = " · strategy deleted since" if b.strategy_deleted else ""
    st.caption(f"{cfg.exchange}/{cfg.market} {cfg.symbol}{run_admin.leverage_text(cfg)} "
               f"{cfg.timeframe} · "
               f"{b.equity.index[0]:%Y-%m-%d} → {b.equity.index[-1]:%Y-%m-%d} UTC · cash "
               f"{cfg.cash_usdt:,.0f} USDT · fees maker {cfg.fee_rates[0] * 100:.3f}% / taker "
               f"{cfg.fee_rates[1] * 100:.3f}%{deleted}")
    values = b.metrics.get("all", {})
    cols = [c for _ in range(0, len(HEADLINE), CARDS_PER_ROW) for c in st.columns(CARDS_PER_ROW)]
    for col, name in zip(cols, HEADLINE, strict=True):
        info = metrics.describe(name)
        col.metric(info.label, metrics.format_value(name, values.get(name)),
                   help=info.definition)


def metric_section(b: RunBundle) -> None:
    """The All / Long / Short performance summary and the ratio table, with definitions."""
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Performance summary** — hover a metric's name for its definition; the "
                    "Glossary page lists them all.")
        st.html(tables.summary_html(b.metrics))
    with right:
        st.markdown("**Ratios and risk**")
        st.html(tables.ratio_html(b.metrics.get("all", {})))


def trade_section(b: RunBundle) -> None:
    """Filters and the sortable trade list."""
    if not len(b.trades):
        st.info("This run made no trades.")
        return
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    sides = c1.multiselect("Side", ["long", "short"], key="trade_sides")
    reasons = c2.multiselect("Exit reason", sorted(b.trades["exit_reason"].unique()),
                             key="trade_reasons")
    outcome = c3.selectbox("Outcome", ["all", "win", "loss"], key="trade_outcome")
    signal = c4.text_input("Signal contains", key="trade_signal")
    shown = tables.filter_trades(b.trades, sides=sides, exit_reasons=reasons, signal=signal,
                                 outcome=outcome)
    still_open = int(b.trades["exit_reason"].eq(metrics.OPEN_EXIT_REASON).sum())
    opened = f" ({still_open} still open at the end: exit reason open)" if still_open else ""
    st.caption(f"{len(shown):,} of {len(b.trades):,} trades{opened} · click a column header to "
               "sort · run-up / drawdown are the best / worst open P&L from stored prices "
               "(MFE / MAE)")
    st.dataframe(tables.trade_list(shown), hide_index=True, width="stretch", height=420,
                 column_config=TRADE_FORMATS)


def config_section(b: RunBundle) -> None:
    """The run's full configuration, timings and log."""
    st.dataframe(tables.config_table(b), hide_index=True, width="stretch", height="content")
    if b.run.log:
        st.markdown("**Run log**")
        st.code(b.run.log, language=None)
    else:
        st.caption("The run wrote no log.")


def _download(label: str, data: Callable[[], bytes], run_id: int, kind: str, *,
              primary: bool = False) -> None:
    # a callable is run only when the button is clicked (no PDF/tearsheet work on page load)
    st.download_button(label, data=data, file_name=export.file_name(run_id, kind),
                       mime=export.mime(kind), on_click="ignore", key=f"dl_{kind}",
                       type="primary" if primary else "secondary", width="stretch")


def download_section(settings: Settings, b: RunBundle) -> None:
    """PDF, HTML, CSV, Parquet and JSON downloads (built on click), and the quantstats tearsheet
    inline (built once on request, then kept with the run)."""
    run_id = b.run.id
    buttons = [("PDF report", lambda: pdf.report_pdf(settings, run_id), "pdf"),
               ("Tearsheet (HTML)", lambda: tearsheet.tearsheet_html(settings, run_id), "html"),
               ("Trades (CSV)", lambda: export.trades_csv(b), "csv"),
               ("Equity (CSV)", lambda: export.equity_csv(b), "equity_csv"),
               ("Equity (Parquet)", lambda: export.equity_parquet(b), "parquet"),
               ("Run (JSON)", lambda: export.run_json(b), "json")]
    for col, (label, make, kind) in zip(st.columns(len(buttons)), buttons, strict=True):
        with col:
            _download(label, make, run_id, kind, primary=kind in ("pdf", "html"))
    st.caption("Files are named from the run id. The PDF and the tearsheet are built on first "
               "use (a few seconds) and then kept with the run.")
    st.subheader("quantstats tearsheet")
    if not tearsheet.is_cached(settings, run_id) and not st.button(
            "Build the tearsheet", help="quantstats HTML, 365-day year, benchmark = buy & hold.",
            key="build_tearsheet"):
        return
    try:
        content = tearsheet.tearsheet_html(settings, run_id)
    except PineOptError as exc:
        services.show_error(exc)
        return
    # A data: URL has an opaque origin: the report cannot reach the app (sandboxed iframe).
    st.iframe("data:text/html;base64," + base64.b64encode(content).decode(), height=900)


def run_actions_row(settings: Settings, run: RunRecord) -> None:
    """Compare (completed runs), re-run with these settings on the Backtest page, delete."""
    cols = st.columns([2, 2, 1, 3])
    if run.status is RunStatus.COMPLETED and cols[0].button(
            "Compare with other runs", icon=":material/compare_arrows:"):
        chosen = list(st.session_state.get(COMPARE_RUNS) or [])
        st.session_state[COMPARE_RUNS] = [run.id, *[r for r in chosen if r != run.id]][:10]
        st.switch_page("app_pages/compare.py")
    if cols[1].button("Re-run with these settings", icon=":material/replay:",
                      help="Open the Backtest page filled with this run's settings.",
                      disabled=run.strategy_id is None):
        backtest_form.request_rerun(run)
        st.switch_page("app_pages/backtest.py")
    if run.status.finished:
        run_actions.delete_popover(settings, [run.id], label="Delete", where=cols[2],
                                   key=f"delete_run_{run.id}")


COMPARE_PICK = "compare_pick"


def _picked_compare() -> None:
    st.session_state[COMPARE_RUNS] = list(st.session_state[COMPARE_PICK])
    url_state.publish("runs", st.session_state[COMPARE_PICK])


def compare_picker(labels: dict[int, str]) -> list[int]:
    """The Compare multiselect: runs from ?runs=3,5 when the URL names new ones, else this
    session's choice, filled up to two with the newest; the URL follows the choice."""
    from reports import compare

    from_url = url_state.incoming_ints("runs")
    wanted = from_url if from_url is not None else st.session_state.get(COMPARE_RUNS) or []
    wanted = [r for r in dict.fromkeys(wanted) if r in labels][:compare.MAX_RUNS]
    if len(wanted) < compare.MIN_RUNS:  # coming from one run: add the newest other runs
        wanted = (wanted + [r for r in labels if r not in wanted])[:compare.MIN_RUNS]
    current = st.session_state.get(COMPARE_PICK)
    if from_url is not None or current is None or any(r not in labels for r in current):
        st.session_state[COMPARE_PICK] = wanted
    picked = st.multiselect("Runs (2 to 10)", list(labels), format_func=labels.get,
                            max_selections=compare.MAX_RUNS, key=COMPARE_PICK,
                            on_change=_picked_compare)
    st.session_state[COMPARE_RUNS] = picked
    url_state.publish("runs", picked)
    return picked


def run_options(records: list[RunRecord]) -> dict[int, str]:
    """Run id -> selector label (with the parameters that differ from the defaults)."""
    return run_actions.run_labels(services.settings().db_path, records)


COST_LABELS = {"price_pnl": "Price P&L", "fees_paid": "Fees paid", "funding_pnl": "Funding P&L",
               "slippage_cost": "Slippage cost", "liquidations": "Liquidations"}


def cost_risk_section(settings: Settings, b: RunBundle) -> None:
    """P&L split (price, fees, funding, slippage), margin and liquidation distance, risk events."""
    split = runs.run_cost_split(settings.db_path, b.run.id)
    if split:
        st.markdown("**Where the P&L came from** (USDT; fees and slippage are costs)")
        cols = st.columns(len(COST_LABELS))
        for col, (key, label) in zip(cols, COST_LABELS.items(), strict=True):
            value = split.get(key)
            col.metric(label, "—" if value is None else
                       (f"{value:,.0f}" if key == "liquidations" else f"{value:,.2f}"))
        rejected = {k.removeprefix("orders_rejected_").replace("_", " "): int(v)
                    for k, v in split.items() if k.startswith("orders_rejected_") and v}
        if rejected:
            st.caption("Orders refused (not resized): "
                       + ", ".join(f"{k}: {v}" for k, v in rejected.items()))
    margin = runs.run_margin_series(settings.db_path, b.run.id)
    if len(margin):
        st.markdown("**Margin used and distance to liquidation**")
        st.altair_chart(broker_charts.margin_chart(margin), width="stretch")
    events = runs.run_risk_events(settings.db_path, b.run.id)
    st.markdown("**Risk rules that fired** (liquidations included)")
    if len(events):
        st.dataframe(events.rename(columns={"n": "#", "ts": "Time (UTC)", "rule": "Rule",
                                            "detail": "Detail"}), hide_index=True,
                     width="stretch")
    else:
        st.caption("None: no stop, halt, limit or liquidation fired in this run.")
