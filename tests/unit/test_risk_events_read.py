"""The child's risk events as the host reads them: none without a file, checked ones with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import SandboxError
from core.runs import broker_store

BARS = pd.DataFrame({"Close": [1.0, 2.0, 3.0]},
                    index=pd.date_range("2024-01-01", periods=3, freq="h"))


def _write(out: Path, rows: dict) -> None:
    pd.DataFrame(rows).to_parquet(out / "events.parquet")


def test_no_events_file_means_no_events(tmp_path: Path) -> None:
    extras = broker_store.read_extras(tmp_path, BARS, {"rejected": {}}, settings={})
    assert extras.events.empty and list(extras.events.columns) == ["time", "rule", "detail"]
    assert extras.rejected == {} and extras.open_trades == 0


def test_events_are_read_with_details_cut(tmp_path: Path) -> None:
    _write(tmp_path, {"time": [BARS.index[1]], "rule": ["liquidation"], "detail": ["x" * 500]})
    events = broker_store.read_extras(tmp_path, BARS, {}, settings={}).events
    assert list(events["rule"]) == ["liquidation"] and events["time"][0] == BARS.index[1]
    assert events["detail"][0] == "x" * 300


@pytest.mark.parametrize(("rows", "message"), [
    ({"time": [BARS.index[0]], "rule": ["made_up"], "detail": [""]}, "unknown rule"),
    ({"time": [BARS.index[0] + pd.Timedelta(minutes=1)], "rule": ["liquidation"],
      "detail": [""]}, "not a bar time"),
])
def test_forged_events_are_refused(tmp_path: Path, rows: dict, message: str) -> None:
    _write(tmp_path, rows)
    with pytest.raises(SandboxError, match=message):
        broker_store.read_extras(tmp_path, BARS, {}, settings={})
