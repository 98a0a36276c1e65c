"""Messages and side effects found by the reliability audit (issue 18, item 9) and the rule that
read-only commands never write to the store."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

import cli
from core.market import importers
from core import store
from core.strategies import crud as strategies
from core.errors import DataError
from tests.conftest import REPO

SMA = REPO / "examples" / "sma_cross.py"
RUN = ["backtest", str(SMA), "--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2024-01-01",
       "--end", "2024-01-31"]


def _no_strategy_saved(home: Path) -> bool:
    return not strategies.list_strategies(home / "pineopt.duckdb")


@pytest.mark.parametrize(("extra", "expected", "absent"), [
    (["--commission", "2"], "--commission 2.0 is out of range", "--maker-fee"),
    (["--param", "fast=1e308"], "Parameter fast=1e+308 is outside its range 5..100", "0000000"),
])
def test_bad_flags_are_named_as_typed_and_nothing_is_saved(home, capsys, extra, expected,
                                                           absent) -> None:
    assert cli.main([*RUN, *extra]) == 1
    err = capsys.readouterr().err
    assert expected in err and absent not in err and len(err) < 300, err
    assert _no_strategy_saved(home)  # a failed backtest does not save a version first


def test_an_invalid_strategy_is_neither_saved_nor_run(home, capsys, tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    assert cli.main(["backtest", str(bad), "--symbol", "BTCUSDT", "--timeframe", "1h"]) == 1
    assert "neither saved nor run" in capsys.readouterr().err
    assert _no_strategy_saved(home)


def test_one_or_two_bars_are_refused_with_a_message(home, capsys) -> None:
    assert cli.main(["backtest", str(SMA), "--symbol", "BTCUSDT", "--timeframe", "1d", "--start",
                     "2024-01-01", "--end", "2024-01-02"]) == 1
    assert "has only 2 bar(s)" in capsys.readouterr().err and _no_strategy_saved(home)


def test_a_nan_is_reported_as_a_nan_with_line_and_column(settings, tmp_path) -> None:
    path = tmp_path / "BNBUSDT-1h-x.csv"
    path.write_text("1704067200000,1,2,0.5,1.5,10\n1704070800000,1,2,0.5,NaN,10\n")
    with pytest.raises(DataError, match=r"line 2, column '4' \(close\): a NaN"):
        importers.import_file(settings.db_path, path)
    path.write_text("1704067200000,1,2,0.5,1.5,10\n1704070800000,1,2,0.5,,10\n")
    with pytest.raises(DataError, match=r"line 2, column '4' \(close\): an empty field"):
        importers.import_file(settings.db_path, path)


def test_an_hourly_file_is_refused_as_one_minute_data(settings, tmp_path) -> None:
    path = tmp_path / "BNBUSDT.csv"
    path.write_text("".join(f"{1704067200000 + i * 3_600_000},1,2,0.5,1.5,10\n"
                            for i in range(5)))
    with pytest.raises(DataError, match="not 1m data"):
        importers.import_file(settings.db_path, path,
                              target=importers.Target(symbol="BNBUSDT", timeframe="1m"))


def test_gzip_content_is_unpacked_not_called_non_utf8(settings, tmp_path) -> None:
    path = tmp_path / "BNBUSDT-1h-2024-01.csv"  # gzip inside, whatever the name says
    path.write_bytes(gzip.compress(b"1704067200000,1,2,0.5,1.5,10\n"
                                   b"1704070800000,1,2,0.5,1.5,10\n"))
    assert importers.import_file(settings.db_path, path).datasets[0].rows == 2


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


READS = [["runs", "list"], ["data", "list"], ["strategies", "list"], ["runs", "list", "--json"]]


def test_read_only_commands_never_write(home, capsys) -> None:
    db = home / "pineopt.duckdb"
    before = _digest(db)
    for argv in READS:
        assert cli.main(argv) == 0, capsys.readouterr().err
    assert _digest(db) == before
    assert not (home / "instances").exists()  # no owner was started either


def test_read_only_commands_refuse_an_old_schema_without_migrating(home, capsys) -> None:
    db = home / "pineopt.duckdb"
    with store.connect(db) as con:
        con.execute("DELETE FROM schema_migrations WHERE version = ?", [store.LATEST_SCHEMA])
    before = _digest(db)
    assert cli.main(["runs", "list"]) == 1
    assert "Run `pineopt init`" in capsys.readouterr().err
    assert _digest(db) == before
    assert cli.main(["init"]) == 0  # the owner migrates
    assert store.schema_version(db) == store.LATEST_SCHEMA


def test_read_only_commands_without_a_store_say_how_to_make_one(tmp_path, monkeypatch,
                                                               capsys) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(tmp_path / "none"))
    assert cli.main(["runs", "list"]) == 1
    assert "no PineOpt store" in capsys.readouterr().err
    assert not (tmp_path / "none" / "pineopt.duckdb").exists()
