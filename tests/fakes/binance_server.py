"""A loopback HTTP server that speaks enough of Binance's public REST API for ccxt.

Endpoints: /api/v3/exchangeInfo and /fapi/v1/exchangeInfo (markets), /api/v3/klines and
/fapi/v1/klines (deterministic bars between ``listed_ms`` and ``now_ms``), /fapi/v1/fundingRate
(8-hourly). Failures are scripted per endpoint: ``server.script("klines", [429, "drop"])`` makes
the next klines requests answer 429 (rate limited) and then drop the connection. Every request
is logged in ``server.log`` as (path, params). Binds 127.0.0.1 on a free port; never the internet.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

HOUR_MS = 3_600_000
INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": HOUR_MS,
               "4h": 4 * HOUR_MS, "1d": 24 * HOUR_MS, "1w": 7 * 24 * HOUR_MS}
FUNDING_MS = 8 * HOUR_MS
SPOT = [("BTCUSDT", "BTC", "USDT", "0.01", "0.00001", "5"),
        ("ETHUSDT", "ETH", "USDT", "0.01", "0.0001", "5"),
        ("SOLBTC", "SOL", "BTC", "0.0000001", "0.001", "0.0001")]
PERP = [("BTCUSDT", "BTC", "USDT", "0.10", "0.001", "100"),
        ("ETHUSDT", "ETH", "USDT", "0.01", "0.001", "20"),
        ("DOGEUSDT", "DOGE", "USDT", "0.00001", "1", "5")]


def _filters(tick: str, step: str, notional: str, *, futures: bool) -> list[dict]:
    return [{"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000", "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "notional": notional} if futures else
            {"filterType": "NOTIONAL", "minNotional": notional, "maxNotional": "9000000"}]


def exchange_info(*, futures: bool) -> dict:
    """The exchangeInfo document of the spot or USDⓈ-M futures API."""
    symbols = []
    for sym, base, quote, tick, step, notional in (PERP if futures else SPOT):
        entry: dict[str, Any] = {"symbol": sym, "status": "TRADING", "baseAsset": base,
                                 "quoteAsset": quote, "baseAssetPrecision": 8,
                                 "quotePrecision": 8, "filters": _filters(tick, step, notional,
                                                                         futures=futures)}
        if futures:
            entry.update(contractType="PERPETUAL", marginAsset=quote, pricePrecision=2,
                         quantityPrecision=3, onboardDate=1569398400000, underlyingType="COIN")
        else:
            entry.update(isSpotTradingAllowed=True, isMarginTradingAllowed=False,
                         permissions=["SPOT"], permissionSets=[["SPOT"]])
        symbols.append(entry)
    return {"timezone": "UTC", "serverTime": 1735689600000, "rateLimits": [],
            "exchangeFilters": [], "symbols": symbols}


def bar(symbol: str, open_ms: int, interval_ms: int) -> list:
    """One deterministic kline: a smooth wave so every bar is OHLC-consistent."""
    base = 40_000.0 if symbol.startswith("BTC") else 2_000.0
    k = open_ms / HOUR_MS
    o = base * (1 + 0.05 * math.sin(k / 50))
    c = base * (1 + 0.05 * math.sin((k + interval_ms / HOUR_MS) / 50))
    h, low = max(o, c) * 1.001, min(o, c) * 0.999
    return [open_ms, f"{o:.2f}", f"{h:.2f}", f"{low:.2f}", f"{c:.2f}", "12.500",
            open_ms + interval_ms - 1, "500000.0", 100, "6.0", "240000.0", "0"]


class _Handler(BaseHTTPRequestHandler):
    server: FakeBinance

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.server.log.append((url.path, params))
        action = self.server.next_action(url.path.rsplit("/", 1)[-1])
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if action == 429:
            self._send(429, {"code": -1003, "msg": "Too many requests; current limit exceeded."},
                       {"Retry-After": "0"})
            return
        routes = {"/api/v3/exchangeInfo": lambda: exchange_info(futures=False),
                  "/fapi/v1/exchangeInfo": lambda: exchange_info(futures=True),
                  "/api/v3/klines": lambda: self.server.klines(params),
                  "/fapi/v1/klines": lambda: self.server.klines(params),
                  "/fapi/v1/fundingRate": lambda: self.server.funding(params)}
        if url.path not in routes:
            self._send(404, {"code": -1, "msg": f"fake server: no route {url.path}"})
            return
        self._send(200, routes[url.path]())

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FakeBinance(ThreadingHTTPServer):
    """The server; ``url`` is its base (http://127.0.0.1:PORT). Use as a context manager."""

    daemon_threads = True

    def __init__(self, *, listed_ms: int = 1704067200000, now_ms: int = 1704067200000
                 + 3000 * HOUR_MS) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.listed_ms = listed_ms
        self.now_ms = now_ms
        self.log: list[tuple[str, dict[str, str]]] = []
        self._scripts: dict[str, deque] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL to put in place of https://api.binance.com and https://fapi.binance.com."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, endpoint: str, actions: list) -> None:
        """Queue failures for the next requests to ``endpoint`` (429, "drop", or None = normal)."""
        with self._lock:
            self._scripts.setdefault(endpoint, deque()).extend(actions)

    def next_action(self, endpoint: str) -> object:
        """Pop the next scripted action for ``endpoint`` (None when nothing is queued)."""
        with self._lock:
            queue = self._scripts.get(endpoint)
            return queue.popleft() if queue else None

    def requests_to(self, endpoint: str) -> list[dict[str, str]]:
        """Params of every request whose path ends with ``endpoint``."""
        return [p for path, p in self.log if path.endswith("/" + endpoint)]

    def klines(self, params: dict[str, str]) -> list[list]:
        """Bars from startTime (or the listing) up to endTime/now, at most ``limit`` (<= 1000)."""
        step = INTERVAL_MS[params["interval"]]
        limit = min(int(params.get("limit", 500)), 1000)
        start = max(int(params.get("startTime", self.listed_ms)), self.listed_ms)
        first = -(-start // step) * step
        end = min(int(params.get("endTime", self.now_ms)), self.now_ms - step)
        times = range(first, end + 1, step)
        return [bar(params["symbol"], t, step) for t in times[:limit]]

    def funding(self, params: dict[str, str]) -> list[dict]:
        """8-hourly funding from startTime to endTime/now, at most ``limit`` (default 100)."""
        limit = min(int(params.get("limit", 100)), 1000)
        start = max(int(params.get("startTime", self.listed_ms)), self.listed_ms)
        first = -(-start // FUNDING_MS) * FUNDING_MS
        end = min(int(params.get("endTime", self.now_ms)), self.now_ms)
        out = []
        for t in range(first, end + 1, FUNDING_MS)[:limit]:
            rate = 0.0001 if (t // FUNDING_MS) % 7 else -0.00005
            out.append({"symbol": params.get("symbol", ""), "fundingTime": t,
                        "fundingRate": f"{rate:.8f}", "markPrice": "40000.00"})
        return out

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
