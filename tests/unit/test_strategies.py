"""Strategy versions: save, history, diff, restore, clone, soft delete, export, library rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import store
from core.strategies import crud as strategies, library as strategy_library
from core.errors import NotFoundError, PineOptError
from core.model import Language, StrategyMeta
from core.settings import Settings


@pytest.fixture
def db(settings: Settings) -> Path:
    """The test store's DuckDB file."""
    return settings.db_path


def test_every_changed_save_is_a_version(db: Path, sma_source: str) -> None:
    sid, v1 = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source)
    same = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source, strategy_id=sid)
    edited = sma_source.replace("fast = 20", "fast = 15")
    _, v2 = strategies.save(db, meta=StrategyMeta(name="sma"), source=edited, strategy_id=sid,
                            message="faster")
    assert (v1, same, v2) == (1, (sid, 1), 2)
    hist = strategies.history(db, sid)
    assert [(h.version, h.message) for h in hist] == [(2, "faster"), (1, "created")]
    assert all(len(h.sha256) == 64 and h.valid and h.created_at for h in hist)
    assert hist[0].source == edited


def test_a_run_reads_name_language_and_version_in_one_go_as_get_and_get_version_do(
        db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source)
    edited = sma_source.replace("fast = 20", "fast = 15")
    strategies.save(db, meta=StrategyMeta(name="sma"), source=edited, strategy_id=sid)
    for version in (None, 1, 2):
        name, language, ver = strategies.run_source(db, sid, version)
        assert (name, language) == ("sma", strategies.get(db, sid).language) == ("sma",
                                                                                   Language.PYTHON)
        assert ver == strategies.get_version(db, sid, version)
    assert strategies.run_source(db, sid)[2].version == 2
    strategies.delete(db, sid)  # a deleted strategy's runs can still be re-run
    assert strategies.run_source(db, sid, 1)[2].source == sma_source
    for sid_, version, message in ((sid, 3, "has no version 3"),
                                   (sid + 99, None, "does not exist")):
        with pytest.raises(NotFoundError, match=message):
            strategies.run_source(db, sid_, version)
        with pytest.raises(NotFoundError, match=message):
            strategies.get(db, sid_) if version is None else strategies.get_version(db, sid_,
                                                                                     version)


def test_invalid_source_is_saved_with_its_issues(db: Path, sma_source: str) -> None:
    bad = "import os\n" + sma_source
    sid, _ = strategies.save(db, meta=StrategyMeta(name="bad"), source=bad)
    ver = strategies.get_version(db, sid)
    assert not ver.valid and ver.issues[0].line == 1 and "'os'" in ver.issues[0].message
    assert not strategies.get(db, sid).valid


def test_metadata_is_saved_and_dependencies_checked(db: Path, sma_source: str) -> None:
    meta = StrategyMeta(name="m", description="d", author="ann", version="2.1", tags=("trend",),
                        timeframes=("1h", "4h"), assets=("BTCUSDT",), dependencies=("requests",))
    sid, _ = strategies.save(db, meta=meta, source=sma_source)
    assert strategies.get(db, sid).meta == meta
    assert [i.rule for i in strategies.get_version(db, sid).issues] == ["dependencies"]


def test_params_are_stored_with_the_version(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="p"), source=sma_source)
    with store.connect(db) as con:
        params = con.execute("SELECT params FROM strategy_versions WHERE strategy_id = ?",
                             [sid]).fetchone()[0]
    assert '"fast"' in params and '"min": 5.0' in params


def test_diff_between_any_two_versions(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="d"), source=sma_source)
    strategies.save(db, meta=StrategyMeta(name="d"), strategy_id=sid,
                    source=sma_source.replace("fast = 20", "fast = 15"))
    text = strategies.diff(db, sid, 1, 2)
    assert text.startswith("--- v1\n+++ v2\n")
    assert "-    fast = 20" in text and "+    fast = 15" in text
    assert strategies.diff(db, sid, 2, 2) == ""
    with pytest.raises(NotFoundError, match="no version 9"):
        strategies.diff(db, sid, 1, 9)


