"""Display frames of a run: the metric tables, the TradingView-style trade list and the config.

Labels and units come from core.analytics.metrics / core.analytics.trade_stats; values are formatted text so every
front end (page, PDF, CLI) shows the same thing. No streamlit here.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from core.analytics import metrics, trade_stats
from core.analytics.run_bundle import RunBundle

SIDE_COLUMNS = {"all": "All", "long": "Long", "short": "Short"}
TRADE_COLUMNS = {"n": "#", "side": "Side", "tag": "Signal", "exit_reason": "Exit reason",
                 "entry_time": "Entry time", "exit_time": "Exit time",
                 "entry_price": "Entry price", "exit_price": "Exit price", "size": "Size (coins)",
                 "pnl": "P&L (USDT)", "return_pct": "P&L %", "cum_pnl": "Cum. P&L (USDT)",
                 "mfe_usdt": "Run-up (USDT)", "mae_usdt": "Drawdown (USDT)", "bars": "Bars"}
# The broker's P&L split, shown when the store has it (runs made before it lack the columns).
SPLIT_COLUMNS = {"fees": "Fees (USDT)", "funding": "Funding (USDT)",
                 "slippage_cost": "Slippage (USDT)"}


def summary_table(by_kind: dict[str, dict[str, float]]) -> pd.DataFrame:
    """TradingView's Performance Summary: Metric, All, Long, Short (text), Definition."""
    rows = []
    for name in trade_stats.SUMMARY_ROWS:
        info = trade_stats.describe(name)
        row: dict[str, Any] = {"Metric": info.label}
        for kind, column in SIDE_COLUMNS.items():
            row[column] = trade_stats.format_value(name, by_kind.get(kind, {}).get(name))
        row["Definition"] = info.definition
        rows.append(row)
    return pd.DataFrame(rows)


SUMMARY_CSS = (
    "<style>.po-sum{border-collapse:collapse;font-size:0.86rem;width:100%}"
    ".po-sum th,.po-sum td{padding:3px 10px;border-bottom:1px solid rgba(128,128,128,.25);"
    "vertical-align:top}"
    ".po-sum td.v{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".po-sum th{text-align:right}.po-sum th:first-child,.po-sum th.l{text-align:left}"
    ".po-sum td.d{color:rgba(90,90,90,1);font-size:0.82rem}"
    ".po-sum abbr{text-decoration:underline dotted rgba(128,128,128,.7);cursor:help}</style>")


def _label(text: str, definition: str) -> str:
    return (f'<abbr title="{html.escape(definition, quote=True)}">{html.escape(text)}</abbr>')


