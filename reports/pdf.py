"""PDF report of a run (reportlab; charts drawn with matplotlib's Agg canvas to PNG).

Pages: a cover with the run's config and headline figures; the performance summary with
All / Long / Short and the ratio table; equity vs buy and hold, drawdown and the monthly heatmap;
the trade summary with the best and worst trades. Every user string (strategy name, tags,
parameters) is escaped before reportlab's mini-markup sees it. Cached in the artifacts table.
"""

from __future__ import annotations

import html
import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from core.analytics import run_bundle as analytics, metrics, trade_stats
from core.analytics.run_bundle import RunBundle
from core.settings import Settings
from reports import artifacts, pdf_charts, tables

ARTIFACT_KIND = "report_pdf"
HEADLINE = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown",
            "calmar_ratio", "win_rate", "profit_factor", "total_trades", "buy_hold_return")
TOP_N = 5
GRID = TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                   ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                   ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f7")]),
                   ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8c8c8")),
                   ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                   ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)])


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {"title": base["Title"], "h2": base["Heading2"], "body": base["BodyText"],
            "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=8, leading=10),
            "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=7.5, leading=9,
                                    textColor=colors.HexColor("#555555"))}


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(html.escape(str(text)), style)


def _table(rows: list[list[Any]], widths: list[float], style: ParagraphStyle) -> Table:
    cells = [[_p(c, style) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def _cover(bundle: RunBundle, st: dict[str, ParagraphStyle]) -> list[Any]:
    run = bundle.run
    title = f"{run.strategy_name} v{run.strategy_version} · run {run.id}"
    config = [["Field", "Value"], *[[k, v] for k, v in tables.config_rows(bundle)]]
    values = bundle.metrics.get("all", {})
    head = [["Metric", "Value"], *[[metrics.describe(n).label, metrics.format_value(
        n, values.get(n))] for n in HEADLINE]]
    return [_p("PineOpt backtest report", st["h2"]), _p(title, st["title"]),
            _p(f"{run.config.symbol} {run.config.timeframe} · times in UTC · money in USDT",
               st["body"]), Spacer(1, 4 * mm), _table(config, [38 * mm, 132 * mm], st["cell"]),
            Spacer(1, 5 * mm), _p("Headline figures", st["h2"]),
            _table(head, [60 * mm, 40 * mm], st["cell"])]


def _metric_pages(bundle: RunBundle, st: dict[str, ParagraphStyle]) -> list[Any]:
    summary = tables.summary_table(bundle.metrics)
    rows = [["Metric", "All", "Long", "Short"],
            *summary[["Metric", "All", "Long", "Short"]].to_numpy().tolist()]
    ratio = tables.ratio_table(bundle.metrics.get("all", {}))
    ratio_rows = [["Metric", "Value", "Definition"], *ratio.to_numpy().tolist()]
    return [PageBreak(), _p("Performance summary (TradingView's rows)", st["h2"]),
            _table(rows, [62 * mm, 36 * mm, 36 * mm, 36 * mm], st["cell"]),
            Spacer(1, 4 * mm), _p("Ratios and risk (definitions: the Glossary page)", st["h2"]),
            _table(ratio_rows, [40 * mm, 26 * mm, 104 * mm], st["small"])]


def _chart_page(bundle: RunBundle, st: dict[str, ParagraphStyle]) -> list[Any]:
    width = 176 * mm
    out: list[Any] = [PageBreak(), _p("Equity, drawdown and monthly returns", st["h2"])]
    for png, ratio in pdf_charts.render_all(bundle):
        out += [Image(io.BytesIO(png), width=width, height=width * ratio), Spacer(1, 2 * mm)]
    return out


def _trade_rows(frame: Any) -> list[list[Any]]:
    rows = [["#", "Side", "Signal", "Entry (UTC)", "Exit (UTC)", "P&L (USDT)", "P&L %", "Bars"]]
    for t in frame.itertuples(index=False):
        rows.append([t.n, t.side, t.tag or "—", f"{t.entry_time:%Y-%m-%d %H:%M}",
                     f"{t.exit_time:%Y-%m-%d %H:%M}", f"{t.pnl:,.2f}", f"{t.return_pct:.2%}",
                     t.bars])
    return rows


def _trade_page(bundle: RunBundle, st: dict[str, ParagraphStyle]) -> list[Any]:
    trades = bundle.trades
    values = bundle.metrics.get("all", {})
    names = ("total_closed_trades", "total_open_trades", "percent_profitable", "avg_trade",
             "largest_winning_trade", "largest_losing_trade", "avg_bars_in_trades")
    summary = [["Trade summary", "Value"], *[[trade_stats.describe(n).label,
                                              trade_stats.format_value(n, values.get(n))]
                                             for n in names]]
    widths = [10 * mm, 14 * mm, 30 * mm, 28 * mm, 28 * mm, 24 * mm, 18 * mm, 14 * mm]
    out: list[Any] = [PageBreak(), _p("Trades", st["h2"]),
                      _table(summary, [70 * mm, 40 * mm], st["cell"])]
    if not len(trades):
        return [*out, _p("This run made no trades.", st["body"])]
    for heading, frame in ((f"Top {TOP_N} trades by P&L", trades.nlargest(TOP_N, "pnl")),
                           (f"Worst {TOP_N} trades by P&L", trades.nsmallest(TOP_N, "pnl"))):
        out += [Spacer(1, 4 * mm), _p(heading, st["h2"]),
                _table(_trade_rows(frame), widths, st["cell"])]
    return out


def build_pdf(bundle: RunBundle) -> bytes:
    """The whole report as PDF bytes."""
    st = _styles()
    buffer = io.BytesIO()
    run = bundle.run
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=17 * mm, rightMargin=17 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"PineOpt run {run.id}", author="PineOpt")
    story = [*_cover(bundle, st), *_metric_pages(bundle, st), *_chart_page(bundle, st),
             *_trade_page(bundle, st)]
    footer = f"PineOpt · run {run.id} · {run.config.symbol} {run.config.timeframe}"

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(17 * mm, 8 * mm, footer)
        canvas.drawRightString(A4[0] - 17 * mm, 8 * mm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def report_pdf(settings: Settings, run_id: int) -> bytes:
    """The run's PDF, from the cache or built and cached now. Raises NotFoundError."""
    return artifacts.get_or_build(settings.db_path, run_id, ARTIFACT_KIND,
                                  lambda: build_pdf(analytics.load(settings, run_id)))
