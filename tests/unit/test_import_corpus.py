"""Malformed files are refused with a clear message and nothing is stored (the corpus)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.market import importers
from core import store
from core.errors import DataError

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "malformed"
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text())


def _counts(db: Path) -> tuple[int, int, int]:
    with store.connect(db) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: S608
                     for t in ("ohlcv", "symbols", "funding_rates"))


def test_corpus_lists_every_file() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_is_refused_and_nothing_stored(settings, name: str) -> None:
    target = importers.Target() if name == "no_symbol.csv" else importers.Target(symbol="TESTUSDT")
    before = _counts(settings.db_path)
    with pytest.raises(DataError) as info:
        importers.import_file(settings.db_path, CORPUS / name, target=target)
    message = str(info.value)
    assert re.search(EXPECTED[name], message), message
    assert name.split(".")[0] in message or name in message  # the message names the file
    assert _counts(settings.db_path) == before


def test_missing_path_is_a_data_error(settings, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Cannot read .*nope.csv"):
        importers.import_file(settings.db_path, tmp_path / "nope.csv")