def test_restore_makes_an_old_version_the_newest(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="r"), source=sma_source)
    strategies.save(db, meta=StrategyMeta(name="r"), strategy_id=sid, source=sma_source + "\n")
    assert strategies.restore(db, sid, 1) == 3
    latest = strategies.get_version(db, sid)
    assert latest.source == sma_source and latest.message == "restored from v1"
    assert strategies.restore(db, sid, 3) == 3  # already the newest: no new version


def test_clone_has_its_own_history(db: Path, sma_source: str) -> None:
    meta = StrategyMeta(name="orig", tags=("x",))
    sid, _ = strategies.save(db, meta=meta, source=sma_source)
    strategies.save(db, meta=meta, strategy_id=sid, source=sma_source + "\n")
    copy = strategies.clone(db, sid)
    record = strategies.get(db, copy)
    assert record.meta.name == "copy of orig" and record.meta.tags == ("x",)
    assert [h.version for h in strategies.history(db, copy)] == [1]
    assert strategies.get_version(db, copy).message == "cloned from orig v2"
    assert len(strategies.history(db, sid)) == 2


def test_soft_delete_keeps_versions_and_labels_runs(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="gone"), source=sma_source)
    strategies.delete(db, sid)
    assert sid not in {r.id for r in strategies.list_strategies(db)}
    assert strategies.get(db, sid).deleted and strategies.get_version(db, sid).source
    assert strategies.run_strategy_label(db, sid, "gone") == "gone (deleted)"
    assert strategies.strategy_label("kept", deleted=False) == "kept"
    with pytest.raises(NotFoundError):
        strategies.save(db, meta=StrategyMeta(name="gone"), source="x", strategy_id=sid)


def test_export_names_the_file_from_ids_only(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="../../etc/passwd"), source=sma_source)
    name, data = strategies.export(db, sid)
    assert name == f"strategy-{sid}-v1.py" and data == sma_source.encode()


def test_empty_name_is_refused(db: Path, sma_source: str) -> None:
    with pytest.raises(PineOptError, match="needs a name"):
        strategies.save(db, meta=StrategyMeta(name="  "), source=sma_source)


def test_library_rows_filter_and_search(db: Path, sma_source: str) -> None:
    a, _ = strategies.save(db, meta=StrategyMeta(name="Alpha", tags=("trend",), author="ann"),
                           source=sma_source)
    b, _ = strategies.save(db, meta=StrategyMeta(name="Beta", tags=("mr",)),
                           source="import os\n" + sma_source)
    assert {r.id for r in strategy_library.library(db)} >= {a, b}
    assert [r.id for r in strategy_library.library(db, search="ANN")] == [a]
    assert [r.id for r in strategy_library.library(db, tag="mr")] == [b]
    assert [r.id for r in strategy_library.library(db, status="invalid")] == [b]
    assert strategy_library.library(db, language=Language.PINE) == []
    assert {"trend", "mr"} <= set(strategy_library.tags_in_use(db))
    row = strategy_library.library(db, search="alpha")[0]
    assert (row.version, row.status, row.last_return) == (1, "valid", None)


def test_library_shows_the_last_completed_runs_return(db: Path, sma_source: str) -> None:
    sid, _ = strategies.save(db, meta=StrategyMeta(name="ran"), source=sma_source)
    with store.connect(db) as con:
        for run_id, value in ((901, 0.1), (902, -0.05)):
            con.execute("INSERT INTO backtests (id, run_hash, strategy_id, strategy_version, "
                        "config, status) VALUES (?, 'h', ?, 1, '{}', 'completed')",
                        [run_id, sid])
            con.execute("INSERT INTO backtest_metrics VALUES (?, 'total_return', ?, 'all')",
                        [run_id, value])
    row = strategy_library.library(db, search="ran")[0]
    assert (row.last_return, row.last_run_id) == (-0.05, 902)