def _html_table(head: list[str], rows: list[str]) -> str:
    cells = "".join(f'<th class="{"l" if h in ("Metric", "Name", "Unit", "Definition") else ""}">'
                    f"{html.escape(h)}</th>" for h in head)
    return (f'{SUMMARY_CSS}<table class="po-sum"><thead><tr>{cells}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def summary_html(by_kind: dict[str, dict[str, float]]) -> str:
    """The performance summary as an HTML table whose labels show their definition on hover
    (title attributes). Every string is escaped; no script."""
    rows = []
    for row in summary_table(by_kind).itertuples(index=False):
        values = "".join(f'<td class="v">{html.escape(getattr(row, c))}</td>'
                         for c in SIDE_COLUMNS.values())
        rows.append(f"<tr><td>{_label(row.Metric, row.Definition)}</td>{values}</tr>")
    return _html_table(["Metric", *SIDE_COLUMNS.values()], rows)


def ratio_html(values: dict[str, float]) -> str:
    """The seed metrics (ratios and risk) as an HTML table: label with its definition on hover,
    and the value."""
    rows = [f"<tr><td>{_label(r.Metric, r.Definition)}</td><td class=\"v\">"
            f"{html.escape(r.Value)}</td></tr>"
            for r in ratio_table(values).itertuples(index=False)]
    return _html_table(["Metric", "Value"], rows)


def glossary_html(query: str = "") -> str:
    """glossary_table(query) as a wrapped, readable HTML table."""
    rows = [f"<tr><td>{html.escape(r.Metric)}</td><td><code>{html.escape(r.Name)}</code></td>"
            f"<td>{html.escape(r.Unit)}</td><td class=\"d\">{html.escape(r.Definition)}</td></tr>"
            for r in glossary_table(query).itertuples(index=False)]
    return _html_table(["Metric", "Name", "Unit", "Definition"], rows)


def ratio_table(values: dict[str, float]) -> pd.DataFrame:
    """The seed metrics (core.analytics.metrics.METRICS): Metric, Value, Definition."""
    return pd.DataFrame([{"Metric": metrics.describe(n).label,
                          "Value": metrics.format_value(n, values.get(n)),
                          "Definition": metrics.describe(n).definition}
                         for n in metrics.METRICS])


def trade_list(trades: pd.DataFrame) -> pd.DataFrame:
    """Enriched trades with TradingView's columns (numbers stay numbers, for sorting)."""
    names = {**TRADE_COLUMNS, **{k: v for k, v in SPLIT_COLUMNS.items() if k in trades}}
    frame = trades.loc[:, list(names)].rename(columns=names)
    frame["Size (coins)"] = frame["Size (coins)"].abs()
    frame["P&L %"] = frame["P&L %"] * 100.0
    return frame.reset_index(drop=True)


def filter_trades(trades: pd.DataFrame, *, sides: list[str] | None = None,
                  exit_reasons: list[str] | None = None, signal: str = "",
                  outcome: str = "all") -> pd.DataFrame:
    """Trades matching every given filter: sides, exit reasons, a signal substring (case
    insensitive) and outcome ('all', 'win', 'loss')."""
    keep = pd.Series(True, index=trades.index)
    if sides:
        keep &= trades["side"].isin(sides)
    if exit_reasons:
        keep &= trades["exit_reason"].isin(exit_reasons)
    if signal.strip():
        keep &= trades["tag"].str.contains(signal.strip(), case=False, regex=False)
    if outcome in ("win", "loss"):
        keep &= trades["pnl"] > 0 if outcome == "win" else trades["pnl"] < 0
    return trades[keep]


def _fmt_time(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime(
        "%Y-%m-%d %H:%M:%S")


BLOCKS = (("costs", "Fees and slippage"), ("margin", "Margin and funding"),
          ("risk", "Risk rules"), ("fractional", "Fractional coins"))


def _settings_text(block: Any) -> str:
    if isinstance(block, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(block.items())
                         if v not in (None, {}, 0, 0.0, ""))  # unset or off
    return "" if block in (None, False) else str(block)


def config_rows(bundle: RunBundle) -> list[tuple[str, str]]:
    """(field, value) pairs of everything that defined and timed the run."""
    run, cfg = bundle.run, bundle.run.config
    strategy = f"{run.strategy_name} (id {run.strategy_id}) version {run.strategy_version}"
    if bundle.strategy_deleted:
        strategy += " — this strategy has since been deleted; the run keeps its version"
    data = f"{cfg.exchange}/{cfg.market} {cfg.symbol} {cfg.timeframe}, {len(bundle.equity):,} bars"
    span = f"{_fmt_time(bundle.equity.index[0])} → {_fmt_time(bundle.equity.index[-1])} UTC"
    maker, taker = cfg.fee_rates
    costs = f"fees: maker {maker * 100:.4f}%, taker {taker * 100:.4f}% of notional per fill"
    blocks = cfg.to_dict()
    block_rows = [(title, _settings_text(blocks.get(key))) for key, title in BLOCKS
                  if _settings_text(blocks.get(key))]
    extra = _settings_text(cfg.extra) or "none"
    duration = "—" if run.duration_s is None else f"{run.duration_s:.2f} s"
    sha_note = " (the stored data has changed since)" if bundle.data_changed else ""
    return [("Run", f"{run.id} · status {run.status.value}"), ("Strategy", strategy),
            ("Data", data), ("Period", span), ("Requested range",
                                                f"{cfg.start or 'start'} → {cfg.end or 'end'}"),
            ("Data sha256", run.data_sha + sha_note), ("Run hash", run.run_hash),
            ("Parameters", ", ".join(f"{k}={v}" for k, v in sorted(cfg.params.items()))
             or "strategy defaults"),
            ("Initial capital", f"{cfg.cash_usdt:,.2f} USDT"), ("Costs", costs), *block_rows,
            ("Other settings (extra)", extra), ("Created", _fmt_time(run.created_at) + " UTC"),
            ("Started", _fmt_time(run.started_at) + " UTC"),
            ("Finished", _fmt_time(run.finished_at) + " UTC"), ("Duration", duration)]


def config_table(bundle: RunBundle) -> pd.DataFrame:
    """config_rows as a two-column frame (Field, Value)."""
    return pd.DataFrame(config_rows(bundle), columns=["Field", "Value"])


UNIT_NAMES = {"pct": "%", "ratio": "ratio", "count": "count", "days": "days", "usdt": "USDT",
              "bars": "bars", "coins": "coins"}


def glossary_table(query: str = "") -> pd.DataFrame:
    """Metric, Name (id), Unit, Definition for every metric; rows whose text contains every word
    of ``query`` (case insensitive)."""
    rows = [{"Metric": i.label, "Name": i.name, "Unit": UNIT_NAMES.get(i.unit, i.unit),
             "Definition": i.definition} for i in trade_stats.glossary()]
    words = query.lower().split()
    return pd.DataFrame([r for r in rows if all(w in " ".join(r.values()).lower()
                                                 for w in words)],
                        columns=["Metric", "Name", "Unit", "Definition"])
