"""Downloading OHLCV and funding rates with ccxt: incremental, paginated, retried, resumable.

A download continues from the last stored bar (or from ``since``), asks for pages of up to
``page_limit`` bars, lets ccxt throttle to the exchange's rate limit, retries network errors and
429 replies with a growing pause, and commits each page together with its resume point, so an
interrupted download loses nothing and the next call carries on where it stopped. Only closed
bars are stored. An unreachable exchange changes nothing and says so.
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ccxt
import pandas as pd

from core.market import catalogue as market_data
from core import store
from core.errors import DataError
from core.model import TIMEFRAME_MINUTES
from core.market.resample import check_timeframe

Progress = Callable[[float, str], None]
DEFAULT_DAYS = 30  # like freqtrade's download-data: a month when no start is given
_HOSTS = ("https://api.binance.com", "https://fapi.binance.com", "https://dapi.binance.com")


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadRequest:
    """What to fetch. symbol: "BTC/USDT:USDT", "BTC/USDT" or the exchange id "BTCUSDT".

    since/until: UTC dates or times ("" = continue from the stored data / now).
    """

    exchange: str = "binance"
    market: str = "spot"
    symbol: str
    timeframe: str = "1h"
    since: str = ""
    until: str = ""
    funding: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Attempts per page and the pause before retry n (backoff_s * 2**n, capped at max_s)."""

    attempts: int = 5
    backoff_s: float = 1.0
    max_s: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult:
    """What a download stored: new bars and funding rows, pages fetched, coverage after."""

    exchange: str
    market: str
    symbol: str
    ccxt_symbol: str
    timeframe: str
    new_bars: int
    pages: int
    new_funding: int
    first: str
    last: str
    resumed: bool

    @property
    def summary(self) -> str:
        """One line for the UI and the CLI."""
        funding = f", {self.new_funding} funding rates" if self.market == "perp" else ""
        return (f"{self.exchange}/{self.market}/{self.symbol} {self.timeframe}: "
                f"{self.new_bars} new bars in {self.pages} pages{funding}; "
                f"stored {self.first} to {self.last} UTC"
                + (" (resumed)" if self.resumed else ""))


def _noop(_fraction: float, _message: str) -> None:
    return None


def base_url_from_env() -> str:
    """PINEOPT_CCXT_BASE_URL: a mirror or local test server replacing the exchange's API host."""
    return os.environ.get("PINEOPT_CCXT_BASE_URL", "").strip()


def make_exchange(exchange_id: str, market: str, *, base_url: str = "",
                  timeout_ms: int = 15_000) -> ccxt.Exchange:
    """A ccxt client for spot or perp (linear swap); ``base_url`` replaces the API host.

    base_url points Binance at a mirror or a local test server. Raises DataError for an
    exchange ccxt does not know.
    """
    market_data.check_market(market)
    if exchange_id not in ccxt.exchanges:
        near = difflib.get_close_matches(exchange_id, ccxt.exchanges, n=3)
        raise DataError(f"ccxt does not know the exchange {exchange_id!r}"
                        + (f"; did you mean {', '.join(near)}?" if near else "."))
    client = getattr(ccxt, exchange_id)({
        "enableRateLimit": True, "timeout": timeout_ms,
        "options": {"defaultType": "swap" if market == "perp" else "spot",
                    "fetchMarkets": {"types": ["spot", "linear"]}}})
    if base_url:
        for key, url in list(client.urls.get("api", {}).items()):
            if isinstance(url, str):
                for host in _HOSTS:
                    url = url.replace(host, base_url.rstrip("/"))
                client.urls["api"][key] = url
    return client


def _unreachable(client: ccxt.Exchange, exc: Exception) -> DataError:
    return DataError(f"Exchange unreachable: {client.id} did not answer ({type(exc).__name__}). "
                     "Nothing was changed. Check the network connection (or a proxy) and try "
                     "again, or import files instead.")


