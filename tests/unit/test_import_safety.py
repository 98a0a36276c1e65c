"""Imports never damage stored data (issue 18): invalid bars are refused, changes to stored bars
need an explicit replace, and decompression bombs are refused without inflating them."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pandas as pd
import pytest

import cli
from core.market import decompress, importers, catalogue as market_data
from core.errors import DataError
from tests.conftest import REPO

GOOD = ["1704067200000,100,110,90,105,10", "1704070800000,105,112,101,108,12",
        "1704074400000,108,109,95,99,8"]
KEY = {"exchange": "imported", "market": "spot", "symbol": "BNBUSDT", "timeframe": "1h"}


def _bars(db: Path) -> pd.DataFrame:
    return market_data.load_ohlcv(db, **KEY, start="2024-01-01", end="2024-01-01")


def _file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "BNBUSDT-1h-2024-01.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("row", "why"), [
    ("1704070800000,105,112,-1,108,12", "price <= 0"),  # a negative low
    ("1704070800000,0,0,0,0,0", "price <= 0"),  # an all-zero bar
    ("1704070800000,105,100,110,108,12", "High below"),  # high < low
])
def test_a_bad_bar_reimport_leaves_stored_bars_unchanged(settings, tmp_path, row, why) -> None:
    importers.import_file(settings.db_path, _file(tmp_path, GOOD))
    before = _bars(settings.db_path)
    with pytest.raises(DataError, match=why) as caught:
        importers.import_file(settings.db_path, _file(tmp_path, [GOOD[0], row, GOOD[2]]),
                              replace=True)  # not even an explicit replace lets them in
    assert "Nothing was imported" in str(caught.value) and "2024-01-01 01:00" in str(caught.value)
    pd.testing.assert_frame_equal(_bars(settings.db_path), before)


def test_a_reimport_that_changes_stored_bars_needs_replace(settings, tmp_path) -> None:
    importers.import_file(settings.db_path, _file(tmp_path, GOOD))
    before = _bars(settings.db_path)
    changed = [GOOD[0], "1704070800000,105,112,101,107.5,12", GOOD[2],
               "1704078000000,99,101,98,100,5"]  # one bar changes, one is new
    with pytest.raises(importers.ReplaceNeeded, match="1 bar.*would change.*--replace") as caught:
        importers.import_file(settings.db_path, _file(tmp_path, changed))
    diff = caught.value.changes
    assert caught.value.count == 1
    assert diff.to_dict("records") == [{"ts": pd.Timestamp("2024-01-01 01:00"), "field": "close",
                                        "stored": 108.0, "imported": 107.5}]
    pd.testing.assert_frame_equal(_bars(settings.db_path), before)  # not even the new bar
    report = importers.import_file(settings.db_path, _file(tmp_path, changed), replace=True)
    assert report.datasets[0].new_rows == 1
    assert _bars(settings.db_path)["Close"].tolist() == [105.0, 107.5, 99.0, 100.0]


def test_cli_shows_the_differences_and_takes_replace(home, capsys, tmp_path) -> None:
    assert cli.main(["data", "import", str(_file(tmp_path, GOOD))]) == 0
    changed = [GOOD[0], GOOD[1], "1704074400000,108,109,95,98,8"]
    assert cli.main(["data", "import", str(_file(tmp_path, changed))]) == 1
    err = capsys.readouterr().err
    assert "2024-01-01 02:00:00  close  99" in err and "98" in err and "--replace" in err
    assert cli.main(["data", "import", "--replace", str(_file(tmp_path, changed))]) == 0
    assert _bars(home / "pineopt.duckdb")["Close"].iloc[-1] == 98.0


def _zeros_deflate(chunks: int) -> bytes:
    """A raw deflate stream of chunks x 16 MiB of zeros, built in well under a second: with a
    full flush after each chunk every chunk compresses to the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zero = bytes(1 << 24)
    block = packer.compress(zero) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * chunks + packer.flush()


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of pre-deflated members (name, deflate stream, unpacked size), CRC left 0."""
    local, central = b"", b""
    for name, packed, size in members:
        raw = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0,
                               len(packed), size, len(raw), 0, 0, 0, 0, 0, len(local)) + raw
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(packed), size,
                             len(raw), 0) + raw + packed
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(local), 0)
    return local + central + end


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """About 10 MB of zip that unpacks to 11 GB (three members of 3.7 GB each)."""
    chunks = 3700 // 16
    packed = _zeros_deflate(chunks)
    path = tmp_path_factory.mktemp("bomb") / "BTCUSDT-1m-2024-01.zip"
    path.write_bytes(_zip([(f"part{i}.csv", packed, chunks << 24) for i in range(3)]))
    return path


MEASURE = ("import sys\nfrom pathlib import Path\nfrom core.market import importers\n"
           "from core.errors import DataError\n"
           "def kb(field):\n    for line in open('/proc/self/status'):\n"
           "        if line.startswith(field):\n            return int(line.split()[1])\n"
           "data = Path(sys.argv[1]).read_bytes()\nbase = kb('VmRSS:')\n"
           "for call in (lambda: importers.preview(Path(sys.argv[1]).name, data),\n"
           "             lambda: importers.import_file(Path(sys.argv[2]), Path(sys.argv[1]))):\n"
           "    try:\n        call()\n        print('accepted')\n"
           "    except DataError as exc:\n        print(exc)\n"
           "print((kb('VmHWM:') - base) // 1024)\n")


def test_a_10_mb_zip_bomb_is_refused_and_the_process_grows_under_100_mb(bomb, settings) -> None:
    assert 9e6 < bomb.stat().st_size < 12e6
    out = subprocess.run([sys.executable, "-c", MEASURE, str(bomb), str(settings.db_path)],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.splitlines()
    preview, imported, grown_mb = out[0], out[1], int(out[2])
    for message in (preview, imported):  # selecting the file (preview) and importing it
        assert "decompression bomb" in message and "unpack" in message, message
    assert grown_mb < 100, f"the process grew {grown_mb} MB"


def test_a_gzip_bomb_stops_while_inflating() -> None:
    packed = _zeros_deflate(64)  # 1 GiB of zeros in about 1 MB
    gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + packed + struct.pack("<II", 0, 0)
    with pytest.raises(DataError, match="decompression bomb"):
        importers.read_members("prices.csv.gz", gz)


def test_a_zip_member_lying_about_its_size_is_refused() -> None:
    packed = _zeros_deflate(4)  # 64 MiB declared as 1 MiB: zipfile stops at the declared size
    with pytest.raises(DataError, match="not a valid zip"):
        importers.read_members("x.zip", _zip([("a.csv", packed, 1 << 20)]))


def test_gzip_csv_imports_and_is_not_called_non_utf8(settings, tmp_path) -> None:
    import gzip

    path = tmp_path / "BNBUSDT-1h-2024-01.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(GOOD) + "\n").encode()))
    report = importers.import_file(settings.db_path, path)
    assert report.datasets[0].rows == 3 and report.datasets[0].symbol == "BNBUSDT"


def test_one_upload_limit_everywhere() -> None:
    config = (REPO / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {decompress.UPLOAD_MAX_MB} " in config
    from ui import data_panels

    assert data_panels.UPLOAD_MAX_MB == decompress.UPLOAD_MAX_MB
    assert f"{decompress.UPLOAD_MAX_MB} MB" in (REPO / "README.md").read_text()
