"""Upload checks: wrong extension, empty, binary, non-UTF-8, too large -> a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.strategies import files
from core.errors import PineOptError
from core.model import Language


@pytest.mark.parametrize(("name", "data", "needle"), [
    ("notes.txt", b"x = 1", "only .py (Python) and .pine"),
    ("strategy", b"x = 1", "only .py (Python) and .pine"),
    ("empty.py", b"  \n\n", "is empty"),
    ("blob.py", b"x = 1\x00\x01", "looks binary"),
    ("latin.py", b"x = 1\n# caf\xe9\n", "not UTF-8 text (bad byte at line 2)"),
    ("huge.py", b"#" * (files.MAX_UPLOAD_BYTES + 1), "strategies are limited to 512 KB"),
])
def test_bad_uploads_are_refused_with_a_reason(name: str, data: bytes, needle: str) -> None:
    with pytest.raises(PineOptError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        files.decode_upload(name, data)


def test_good_uploads_decode_with_language_from_extension() -> None:
    py = files.decode_upload("My.PY", b"\xef\xbb\xbfx = 1\r\ny = 2\r\n")
    assert (py.source, py.language) == ("x = 1\ny = 2\n", Language.PYTHON)
    pine = files.decode_upload("s.pine", "//@version=5\nstrategy('é')\n".encode())
    assert pine.language is Language.PINE and "é" in pine.source


def test_exactly_ten_megabytes_is_accepted() -> None:
    data = b"#" * (files.MAX_UPLOAD_BYTES - 1) + b"\n"
    assert len(files.decode_upload("big.py", data).source) == files.MAX_UPLOAD_BYTES


def test_read_strategy_file_checks_the_path(tmp_path: Path) -> None:
    with pytest.raises(PineOptError, match="does not exist"):
        files.read_strategy_file(tmp_path / "missing.py")
    path = tmp_path / "ok.py"
    path.write_text("x = 1\n")
    assert files.read_strategy_file(path).source == "x = 1\n"
