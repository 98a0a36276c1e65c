"""What a process keeps between runs (core.runs.prepared): a source's checked Python by its
sha256, and a queued run's bars handed to its execution once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.model import Language
from core.runs import prepared
from core.settings import REPO_ROOT
from core.strategies import validation

SMA = (REPO_ROOT / "examples" / "sma_cross.py").read_text()
BROKEN = "from backtesting import Strategy\nimport os\n\n\nclass S(Strategy):\n" \
         "    def init(self):\n        pass\n\n    def next(self):\n        os.system('x')\n"


def test_checked_python_equals_a_fresh_validation_and_is_validated_once(monkeypatch) -> None:
    calls: list[str] = []
    real = validation.validate_python

    def counted(source: str, **kwargs: object) -> list:
        calls.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(validation, "validate_python", counted)
    for source in (SMA, BROKEN):
        expected = validation.errors_only(real(source))
        first = prepared.checked_python(source, Language.PYTHON)
        again = prepared.checked_python(source, Language.PYTHON)
        assert first == again == (source, expected)
    assert calls.count(SMA) <= 1 and calls.count(BROKEN) <= 1
    assert prepared.checked_python(BROKEN, Language.PYTHON)[1]  # the refusal is kept too


def test_inputs_are_handed_to_their_run_once_and_kept_within_bounds(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    bars = pd.DataFrame({"Close": [1.0, 2.0, 3.0]},
                        index=pd.date_range("2024-01-01", periods=3, freq="h"))
    kept = prepared.Kept(data=bars, source=SMA, language=Language.PYTHON)
    prepared.keep_run(db, 7, kept)
    assert prepared.take_run(tmp_path / "other.duckdb", 7) is None  # another store's run 7
    assert prepared.take_run(db, 7) is kept
    assert prepared.take_run(db, 7) is None  # handed out once
    for run_id in range(prepared.MAX_BARS + 5):
        prepared.keep_run(db, 100 + run_id, kept)
    assert prepared.take_run(db, 100) is None  # the oldest were dropped
    assert prepared.take_run(db, 100 + prepared.MAX_BARS + 4) is kept


def test_bars_parquet_is_what_to_parquet_writes_and_tells_frames_apart(tmp_path: Path) -> None:
    bars = pd.DataFrame({"Open": [1.0, 2.0, 3.0], "Close": [1.5, 2.5, 3.5]},
                        index=pd.date_range("2024-01-01", periods=3, freq="h"))
    for frame in (bars, bars.assign(Close=[1.5, 2.5, 3.25]), bars.rename(columns=str.lower),
                  bars.set_axis(bars.index + pd.Timedelta(hours=1)), bars.astype("float32"),
                  bars.assign(Tag=["a", "b", "c"])):
        frame.to_parquet(tmp_path / "expected.parquet")
        first = prepared.bars_parquet(frame)
        assert first == (tmp_path / "expected.parquet").read_bytes()
        assert prepared.bars_parquet(frame) == first  # kept (or encoded again) the same
        assert pd.read_parquet(tmp_path / "expected.parquet").equals(frame)
