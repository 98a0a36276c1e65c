"""Checks on what the sandboxed child returned, before anything is stored.

The child is untrusted: its Parquet files must have the expected schema, finite numbers, sane
sizes, fills inside their bar's low-high range at real bar times, and an equity curve that the
host can recompute from the trades and the prices it holds. Any mismatch raises SandboxError
with status result_rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from core.analytics import metrics
from core.runs import broker_check, child_files
from core.errors import SandboxError

MAX_TRADES = 1_000_000
OUT_FILES = frozenset({"equity.parquet", "trades.parquet", "events.parquet",
                       "open_trades.parquet"})
PLOTS_FILE = "plots.parquet"
MAX_TAG_CHARS = 200
TRADE_SCHEMA = {"Size": "float", "EntryBar": "int", "ExitBar": "int", "EntryPrice": "float",
                "ExitPrice": "float", "PnL": "float", "Commission": "float", "ReturnPct": "float"}
PRICE_TOLERANCE = 1e-9  # relative
EQUITY_TOLERANCE = 1e-6  # relative to initial cash


def _reject(message: str) -> SandboxError:
    return SandboxError(f"Result rejected: {message}", status="result_rejected")




def _numeric(frame: pd.DataFrame, name: str, column: str) -> np.ndarray:
    try:
        values = frame[column].to_numpy(dtype="float64")
    except (TypeError, ValueError):
        raise _reject(f"{name}.{column} is not numeric") from None
    if not np.isfinite(values).all():
        raise _reject(f"{name}.{column} has non-finite values")
    return values


def check_result(out_dir: Path, data: pd.DataFrame, claimed: dict, *, cash_usdt: float,
                 commission: float, broker: dict | None = None,
                 funding: pd.Series | None = None, pine: bool = False
                 ) -> tuple[pd.Series, pd.DataFrame]:
    """Validate the child's equity and trades against ``data``; return them host-verified.

    out/ may hold only OUT_FILES (plus plots.parquet when ``pine``: plot series come only from
    the Pine runtime), each read through core.runs.child_files (caps checked before any data).

    ``broker``: the job's engine settings; with it the P&L split (fees, funding, slippage, exit
    reasons) is verified by core.runs.broker_check, using ``funding`` (the rates sent to the child).

    The returned equity is the host's recomputation (equal to the child's on every bar but the
    last, where backtesting.py may still hold an order filled after the final close-out).
    A Pine run's trade still open at the end gets exit reason ``open`` (TradingView's open trade,
    core.analytics.metrics.open_at_end); a Python run's stays ``end_of_data`` (closed, counted).
    Raises SandboxError(status="result_rejected") on any mismatch, and on any other error the
    untrusted files cause while being checked.
    """
    with untrusted("the result files"):
        equity, trades = _check_result(out_dir, data, claimed, cash_usdt=cash_usdt,
                                       broker=broker, funding=funding, pine=pine)
    if pine and "ExitReason" in trades:  # TradingView keeps a trade open at the end open
        trades["ExitReason"] = trades["ExitReason"].replace(metrics.FINALIZED_EXIT_REASON,
                                                            metrics.OPEN_EXIT_REASON)
    return equity, trades


@contextmanager
def untrusted(what: str) -> Iterator[None]:
    """Turn any error raised while checking ``what`` (untrusted bytes) into result_rejected."""
    try:
        yield
    except SandboxError:
        raise
    except Exception as exc:  # noqa: BLE001 - hostile input may break a check in any way
        raise _reject(f"{what} could not be checked ({type(exc).__name__}: "
                      f"{str(exc)[:200]})") from exc


def _check_result(out_dir: Path, data: pd.DataFrame, claimed: dict, *, cash_usdt: float,
                  broker: dict | None, funding: pd.Series | None, pine: bool
                  ) -> tuple[pd.Series, pd.DataFrame]:
    child_files.check_out_dir(out_dir, OUT_FILES | ({PLOTS_FILE} if pine else set()))
    eq_frame = child_files.read_parquet(out_dir / "equity.parquet", ["equity"],
                                        child_files.Caps(max_rows=len(data), rows=len(data)))
    equity = pd.Series(_numeric(eq_frame, "equity", "equity"), index=data.index, name="equity")
    split = ([*broker_check.SPLIT_SCHEMA, "ExitReason", "EntryDated", "ExitDated"]
             if broker is not None else [])
    trades = child_files.read_parquet(
        out_dir / "trades.parquet", [*TRADE_SCHEMA, "EntryTime", "ExitTime", "Tag", *split],
        child_files.Caps(max_rows=MAX_TRADES, text_chars=MAX_TAG_CHARS))
    count = claimed.get("trades")
    if not isinstance(count, int) or isinstance(count, bool) or count != len(trades):
        raise _reject("the trade count does not match the trades file")
    for column in TRADE_SCHEMA:
        _numeric(trades, "trades", column)
    trades["Tag"] = trades["Tag"].map(
        lambda t: "" if t is None or t != t else str(t)[:MAX_TAG_CHARS])
    beyond = float((broker or {}).get("mirror_slippage", 0.0) or 0.0)
    _check_fills(trades, data, beyond=beyond)
    curve = None
    if broker is not None:
        curve = broker_check.funding_curve(data, funding, perp=bool(broker.get("perp")))
        broker_check.check_split(trades, data, broker=broker, curve=curve)
    held = _open_trades(out_dir, data, claimed, broker or {}, [*TRADE_SCHEMA, "EntryTime",
                                                               "ExitTime", "Tag", *split])
    every = trades if not len(held) else held if not len(trades) else pd.concat(
        [trades, held], ignore_index=True)
    verified = _check_equity(equity, every, data, cash_usdt=cash_usdt, curve=curve)
    return pd.Series(verified, index=data.index, name="equity"), trades


def _open_trades(out_dir: Path, data: pd.DataFrame, claimed: dict, broker: dict,
                 columns: list[str]) -> pd.DataFrame:
    """Trades the child left open at the end (finalize_trades off), checked: as many as
    claimed, only when the job allowed it, each marked at the last close with its entry fee."""
    count = claimed.get("open_trades", 0)
    if not isinstance(count, int) or count < 0 or (count and broker.get("finalize_trades", True)):
        raise _reject("the open-trade count is malformed or not allowed by the run's settings")
    if not count:
        return pd.DataFrame(columns=columns)
    held = child_files.read_parquet(out_dir / "open_trades.parquet", columns,
                                    child_files.Caps(max_rows=min(count, MAX_TRADES),
                                                     text_chars=MAX_TAG_CHARS))
    if len(held) != count:
        raise _reject("the open-trade count does not match open_trades.parquet")
    for column in TRADE_SCHEMA:
        _numeric(held, "open_trades", column)
    held["Tag"] = held["Tag"].map(lambda t: "" if t is None or t != t else str(t)[:MAX_TAG_CHARS])
    _check_fills(held, data, beyond=float(broker.get("mirror_slippage", 0.0) or 0.0))
    size = held["Size"].to_numpy(dtype="float64")
    entry = held["EntryPrice"].to_numpy(dtype="float64")
    fee = held["Commission"].to_numpy(dtype="float64")
    rates = np.array([broker.get("maker_fee_rate") or 0.0, broker.get("taker_fee_rate") or 0.0])
    fee_ok = np.isclose(fee[:, None], np.abs(size * entry)[:, None] * rates, rtol=1e-9,
                        atol=1e-9).any(axis=1)
    last = len(data) - 1
    if not ((held["ExitBar"].to_numpy() == last).all() and fee_ok.all()
            and np.allclose(held["ExitPrice"].to_numpy(dtype="float64"),
                            data["Close"].iloc[-1], rtol=PRICE_TOLERANCE)
            and np.allclose(held["EntryFee"].to_numpy(dtype="float64"), fee)
            and (held["Funding"].to_numpy(dtype="float64") == 0).all()):
        raise _reject("an open trade is not marked at the last close with its entry fee")
    return held


def _check_fills(trades: pd.DataFrame, data: pd.DataFrame, *, beyond: float = 0.0) -> None:
    """Bars in the data, real bar times, and every price within its bar's low-high range,
    widened by ``beyond`` (price units): exactly the slippage a mirrored broker applies in full
    (TradingView's strategy(slippage=N) ticks, EngineSettings.mirror_slippage), nothing more."""
    n = len(data)
    low = data["Low"].to_numpy()
    high = data["High"].to_numpy()
    if (trades["ExitBar"].to_numpy() < trades["EntryBar"].to_numpy()).any():
        raise _reject("a trade exits before it enters")
    for side in ("Entry", "Exit"):
        bars = trades[f"{side}Bar"].to_numpy(dtype="int64")
        if len(bars) and (bars.min() < 0 or bars.max() >= n):
            raise _reject(f"a trade's {side.lower()} bar is outside the data")
        prices = trades[f"{side}Price"].to_numpy(dtype="float64")
        tol = np.abs(prices) * PRICE_TOLERANCE
        outside = (prices < low[bars] - beyond - tol) | (prices > high[bars] + beyond + tol)
        if outside.any():
            i = int(np.argmax(outside))
            slipped = f" widened by the {beyond:g} slippage" if beyond else ""
            raise _reject(f"trade {i + 1} {side.lower()} price {prices[i]} is outside its bar's "
                          f"low-high range{slipped}")
        times = pd.to_datetime(trades[f"{side}Time"]).to_numpy()
        if len(bars) and not (times == data.index.to_numpy()[bars]).all():
            raise _reject(f"a trade's {side.lower()} time is not its bar's time")


def _check_equity(equity: pd.Series, trades: pd.DataFrame, data: pd.DataFrame, *,
                  cash_usdt: float, curve: np.ndarray | None = None) -> np.ndarray:
    """Check each trade's P&L against its fills, then the equity curve bar by bar; return the
    host's equity per bar.

    Raises SandboxError(result_rejected) naming the first trade or bar that disagrees.
    """
    size = trades["Size"].to_numpy(dtype="float64")
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    exit_ = trades["ExitPrice"].to_numpy(dtype="float64")
    commission = trades["Commission"].to_numpy(dtype="float64")
    pnl = trades["PnL"].to_numpy(dtype="float64")
    tol = EQUITY_TOLERANCE * max(cash_usdt, 1.0)
    funding = trades["Funding"].to_numpy(dtype="float64") if "Funding" in trades else 0.0
    bad = np.abs(size * (exit_ - entry) - commission + funding - pnl) > tol
    if bad.any():
        i = int(np.argmax(bad))
        raise _reject(f"trade {i + 1} P&L {pnl[i]:.6f} does not match its fills "
                      f"({size[i] * (exit_[i] - entry[i]) - commission[i]:.6f})")
    if (commission < 0).any():
        raise _reject("a trade has a negative commission")
    expected = host_equity(trades, data["Close"].to_numpy(dtype="float64"), cash_usdt=cash_usdt,
                           curve=curve)
    claimed = equity.to_numpy(dtype="float64")
    ruined = np.flatnonzero(expected <= tol)
    # After ruin backtesting.py zeroes the curve; the last bar may include a position opened by
    # an order that filled after the final close-out (not in the trade list), so the host's
    # value replaces it.
    stop = int(ruined[0]) if len(ruined) else len(expected) - 1
    scale = 1 + np.abs(expected[:stop]) / max(cash_usdt, 1.0)
    diff = np.abs(claimed[:stop] - expected[:stop]) > tol * scale
    if diff.any():
        i = int(np.argmax(diff))
        raise _reject(f"the equity at bar {i} ({data.index[i]}) is {claimed[i]:.2f} but the trades "
                      f"and stored prices give {expected[i]:.2f}")
    if len(ruined) and np.abs(claimed[stop + 1:]).max(initial=0.0) > tol:
        raise _reject("the equity curve continues after the account was wiped out")
    return np.where(np.arange(len(expected)) > stop, 0.0, expected) if len(ruined) else expected


def host_equity(trades: pd.DataFrame, close: np.ndarray, *, cash_usdt: float,
                curve: np.ndarray | None = None) -> np.ndarray:
    """Equity per bar recomputed from trades and close prices (quote currency).

    Bar i holds: initial cash + P&L of trades exited at or before i + for trades open at i
    (EntryBar <= i < ExitBar) size * (close_i - entry price) minus their entry commission.
    The entry commission of a proportional fee is Commission * entry / (entry + exit), or
    EntryFee when the trades carry it. With ``curve`` (core.runs.broker_check.funding_curve) open
    trades also hold the funding paid so far: -size * (curve_i - curve_entry).
    """
    n = len(close)
    size = trades["Size"].to_numpy(dtype="float64")
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    exit_ = trades["ExitPrice"].to_numpy(dtype="float64")
    entry_bar = trades["EntryBar"].to_numpy(dtype="int64")
    exit_bar = trades["ExitBar"].to_numpy(dtype="int64")
    total = entry + exit_
    open_fee = trades["Commission"].to_numpy(dtype="float64") * np.divide(
        entry, total, out=np.zeros_like(total), where=total != 0)
    if "EntryFee" in trades:
        open_fee = trades["EntryFee"].to_numpy(dtype="float64")
    if curve is not None and curve.any():
        open_fee = open_fee - size * curve[entry_bar]  # so cost - held * curve = funding paid
    if "EntryDated" in trades:  # fills dated to a bar's close show in the next bar's equity
        entry_bar = entry_bar + trades["EntryDated"].to_numpy(dtype="int64")
        exit_bar = exit_bar + trades["ExitDated"].to_numpy(dtype="int64")
    realized = np.zeros(n + 1)
    np.add.at(realized, exit_bar, trades["PnL"].to_numpy(dtype="float64"))
    held = np.zeros(n + 1)  # coins held
    cost = np.zeros(n + 1)  # size * entry + entry fee of trades held
    live = exit_bar > entry_bar
    np.add.at(held, entry_bar[live], size[live])
    np.add.at(held, exit_bar[live], -size[live])
    np.add.at(cost, entry_bar[live], size[live] * entry[live] + open_fee[live])
    np.add.at(cost, exit_bar[live], -(size[live] * entry[live] + open_fee[live]))
    mark = close if curve is None or not curve.any() else close - curve
    return (cash_usdt + np.cumsum(realized)[:n] + np.cumsum(held)[:n] * mark
            - np.cumsum(cost)[:n])