def load_markets(client: ccxt.Exchange) -> dict:
    """The exchange's markets; raises DataError "Exchange unreachable" when offline."""
    try:
        return client.load_markets()
    except ccxt.NetworkError as exc:
        raise _unreachable(client, exc) from None
    except ccxt.ExchangeError as exc:
        raise DataError(f"{client.id} refused the market list: {exc}") from None


def _step(value: float | str | None, client: ccxt.Exchange) -> float:
    if value is None:
        return 0.0
    if client.precisionMode == ccxt.DECIMAL_PLACES:
        return 10.0 ** -float(value)
    return float(value)


def symbol_info(client: ccxt.Exchange, market: dict) -> market_data.SymbolInfo:
    """Catalogue entry of one ccxt market (tick size, lot step, min notional, base/quote)."""
    cost_min = ((market.get("limits") or {}).get("cost") or {}).get("min")
    return market_data.SymbolInfo(
        exchange=client.id, market="perp" if market.get("swap") else "spot",
        symbol=str(market["id"]), base=market["base"], quote=market["quote"],
        tick_size=_step(market["precision"].get("price"), client),
        lot_step=_step(market["precision"].get("amount"), client),
        min_notional=float(cost_min or 0.0), source="markets", ccxt_symbol=market["symbol"])


def refresh_markets(db: Path, exchange_id: str = "binance", *, base_url: str = "") -> int:
    """Cache the exchange's spot and linear-perpetual markets in the symbols catalogue.

    Returns how many were stored. Raises DataError when the exchange is unreachable.
    """
    client = make_exchange(exchange_id, "spot", base_url=base_url)
    markets = load_markets(client)
    wanted = [m for m in markets.values()
              if m.get("spot") or (m.get("swap") and m.get("linear"))]
    with store.transaction(db) as con:
        for m in wanted:
            market_data.upsert_symbol(con, symbol_info(client, m))
    return len(wanted)


def resolve_symbol(markets: dict, text: str, market: str) -> dict:
    """The ccxt market for "BTC/USDT:USDT", "BTC/USDT" or "BTCUSDT" of the given market type."""
    swap = market == "perp"
    if text in markets and bool(markets[text].get("swap")) == swap:
        return markets[text]
    wanted = text.replace("/", "").split(":")[0].upper()
    for m in markets.values():
        if str(m["id"]).upper() == wanted and bool(m.get("swap")) == swap and (
                m.get("linear") or not swap):
            return m
    names = [m["symbol"] for m in markets.values() if bool(m.get("swap")) == swap]
    near = difflib.get_close_matches(text.upper(), names, n=3, cutoff=0.5)
    raise DataError(f"No {market} market {text!r} on this exchange"
                    + (f"; did you mean {', '.join(near)}?" if near else "; search the list "
                       "on the Data page."))


def _retry(call: Callable[[], list], policy: RetryPolicy, what: str) -> list:
    for attempt in range(policy.attempts):
        try:
            return call()
        except ccxt.NetworkError as exc:  # includes 429 (RateLimitExceeded/DDoSProtection)
            last = exc
            if attempt + 1 < policy.attempts:
                time.sleep(min(policy.max_s, policy.backoff_s * 2**attempt))
    raise _Interrupted(f"{what} failed {policy.attempts} times ({type(last).__name__})")


class _Interrupted(Exception):
    """A page could not be fetched after every retry."""


def _ms(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).value // 1_000_000)


