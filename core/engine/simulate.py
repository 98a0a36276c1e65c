"""CHILD SIDE: a run of a configured ``backtesting.Backtest`` with its statistics optional.

``Backtest.run`` always ends with ``compute_stats`` (drawdown durations, ratios, a trade table
with every indicator's entry and exit values): about 7 % of a 50,000-bar run, half of a small
one. Neither a run nor a sweep trial uses those stats (the host recomputes every metric from
the equity and the trades), so core.engine.backtest runs the bars here and computes them only
when asked. The run keeps the semantics backtesting.py documents for ``Backtest.run`` (its data
object, warm-up start, each indicator cut to the current bar before ``next()``, broker then
strategy per bar, the end-of-data close and the out-of-money stop), without a progress bar; the
equity curve and the trade table are the ones ``Backtest.run`` gives, so a run with or without
stats has the same equity and trades (tests/golden and the backtesting.py parity tests hold
either way). Imports only numpy, pandas and backtesting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# compute_stats' trade table: column -> how each closed Trade gives its value
_TRADE_FIELDS = {
    "Size": lambda t: t.size, "EntryBar": lambda t: t.entry_bar,
    "ExitBar": lambda t: t.exit_bar, "EntryPrice": lambda t: t.entry_price,
    "ExitPrice": lambda t: t.exit_price, "SL": lambda t: t.sl, "TP": lambda t: t.tp,
    "PnL": lambda t: t.pl, "Commission": lambda t: t._commissions,
    "ReturnPct": lambda t: t.pl_pct, "EntryTime": lambda t: t.entry_time,
    "ExitTime": lambda t: t.exit_time,
}


@dataclass(frozen=True, slots=True)
class Simulated:
    """A finished loop: the broker and strategy as the loop left them, the equity per bar."""

    broker: Any
    strategy: Any
    equity: np.ndarray  # per bar: the starting cash before the first bar the loop ran

    def trades(self) -> pd.DataFrame:
        """compute_stats' trade table of the closed trades (Tag included, no indicator columns)."""
        closed = self.broker.closed_trades
        table = pd.DataFrame({k: [get(t) for t in closed] for k, get in _TRADE_FIELDS.items()})
        table["Tag"] = [t.tag for t in closed]
        return table

    def stats(self, ohlc: pd.DataFrame) -> pd.Series:
        """backtesting.py's statistics of this run, exactly as ``Backtest.run`` returns them."""
        from backtesting._stats import compute_stats

        with np.errstate(invalid="ignore"):
            return compute_stats(trades=self.broker.closed_trades, equity=self.equity,
                                 ohlc_data=ohlc, risk_free_rate=0.0,
                                 strategy_instance=self.strategy)


def simulate(bt: Any, params: dict[str, Any]) -> Simulated:
    """Run ``bt`` (a configured ``backtesting.Backtest``) with strategy ``params``."""
    from backtesting._util import _Data, _indicator_warmup_nbars, _strategy_indicators

    ohlc = bt._data
    data = _Data(ohlc.copy(deep=False))
    broker = bt._broker(data=data)
    strategy = bt._strategy(broker, data, params)
    strategy.init()
    data._update()  # Strategy.init might have changed or added to data.df
    indicators = list(_strategy_indicators(strategy))
    start = 1 + _indicator_warmup_nbars(strategy)
    cash = broker._cash  # what the account holds before the loop's first bar
    with np.errstate(invalid="ignore"):  # nan >= 3 is False, not an error
        if _bars(data, broker, strategy, indicators, start, len(ohlc)) and \
                bt._finalize_trades is True:
            _finalize(broker, start < len(ohlc))
        data._set_length(len(ohlc))  # full length again, for trade times and the stats
        curve = pd.Series(broker._equity)
        # Bars before the loop's first hold the starting cash. backtesting.py back-fills the
        # first bar's equity instead: the same value, unless an order fills on that first bar,
        # which only the Pine broker does (a script's orders from the bar before it); the
        # back-filled value then showed a position before any trade had opened.
        curve.iloc[:start] = cash
        equity = curve.bfill().fillna(broker._cash).values
    return Simulated(broker=broker, strategy=strategy, equity=equity)


def _bars(data: Any, broker: Any, strategy: Any, indicators: list[tuple[str, Any]],
          start: int, end: int) -> bool:
    """The per-bar loop; False when the account ran out of money (the loop stopped early)."""
    from backtesting.backtesting import _OutOfMoneyError

    set_length, broker_next = data._set_length, broker.next  # private: user code cannot rebind
    for i in range(start, end):
        set_length(i + 1)
        for attr, indicator in indicators:  # sliced on the last axis (2-d indicators too)
            setattr(strategy, attr, indicator[..., :i + 1])
        try:
            broker_next()
        except _OutOfMoneyError:
            return False
        strategy.next()  # looked up every bar, as Backtest.run does
    return True


def _finalize(broker: Any, traded: bool) -> None:
    """Close the trades still open, then run the broker once more on the last bar's values."""
    from backtesting.backtesting import _OutOfMoneyError

    for trade in reversed(broker.trades):
        trade.close()
    if traded:
        try:
            broker.next()
        except _OutOfMoneyError:
            pass
