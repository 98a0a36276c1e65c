"""Catalogue helpers for the CLI and the Data page: finding a stored dataset from a short
description, editing a symbol's trading rules, funding summaries, exporting bars to CSV/Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core import inert
from core.market import catalogue as market_data
from core.errors import DataError
from core.market.resample import check_timeframe

EXPORT_SUFFIXES = (".csv", ".parquet")


def find_dataset(db: Path, *, symbol: str, timeframe: str = "", exchange: str = "",
                 market: str = "") -> market_data.Dataset:
    """The one stored dataset matching the given fields (symbol as BTCUSDT or BTC/USDT:USDT).

    With no timeframe, or one that is not stored, the finest stored timeframe is returned.
    Raises DataError when nothing matches or several do (naming them and the option to add).
    """
    wanted, _base, _quote, hint = market_data.split_symbol(symbol)
    market = market or hint
    sets = [d for d in market_data.list_datasets(db) if d.symbol == wanted
            and (not exchange or d.exchange == exchange) and (not market or d.market == market)]
    if not sets:
        raise DataError(f"No stored data for {symbol}"
                        + (f" on {exchange}" if exchange else "") + (f" ({market})" if market
                                                                     else "")
                        + "; see `pineopt data list`.")
    series = sorted({(d.exchange, d.market) for d in sets})
    if len(series) > 1:
        raise DataError(_ambiguous(wanted, series))
    exact = [d for d in sets if d.timeframe == timeframe]
    if exact:
        return exact[0]
    return min(sets, key=lambda d: market_data.TIMEFRAME_MINUTES[d.timeframe])


def _ambiguous(symbol: str, series: list[tuple[str, str]]) -> str:
    """Which option tells the stored sources of ``symbol`` apart, with each choice spelled out."""
    one_exchange = len({e for e, _ in series}) == 1
    one_market = len({m for _, m in series}) == 1
    if one_exchange:
        choices = [f"--market {m}" for _, m in series]
    elif one_market:
        choices = [f"--exchange {e}" for e, _ in series]
    else:
        choices = [f"--exchange {e} --market {m}" for e, m in series]
    flag = "--market" if one_exchange else "--exchange" if one_market else "--exchange and --market"
    return (f"{symbol} is stored for several {'markets' if one_exchange else 'sources'} "
            f"({', '.join(f'{e}/{m}' for e, m in series)}); add {flag} to choose one: "
            f"{' or '.join(choices)}.")


def export_ohlcv(db: Path, path: Path, *, exchange: str, market: str, symbol: str,
                 timeframe: str, start: str = "", end: str = "") -> int:
    """Write bars (resampled if needed) to ``path`` (.csv or .parquet); returns rows written.

    Columns: time (UTC, ISO text in CSV), open, high, low, close, volume.
    Raises DataError for an unknown suffix or no data in the range.
    """
    check_timeframe(timeframe)
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise DataError(f"Cannot export to {path}: use a .csv or .parquet file name.")
    frame = market_data.load_ohlcv(db, exchange=exchange, market=market, symbol=symbol,
                                   timeframe=timeframe, start=start, end=end)
    out = frame.rename(columns=str.lower).rename_axis("time").reset_index()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        text = out.assign(time=pd.DatetimeIndex(out["time"]).strftime("%Y-%m-%dT%H:%M:%SZ"))
        Path(path).write_bytes(inert.csv_bytes(text))
    else:
        out.to_parquet(path, index=False)
    return len(out)


def funding_series(db: Path) -> list[tuple[str, str, int, str, str]]:
    """Stored funding histories: (exchange, symbol, rows, first, last), sorted."""
    from core import store

    with store.connect(db) as con:
        rows = con.execute("SELECT exchange, symbol, count(*), min(ts), max(ts) FROM "
                           "funding_rates GROUP BY ALL ORDER BY 1, 2").fetchall()
    return [(r[0], r[1], int(r[2]), str(r[3]), str(r[4])) for r in rows]


def funding_stats(rates: pd.Series) -> dict[str, float]:
    """Mean rate (% per funding), annualised (% per year at 3 fundings a day), share negative."""
    if rates.empty:
        return {"mean_pct": 0.0, "annualised_pct": 0.0, "negative_share": 0.0}
    mean = float(rates.mean())
    return {"mean_pct": mean * 100, "annualised_pct": mean * 3 * 365 * 100,
            "negative_share": float((rates < 0).mean())}


def edit_symbol_rules(db: Path, *, exchange: str, market: str, symbol: str, tick_size: float,
                      lot_step: float, min_notional: float) -> market_data.SymbolInfo:
    """Set a catalogued symbol's tick size, lot step (base coins) and min notional (quote).

    Zero means "no constraint". Raises DataError for a negative value or an unknown symbol.
    """
    values = {"tick size": tick_size, "lot step": lot_step, "min notional": min_notional}
    bad = [f"{k} {v}" for k, v in values.items() if not v >= 0]
    if bad:
        raise DataError(f"{', '.join(bad)} must be zero or positive.")
    from core import store

    current = market_data.get_symbol(db, exchange, market, symbol)
    with store.connect(db) as con:
        con.execute("UPDATE symbols SET tick_size = ?, lot_step = ?, min_notional = ?, "
                    "source = CASE WHEN source LIKE '%edited' THEN source ELSE source || "
                    "'+edited' END, updated_at = now() AT TIME ZONE 'UTC' WHERE exchange = ? "
                    "AND market = ? AND symbol = ?", [tick_size, lot_step, min_notional,
                                                      current.exchange, current.market,
                                                      current.symbol])
    return market_data.get_symbol(db, exchange, market, symbol)