def _from_ms(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms")


def _stored_span(db: Path, key: list[str]) -> tuple[int | None, int | None]:
    with store.connect(db) as con:
        row = con.execute("SELECT min(ts), max(ts) FROM ohlcv WHERE exchange = ? AND market = ? "
                          "AND symbol = ? AND timeframe = ?", key).fetchall()[0]
    return (None, None) if row[0] is None else (_ms(row[0]), _ms(row[1]))


def _resume_point(db: Path, key: list[str]) -> int | None:
    with store.connect(db) as con:
        rows = con.execute("SELECT next_since FROM download_state WHERE exchange = ? AND "
                           "market = ? AND symbol = ? AND timeframe = ? AND status = 'interrupted'",
                           key).fetchall()
    return _ms(rows[0][0]) if rows and rows[0][0] is not None else None


def _set_state(con, key: list[str], next_ms: int, status: str) -> None:
    con.execute("INSERT OR REPLACE INTO download_state (exchange, market, symbol, timeframe, "
                "next_since, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, now() AT TIME ZONE "
                "'UTC')", [*key, _from_ms(next_ms).to_pydatetime(), status])


def _start_ms(db: Path, key: list[str], request: DownloadRequest, now_ms: int,
              step_ms: int) -> tuple[int, bool]:
    """Where to begin: a saved resume point, else ``since`` before the stored data, else the
    bar after the last stored one, else ``since`` or DEFAULT_DAYS ago."""
    resume = _resume_point(db, key)
    if resume is not None:
        return resume, True
    since, _until = market_data.parse_range(request.since, "")
    since_ms = _ms(since) if since is not None else None
    first, last = _stored_span(db, key)
    if since_ms is not None and (first is None or since_ms < first):
        return since_ms, False
    if last is not None:
        return last + step_ms, False
    return since_ms if since_ms is not None else now_ms - DEFAULT_DAYS * 86_400_000, False


def _bars_frame(rows: list[list]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ms", "open", "high", "low", "close", "volume"])
    frame.insert(0, "ts", pd.to_datetime(frame.pop("ms"), unit="ms").astype("datetime64[us]"))
    return frame.astype({c: "float64" for c in market_data.OHLCV_COLUMNS})


def _save_bars(db: Path, key: list[str], frame: pd.DataFrame, next_ms: int) -> int:
    with store.transaction(db) as con:
        before = con.execute("SELECT count(*) FROM ohlcv WHERE exchange = ? AND market = ? AND "
                             "symbol = ? AND timeframe = ?", key).fetchall()[0][0]
        market_data.upsert_ohlcv(con, frame, exchange=key[0], market=key[1], symbol=key[2],
                                 timeframe=key[3])
        _set_state(con, key, next_ms, "running")
        after = con.execute("SELECT count(*) FROM ohlcv WHERE exchange = ? AND market = ? AND "
                            "symbol = ? AND timeframe = ?", key).fetchall()[0][0]
    return int(after - before)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    start_ms: int
    end_ms: int
    now_ms: int
    step_ms: int


def _ohlcv_pages(client: ccxt.Exchange, db: Path, key: list[str], ccxt_symbol: str, win: _Window,
                 policy: RetryPolicy, page_limit: int, progress: Progress) -> tuple[int, int]:
    cursor, new, pages = win.start_ms, 0, 0
    while cursor <= win.end_ms:
        def fetch(since: int = cursor) -> list:
            """One page of bars from ``since`` (ms)."""
            return client.fetch_ohlcv(ccxt_symbol, key[3], since=since, limit=page_limit,
                                      params={"until": win.end_ms})
        try:
            rows = _retry(fetch, policy, f"{client.id} klines")
        except _Interrupted as exc:
            with store.transaction(db) as con:
                _set_state(con, key, cursor, "interrupted")
            raise DataError(f"Download interrupted at {_from_ms(cursor)} UTC: {exc}. The {new} new "
                            "bars fetched so far are kept; run the download again to resume "
                            "from there.") from None
        closed = [r for r in rows if cursor <= r[0] <= win.end_ms
                  and r[0] + win.step_ms <= win.now_ms]
        if not closed:
            break
        next_ms = int(closed[-1][0]) + win.step_ms
        new += _save_bars(db, key, _bars_frame(closed), next_ms)
        pages += 1
        span = max(1, win.end_ms - win.start_ms)
        progress(min(0.9, 0.9 * (next_ms - win.start_ms) / span),
                 f"{pages} pages, up to {_from_ms(closed[-1][0])} UTC")
        cursor = next_ms
    with store.transaction(db) as con:
        _set_state(con, key, cursor, "done")
    return new, pages


def _funding_pages(client: ccxt.Exchange, db: Path, key: list[str], ccxt_symbol: str,
                   win: _Window, policy: RetryPolicy) -> int:
    """Fetch funding from the last stored rate (or the bars' start) to the end; new rows."""
    exchange, symbol = key[0], key[2]
    stored = market_data.load_funding(db, exchange, symbol)
    cursor = _ms(stored.index[-1]) + 1 if len(stored) else win.start_ms
    new = 0
    while cursor <= win.end_ms:
        def fetch(since: int = cursor) -> list:
            """One page of funding rates from ``since`` (ms)."""
            return client.fetch_funding_rate_history(ccxt_symbol, since=since, limit=1000,
                                                     params={"until": win.end_ms})
        try:
            rows = _retry(fetch, policy, f"{client.id} funding rates")
        except _Interrupted as exc:
            raise DataError(f"Funding download interrupted at {_from_ms(cursor)} UTC: {exc}. "
                            f"{new} new rates are kept; run the download again to resume."
                            ) from None
        rows = [r for r in rows if cursor <= r["timestamp"] <= win.end_ms]
        if not rows:
            break
        frame = pd.DataFrame({"ts": pd.to_datetime([r["timestamp"] for r in rows], unit="ms")
                              .astype("datetime64[us]"),
                              "rate": [float(r["fundingRate"]) for r in rows]})
        with store.transaction(db) as con:
            market_data.upsert_funding(con, frame, exchange=exchange, symbol=symbol)
        new += len(frame)
        cursor = int(rows[-1]["timestamp"]) + 1
    return new


def download(db: Path, request: DownloadRequest, *, base_url: str = "",
             policy: RetryPolicy = RetryPolicy(), page_limit: int = 1000,
             progress: Progress = _noop) -> DownloadResult:
    """Fetch bars (and, for perps, funding rates) into the store; see the module docstring.

    Raises DataError: unknown exchange/symbol/timeframe, exchange unreachable (nothing changed),
    or interrupted after retries (pages so far kept; calling again resumes).
    """
    check_timeframe(request.timeframe)
    client = make_exchange(request.exchange, request.market, base_url=base_url)
    progress(0.0, f"loading {client.id} markets")
    chosen = resolve_symbol(load_markets(client), request.symbol, request.market)
    info = symbol_info(client, chosen)
    key = [client.id, request.market, info.symbol, request.timeframe]
    step_ms = TIMEFRAME_MINUTES[request.timeframe] * 60_000
    now_ms = int(client.milliseconds())
    _since, until = market_data.parse_range("", request.until)
    end_ms = min(now_ms, _ms(until)) if until is not None else now_ms
    start_ms, resumed = _start_ms(db, key, request, now_ms, step_ms)
    with store.transaction(db) as con:
        market_data.upsert_symbol(con, info)
    win = _Window(start_ms=start_ms, end_ms=end_ms, now_ms=now_ms, step_ms=step_ms)
    new, pages = _ohlcv_pages(client, db, key, chosen["symbol"], win, policy, page_limit,
                              progress)
    funding = 0
    if request.market == "perp" and request.funding:
        progress(0.9, "funding rates")
        funding = _funding_pages(client, db, key, chosen["symbol"], win, policy)
    first, last = _stored_span(db, key)
    progress(1.0, "done")
    return DownloadResult(
        exchange=client.id, market=request.market, symbol=info.symbol,
        ccxt_symbol=chosen["symbol"], timeframe=request.timeframe, new_bars=new, pages=pages,
        new_funding=funding, resumed=resumed,
        first=str(_from_ms(first)) if first is not None else "",
        last=str(_from_ms(last)) if last is not None else "")
