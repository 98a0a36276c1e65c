"""Per-call-site state for translated Pine: history of variables, ``var`` slots, child sites.

A Node belongs to one textual scope execution path: the script body has the root node; each call
of a user function or a stateful built-in at a given place in the source owns a child node
(``st[7]``), so two identical calls on different lines keep independent history (pine.md §1).
"""

from __future__ import annotations

import math as _math
from typing import Any

NA = float("nan")
HISTORY_LIMIT = 5000
_TRIM_EVERY = 20000


class Node:
    """State of one call site: variable histories, var-initialised flags, child nodes."""

    __slots__ = ("children", "series", "started", "data")

    def __init__(self) -> None:
        self.children: dict[int, Node] = {}
        self.series: dict[int, list[Any]] = {}
        self.started: set[int] = set()
        self.data: Any = None

    def __getitem__(self, site: int) -> Node:
        """The child node of call site ``site`` (created on first use)."""
        child = self.children.get(site)
        if child is None:
            child = self.children[site] = Node()
        return child

    def once(self, slot: int) -> bool:
        """True the first time a ``var`` declaration at ``slot`` executes, then always False."""
        if slot in self.started:
            return False
        self.started.add(slot)
        return True

    def recall(self, slot: int) -> Any:
        """The value committed for ``slot`` by the previous execution of this scope (na if none)."""
        values = self.series.get(slot)
        return values[-1] if values else NA

    def push(self, slot: int, value: Any) -> None:
        """Commit ``value`` as this execution's final value of ``slot`` (its next ``[1]``)."""
        values = self.series.get(slot)
        if values is None:
            values = self.series[slot] = []
        values.append(value)
        if len(values) > HISTORY_LIMIT + _TRIM_EVERY:
            del values[:-HISTORY_LIMIT]

    def past(self, slot: int, offset: Any, current: Any) -> Any:
        """``x[offset]`` of the variable at ``slot``: ``current`` for 0, na beyond the history."""
        k = _offset(offset)
        if k is None:
            return NA
        if k == 0:
            return current
        values = self.series.get(slot)
        return values[-k] if values and k <= len(values) else NA

    def track(self, value: Any, offset: Any) -> Any:
        """``(expression)[offset]``: record this execution's value; return ``offset`` ago."""
        values = self.series.get(0)
        if values is None:
            values = self.series[0] = []
        values.append(value)
        if len(values) > HISTORY_LIMIT + _TRIM_EVERY:
            del values[:-HISTORY_LIMIT]
        k = _offset(offset)
        if k is None or k >= len(values):
            return NA
        return values[-1 - k]


def _offset(offset: Any) -> int | None:
    if isinstance(offset, float):
        if _math.isnan(offset):
            return None
        offset = int(offset)
    if offset < 0:
        raise ValueError(f"history offset must be >= 0, got {offset}")
    return int(offset)
