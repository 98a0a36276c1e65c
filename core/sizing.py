"""Exact coin quantities for orders: ``self.buy(size=coins(0.015))`` buys 0.015 BTC.

backtesting.py reads a size below 1 as a fraction of available margin and a size of 1 or more
as whole units; in PineOpt a unit is one coin, and with fractional trading on, fraction-sized
orders buy as many whole lots (the symbol's lot step, e.g. 0.00001 BTC) as the margin allows.
A Coins value tells PineOpt's engine the number is a coin quantity instead: it is floored to the
lot step, and an order below one lot step or below the symbol's minimum notional is refused and
counted (never rounded up). ``self.sell(size=coins(x))`` sells (or shorts) exactly x coins.
Plain backtesting.py, which does not know Coins, treats it as a float. This module is on the
sandbox allow-list.
"""

from __future__ import annotations

__all__ = ["Coins", "coins"]


class Coins(float):
    """A size in coins (base currency units), not a fraction of equity."""

    __slots__ = ()


def coins(quantity: float) -> Coins:
    """Mark ``quantity`` (base currency, > 0) as an exact coin quantity for buy()/sell()."""
    value = float(quantity)
    if not value > 0:
        raise ValueError(f"coins({quantity!r}): the quantity must be a positive number of coins")
    return Coins(value)
