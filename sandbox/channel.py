"""Parent side of the result channel: untrusted JSON lines from the child, read within budgets.

The child writes one JSON object per line on fd 3 (sandbox/child.py Channel). The parent counts
every byte and every message (progress too) against the run's budget, parses each line strictly
(no NaN/Infinity, no number that overflows to infinity, no duplicate keys, bounded nesting) and
checks its schema (known keys, right types, bounded sizes). Anything else is a ChannelError: the
run stops with its status (result_rejected, or output_limit past the byte budget) and the message
says what was wrong. Nothing a child sends can raise anything else in the parent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

MAX_MESSAGES = 10_000  # an honest child sends one progress message per 2,000 bars, then one more
MAX_LINE_BYTES = 256 * 1024  # per message line; the longest honest one is a result
MAX_OTHER_MESSAGES = 16  # messages of other types (the self-test probe's reports)
MAX_INT = 10**15
MAX_CLAIMED = 200
MAX_TEXT = 20_000
RESULT_KEYS = {"type": str, "bars": int, "trades": int, "open_trades": int, "rejected": dict,
               "rss_kb": int, "job_s": float, "claimed": dict}
RESULT_REQUIRED = ("bars", "trades", "claimed")
# A study batch (core.engine.batch) ends with one result listing each trial instead.
BATCH_RESULT_KEYS = {"type": str, "bars": int, "trials": list, "job_s": float}
TRIAL_KEYS = {"i": int, "ok": bool, "trades": int, "rejected": dict, "kind": str, "message": str}
MAX_TRIALS = 10_000
ERROR_KEYS = {"type": str, "kind": str, "message": str}
PROGRESS_KEYS = {"type": str, "done": int, "total": int}


class ChannelError(Exception):
    """The child broke the channel's protocol or budget; ``status`` is the run's RunStatus value.

    Caught by: sandbox.runner.Worker, which stops the child and reports the status and message.
    """

    def __init__(self, message: str, *, status: str = "result_rejected") -> None:
        super().__init__(message)
        self.status = status


def _reject_constant(name: str) -> float:
    raise ValueError(f"the non-finite number {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} overflows to infinity")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a duplicate key")
    return out


def parse_line(line: bytes) -> dict[str, Any]:
    """One channel line -> a schema-checked message dict. Raises ChannelError saying why not."""
    if len(line) > MAX_LINE_BYTES:
        raise ChannelError(f"a result-channel message of {len(line):,} bytes exceeds the "
                           f"{MAX_LINE_BYTES:,}-byte limit per message")
    try:
        msg = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float,
                         object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ChannelError("a result-channel message is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, int too long, our hooks
        raise ChannelError(f"a result-channel message is not valid JSON ({exc})") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ChannelError("a result-channel message is not an object with a string 'type'")
    check_message(msg)
    return msg


def _typed(value: Any, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    if kind is int:
        return isinstance(value, int) and abs(value) <= MAX_INT
    return isinstance(value, kind)


def _check_keys(msg: dict[str, Any], schema: Mapping[str, type],
                required: tuple[str, ...]) -> None:
    kind = msg["type"]
    unknown = sorted(set(msg) - set(schema))
    if unknown:
        raise ChannelError(f"the {kind} message has unknown keys {unknown[:5]}")
    missing = [k for k in required if k not in msg]
    if missing:
        raise ChannelError(f"the {kind} message lacks {missing}")
    for key, value in msg.items():
        if not _typed(value, schema[key]):
            raise ChannelError(f"the {kind} message's {key!r} is a {type(value).__name__}, "
                               f"not a{'n' if schema[key] is int else ''} "
                               f"{schema[key].__name__}")


def check_message(msg: dict[str, Any]) -> None:
    """Check a parsed message against its type's schema; raises ChannelError naming the fault.

    Types other than ready/progress/result/error (the self-test probe's) are kept as they are.
    """
    kind = msg["type"]
    if kind == "ready":
        _check_keys(msg, {"type": str}, ())
    elif kind == "progress":
        _check_keys(msg, PROGRESS_KEYS, ("done", "total"))
        if msg["done"] < 0 or msg["total"] < 0:
            raise ChannelError("a progress message has a negative count")
    elif kind == "error":
        _check_keys(msg, ERROR_KEYS, ("kind", "message"))
    elif kind == "result":
        _check_result(msg)
    elif len(kind) > 40:
        raise ChannelError("a result-channel message has an overlong type")


def _check_batch_result(msg: dict[str, Any]) -> None:
    _check_keys(msg, BATCH_RESULT_KEYS, ("bars", "trials"))
    trials = msg["trials"]
    if len(trials) > MAX_TRIALS or not all(isinstance(t, dict) for t in trials):
        raise ChannelError(f"the batch result must list at most {MAX_TRIALS} trial objects")
    for trial in trials:
        unknown = sorted(set(trial) - set(TRIAL_KEYS))
        if unknown or not all(_typed(v, TRIAL_KEYS[k]) for k, v in trial.items()):
            raise ChannelError(f"a batch trial has unknown keys or wrong types {unknown[:5]}")
        if len(trial.get("message", "")) > MAX_TEXT or len(trial.get("rejected", {})) > 64:
            raise ChannelError("a batch trial's message or rejected counts are too long")


def _check_result(msg: dict[str, Any]) -> None:
    if "trials" in msg:
        _check_batch_result(msg)
        return
    _check_keys(msg, RESULT_KEYS, RESULT_REQUIRED)
    if msg["bars"] < 0 or msg["trades"] < 0 or msg.get("open_trades", 0) < 0:
        raise ChannelError("the result message has a negative bar or trade count")
    claimed = msg["claimed"]
    if len(claimed) > MAX_CLAIMED or not all(
            len(k) <= 100 and (v is None or (isinstance(v, str) and len(v) <= MAX_TEXT))
            for k, v in claimed.items()):
        raise ChannelError(f"the result's claimed stats must be at most {MAX_CLAIMED} short "
                           "name: text pairs")
    rejected = msg.get("rejected", {})
    if len(rejected) > 64 or not all(_typed(v, int) and v >= 0 for v in rejected.values()):
        raise ChannelError("the result's rejected-order counts must be non-negative integers")


class ChannelReader:
    """Accumulates channel bytes and yields checked messages within a byte and message budget."""

    def __init__(self, *, max_bytes: int, max_messages: int = MAX_MESSAGES) -> None:
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.total_bytes = 0
        self.messages = 0
        self.others = 0
        self._partial = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The complete messages in ``chunk`` (plus what was pending). Raises ChannelError."""
        self.total_bytes += len(chunk)
        if self.total_bytes > self.max_bytes:
            raise ChannelError(f"Stopped: the result exceeded {self.max_bytes:,} bytes.",
                               status="output_limit")
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE_BYTES:
            raise ChannelError(f"a result-channel message exceeds the {MAX_LINE_BYTES:,}-byte "
                               "limit per message")
        if self.messages + len(lines) > self.max_messages:
            raise ChannelError(f"the sandbox sent more than {self.max_messages:,} messages on the "
                               "result channel (an honest run sends one per 2,000 bars)")
        out = []
        for line in lines:
            self.messages += 1
            msg = parse_line(line)
            if msg["type"] not in ("ready", "progress", "result", "error"):
                self.others += 1
                if self.others > MAX_OTHER_MESSAGES:
                    raise ChannelError(f"the sandbox sent more than {MAX_OTHER_MESSAGES} "
                                       f"messages of other types ({msg['type'][:40]!r})")
            out.append(msg)
        return out
