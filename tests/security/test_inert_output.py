"""Output that reaches the operator is inert, and plot series come only from the Pine runtime.

Whole-app paths (validation, queue, real firejail sandbox, store, exports, CLI): a strategy error
carrying an OSC 52 clipboard write and a screen clear reaches the terminal escaped; a trade tag
=HYPERLINK(...) reaches every CSV export as text (a leading single quote) while numbers stay
numbers; a Python strategy that fakes the Pine runtime's plot() record gets no plots stored.
Also: cancel ends a run whatever non-final state it is in.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.runs import jobs, service as runs
from core import store
from core.strategies import crud as strategies
from core.inert import FORMULA_STARTS, csv_bytes, terminal_text
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from reports import export

pytestmark = pytest.mark.sandbox
SHORT = BacktestConfig(start="2024-01-01", end="2024-01-10")
HOSTILE_TAG = '=HYPERLINK("http://x","y")'
OSC52 = "\x1b]52;c;aGFja2Vk\x07"
ERROR_SOURCE = f'''from backtesting import Strategy


class Evil(Strategy):
    def init(self):
        pass

    def next(self):
        raise ValueError("boom " + {OSC52!r} + " \\x1b[2J done")
'''
FAKE_PINE_SOURCE = '''from backtesting import Strategy


class FakePine:
    plots = {}


class Faker(Strategy):
    def init(self):
        self.pine = FakePine()
        self.pine.plots = {"Forged": [1.0] * len(self.data.Close)}

    def next(self):
        if not self.position:
            self.buy(tag=TAG)
        elif len(self.data) % 5 == 0:
            self.position.close()
'''.replace("TAG", repr(HOSTILE_TAG))


def _run(settings, source: str, name: str, *, cancel: threading.Event | None = None,
         progress=None) -> runs.RunRecord:
    sid, _ = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name=name),
                                     source=source, language=Language.PYTHON)
    run = runs.request_run(settings, strategy_id=sid, config=SHORT, force=True)
    return runs.execute(settings, run.id, cancel=cancel, progress=progress)


def test_terminal_text_escapes_every_control_character() -> None:
    shown = terminal_text("a" + OSC52 + "\x9b31m\r\u202eb\n\tc")
    assert shown == "a\\x1b]52;c;aGFja2Vk\\x07\\x9b31m\\x0d\\u202eb\n\tc"


def test_cli_shows_a_strategy_error_without_raw_escapes(home, capsys) -> None:
    import cli

    path = home / "evil.py"
    path.write_text(ERROR_SOURCE)
    code = cli.main(["backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h",
                     "--start", "2024-01-01", "--end", "2024-01-03"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "crashed" in err and "ValueError: boom" in err
    assert "\\x1b]52;c;aGFja2Vk\\x07" in err and "\\x1b[2J" in err  # shown, not obeyed
    assert "\x1b" not in err + out and "\x07" not in err + out


def test_cli_process_output_has_no_raw_escape(home) -> None:
    """The installed entry point, as an operator runs it (a real terminal gets these bytes)."""
    path = home / "evil.py"
    path.write_text(ERROR_SOURCE)
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "cli", "backtest", str(path), "--symbol", "BTCUSDT",
         "--timeframe", "1h", "--start", "2024-01-01", "--end", "2024-01-03"],
        capture_output=True, cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 1, done.stderr
    assert b"\\x1b]52;c;" in done.stderr
    assert b"\x1b" not in done.stdout + done.stderr


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def faked_run(sec_settings) -> runs.RunRecord:
    run = _run(sec_settings, FAKE_PINE_SOURCE, "fake-pine-hostile-tag")
    assert run.status is RunStatus.COMPLETED, run.error
    return run


def test_python_strategy_faking_pine_plots_gets_none_stored(faked_run, sec_settings) -> None:
    assert runs.run_trades(sec_settings.db_path, faked_run.id)["tag"].eq(HOSTILE_TAG).any()
    assert runs.run_plots(sec_settings.db_path, faked_run.id).empty


def test_csv_exports_keep_formulas_inert_and_numbers_numeric(faked_run, sec_settings, sec_home,
                                                           tmp_path: Path, monkeypatch) -> None:
    import cli

    monkeypatch.setenv("PINEOPT_HOME", str(sec_home))
    exported = export.report_bytes(sec_settings, faked_run.id, "csv")  # Results page + report
    target = tmp_path / "trades.csv"
    assert cli.main(["report", str(faked_run.id), "--format", "csv", "-o", str(target)]) == 0
    for data in (exported, target.read_bytes()):
        rows = _cells(data)
        header, body = rows[0], rows[1:]
        tags = [r[header.index("tag")] for r in body]
        assert tags and all(t == "'" + HOSTILE_TAG for t in tags)
        for row in rows:
            for cell in row:  # what a spreadsheet would evaluate: text starting = + - @ tab CR
                assert _is_number(cell) or not cell.startswith(FORMULA_STARTS), cell
        pnl = [float(r[header.index("pnl")]) for r in body]
        assert any(p < 0 for p in pnl) or any(p > 0 for p in pnl)


def test_csv_frame_quotes_formula_text_but_leaves_negative_numbers() -> None:
    import pandas as pd

    frame = pd.DataFrame({"tag": ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok", None],
                          "pnl": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    data = csv_bytes(frame)
    rows = _cells(data)[1:]
    assert [r[0] for r in rows[:6]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert rows[6][0] == "ok" and rows[7][0] == ""
    assert [r[1] for r in rows][:3] == ["-1.5", "2.0", "-3.0"]


def test_cancel_before_the_sandbox_starts(settings) -> None:
    cancel = threading.Event()
    cancel.set()
    run = _run(settings, FAKE_PINE_SOURCE, "cancel-early", cancel=cancel)
    assert run.status is RunStatus.CANCELLED and "Cancelled" in run.error


def test_cancel_as_the_result_arrives_stores_nothing(settings) -> None:
    """The cancel lands on the child's last progress message, just before its result: the run
    ends cancelled (stopped in the sandbox or before its result is checked) with nothing
    stored."""
    cancel = threading.Event()

    def progress(fraction: float) -> None:
        if fraction >= 1.0:
            cancel.set()

    run = _run(settings, FAKE_PINE_SOURCE, "cancel-late", cancel=cancel, progress=progress)
    assert run.status is RunStatus.CANCELLED, (run.status, run.error)
    assert runs.run_trades(settings.db_path, run.id).empty
    assert runs.run_equity(settings.db_path, run.id).empty


def test_cancel_a_run_whose_process_is_gone(settings) -> None:
    sid, _ = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="orphan"),
                                     source=FAKE_PINE_SOURCE, language=Language.PYTHON)
    run = runs.request_run(settings, strategy_id=sid, config=SHORT, force=True)
    dead_pid = _exited_pid()
    with store.connect(settings.db_path) as con:
        con.execute("UPDATE backtests SET status = 'running', owner_pid = ?, owner_token = NULL "
                    "WHERE id = ?", [dead_pid, run.id])  # its process is gone
    manager = jobs.JobManager(settings)
    try:
        assert manager.cancel(run.id)
    finally:
        manager.shutdown()
    assert runs.get_run(settings.db_path, run.id).status is RunStatus.CANCELLED


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])  # noqa: S607 - reaped below, so its pid is free
    proc.wait()
    return proc.pid
