"""Warnings a finished run carries, so nothing the broker refused or left open is silent.

From a run's stored cost split (core.runs.broker_store.cost_totals): one sentence per rejection
reason, naming the count, the cause and the fix, and one for trades left open at the end.
Shown at the top of Results, printed by ``pineopt backtest`` and included in its JSON. One for a
Pine strategy's short trades on spot data without margin (spot_short_note: the Pine runtime
sells short on any symbol, as TradingView's simulator; a Python strategy's short entries there
are refused and counted). And one for a run whose stored bars cover less than its requested
dates (range_note: the CLI's; the Results header shows the dates the run covered).
"""

from __future__ import annotations

import pandas as pd

from core.model import TIMEFRAME_MINUTES, BacktestConfig

# reason -> (what was refused, singular; cause and fix)
REFUSALS = {
    "short_not_allowed": ("short entry", "spot market without margin — enable margin (Backtest "
                          "page: Margin; CLI: --spot-margin) or use a perp"),
    "insufficient_margin": ("order", "not enough cash or margin for their size — order smaller "
                            "sizes, add capital or raise leverage"),
    "below_lot_step": ("order", "smaller than the symbol's lot step — order larger sizes or "
                       "switch off fractional coins"),
    "below_min_notional": ("order", "below the symbol's minimum notional — order larger sizes "
                           "or add capital"),
    "max_position_size": ("order", "above the max position risk rule — raise or clear Max "
                          "position"),
    "risk_halt": ("order", "placed while a risk rule halted trading (max drawdown halt or max "
                  "daily loss) — loosen or clear that rule"),
}


def _plural(count: int, noun: str) -> str:
    """'1 order', '28 orders', '2 short entries'."""
    many = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count:,} {noun if count == 1 else many}"


def warnings_for(split: dict[str, float]) -> list[str]:
    """Human warnings for a run's cost split: refused orders by reason, open trades at the end."""
    out = []
    for reason, (what, why) in REFUSALS.items():
        count = int(split.get(f"orders_rejected_{reason}", 0) or 0)
        if count:
            verb = "was" if count == 1 else "were"
            out.append(f"{_plural(count, what)} {verb} refused: {why}.")
    held = int(split.get("open_trades_at_end", 0) or 0)
    if held:
        verb = "was" if held == 1 else "were"
        its = "its" if held == 1 else "their"
        out.append(f"{_plural(held, 'trade')} {verb} still open at the end and left open "
                   "(backtesting.py semantics, finalize_trades=False): not in the trade list or "
                   f"trade statistics; the final equity includes {its} unrealised P&L.")
    return out


def run_warnings(config: BacktestConfig, split: dict[str, float],
                 by_kind: dict[str, dict[str, float]]) -> list[str]:
    """Every warning of a finished run (the Results banners, `pineopt backtest`'s lines): its
    refused orders and open trades (``split``: the stored cost split) and a Pine run's shorts on
    spot data (``by_kind``: its metrics by side, whose Short column counts them)."""
    side = by_kind.get("short", {})
    shorts = int(side.get("total_closed_trades", 0) + side.get("total_open_trades", 0))
    short_note = spot_short_note(config, shorts)
    return warnings_for(split) + ([short_note] if short_note else [])


def spot_short_note(config: BacktestConfig, shorts: int) -> str | None:
    """A warning for ``shorts`` short trades on spot data without margin: only a Pine run has
    them (its runtime lets any symbol be sold short, as TradingView does), and a spot account
    could not place them. None otherwise."""
    if not shorts or config.market != "spot" or config.margin.spot_margin:
        return None
    verb = "was" if shorts == 1 else "were"
    return (f"{_plural(shorts, 'short trade')} {verb} taken on spot data without margin: a Pine "
            "strategy sells short on any symbol, as on TradingView, but a spot account cannot "
            "sell what it does not hold. Run it on perp data (Backtest page: Data; CLI: "
            "--market perp) for shorts an exchange would take, with their funding.")


def range_note(config: BacktestConfig, first: pd.Timestamp, last: pd.Timestamp) -> str | None:
    """A warning when the bars a run used (``first`` to ``last``) cover less than its requested
    dates: a bar or more missing before ``config.start``'s first bar, or a whole bar after the
    last one before ``config.end``'s day ends. None when they cover the request."""
    from core.market.catalogue import parse_range

    start, end = parse_range(config.start, config.end)
    step = pd.Timedelta(minutes=TIMEFRAME_MINUTES[config.timeframe])
    if not ((start is not None and first - start >= step)
            or (end is not None and end - last >= 2 * step)):
        return None
    return (f"The stored {config.symbol} {config.timeframe} bars cover only {first:%Y-%m-%d %H:%M}"
            f" to {last:%Y-%m-%d %H:%M} UTC of the requested {config.start or 'start'} to "
            f"{config.end or 'end'}: the run used those bars (the Data page imports or fetches "
            "more; `pineopt data list` shows what is stored).")
