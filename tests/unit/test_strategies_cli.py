"""`pineopt validate` and `pineopt strategies ...` in-process (same parser and handlers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout, stderr of one CLI call."""
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_exit_codes_and_line_numbers(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    assert run(capsys, "validate", str(EXAMPLE))[0] == 0
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n" + EXAMPLE.read_text())
    code, out, _ = run(capsys, "validate", str(bad))
    assert code == 1 and f"{bad}:1:1: error: Import of 'os' is not allowed" in out
    code, out, _ = run(capsys, "validate", str(bad), "--json")
    data = json.loads(out)
    assert code == 1 and data["valid"] is False and data["issues"][0]["line"] == 1


def test_validate_refuses_wrong_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("x")
    code, _, err = run(capsys, "validate", str(text))
    assert code == 1 and "only .py (Python) and .pine" in err


def test_add_list_show_export_delete(home: Path, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    code, out, _ = run(capsys, "strategies", "add", str(EXAMPLE), "--name", "Cross", "--json")
    added = json.loads(out)
    assert code == 0 and added["version"] == 1 and added["valid"]
    sid = added["id"]
    changed = tmp_path / "cross.py"
    changed.write_text(EXAMPLE.read_text().replace("fast = 20", "fast = 12"))
    code, out, _ = run(capsys, "strategies", "add", str(changed), "--name", "Cross", "--json")
    assert json.loads(out)["version"] == 2 and json.loads(out)["id"] == sid

    code, out, _ = run(capsys, "strategies", "list", "--json", "--search", "cross")
    assert [(r["id"], r["version"], r["status"]) for r in json.loads(out)] == [(sid, 2, "valid")]
    code, out, _ = run(capsys, "strategies", "show", str(sid), "--json")
    shown = json.loads(out)
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert shown["parameters"][0] == {"name": "fast", "type": "int", "default": 12, "min": 5,
                                      "max": 100, "description": "bars in the fast average"}
    code, out, _ = run(capsys, "strategies", "show", str(sid))
    assert code == 0 and "param fast: int = 12 [5..100]" in out

    code, out, _ = run(capsys, "strategies", "export", str(sid), "--version", "1", "-o",
                       str(tmp_path))
    assert (tmp_path / f"strategy-{sid}-v1.py").read_text() == EXAMPLE.read_text()

    assert run(capsys, "strategies", "delete", str(sid))[0] == 0
    code, out, _ = run(capsys, "strategies", "list", "--json")
    assert sid not in [r["id"] for r in json.loads(out)]
    code, _, err = run(capsys, "strategies", "show", "999")
    assert code == 1 and "does not exist" in err
