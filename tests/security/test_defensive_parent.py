"""The parent cannot be knocked over by what a sandboxed child returns.

Raw hostile Python (no validation, no RestrictedPython) runs under the identical firejail command
line and attacks the parent through its out/ files and the result channel: a 60-million-row
Parquet bomb in a tiny file, a deeply nested JSON line, a number that overflows to infinity,
wrong types and unknown keys, a flood of progress messages, a FIFO where a file should be. Each
must end the run result_rejected with a message naming the fault, while the test process (the
parent) grows by less than 50 MB: its peak RSS is reset through /proc/self/clear_refs before the
attack and read from VmHWM after it (a measure of memory, not time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.security.harness import Verdict, run_raw
from tests.security.test_forged_results import FORGE

pytestmark = pytest.mark.sandbox
MAX_GROWTH_KB = 50 * 1024
HONEST = "t = trade()\nsave(honest_equity(t), t)\n"

BOMB = FORGE + """
import pyarrow as pa
import pyarrow.parquet as pq
t = trade()
save(honest_equity(t), t)
block = pa.table({COLUMNS})
with pq.ParquetWriter(out + 'FILE', block.schema, use_dictionary=True) as writer:
    for _ in range(60):  # 60 row groups of 1 M identical rows: 60 M rows
        writer.write_table(block, row_group_size=1_000_000)
size = os.path.getsize(out + 'FILE')
assert size < LIMIT, size
os.write(fd, (json.dumps({'type': 'raw', 'escaped': False, 'detail': str(size)}) + '\\n').encode())
send(1)
result = size
"""
BOMB_BYTES = {"equity.parquet": 300_000, "trades.parquet": 4_000_000}  # on disk, vs GBs decoded
EQUITY_BOMB = BOMB.replace("FILE", "equity.parquet").replace("LIMIT", "300_000").replace(
    "{COLUMNS}", "{'equity': pa.array(np.full(1_000_000, cash))}")
TRADES_BOMB = BOMB.replace("FILE", "trades.parquet").replace("LIMIT", "4_000_000").replace(
    "{COLUMNS}", "{c: pa.array(np.full(1_000_000, 1.0)) for c in ['Size', 'EntryPrice', "
                 "'ExitPrice', 'PnL', 'Commission', 'ReturnPct']} | {c: pa.array(np.full("
                 "1_000_000, 10)) for c in ['EntryBar', 'ExitBar']} | {c: pa.array(np.full("
                 "1_000_000, data.index[10].value), pa.timestamp('ns')) for c in ['EntryTime', "
                 "'ExitTime']} | {'Tag': pa.repeat('x', 1_000_000)}")
LINE = "os.write(fd, {line} + b'\\n')\nimport time\ntime.sleep(30)\n"


def _line(text: bytes | str) -> str:
    """The honest files, then one result-channel line: bytes as they are, or a str holding a
    Python expression the child evaluates (firejail refuses arguments over 4 KB)."""
    return FORGE + HONEST + LINE.format(line=text if isinstance(text, str) else repr(text))


RESULT = b'{"type": "result", "bars": 300, "trades": 1, "claimed": {}'
ATTACKS = {
    "parquet_bomb_equity_60m_rows": (EQUITY_BOMB, "equity.parquet has 60,000,000 rows"),
    "parquet_bomb_trades_60m_rows": (TRADES_BOMB, "trades.parquet has 60,000,000 rows, over"),
    "nested_json_line": (_line("""b'{"type": "result", "claimed": ' + b'[' * 60_000 + """
                               """b']' * 60_000 + b'}'"""), "nested too deeply"),
    "trades_1e400": (_line(b'{"type": "result", "bars": 300, "trades": 1e400, "claimed": {}}'),
                     "1e400 overflows to infinity"),
    "huge_integer": (_line("""b'{"type": "result", "bars": 300, "trades": ' + b'9' * 5000 + """
                           """b', "claimed": {}}'"""), "not valid JSON"),
    "trades_as_text": (_line(RESULT.replace(b'"trades": 1', b'"trades": "1"') + b"}"),
                       "'trades' is a str, not an int"),
    "unknown_result_key": (_line(RESULT + b', "__reduce__": 1}'), "unknown keys ['__reduce__']"),
    "duplicate_key": (_line(RESULT + b', "trades": 2}'), "duplicate key"),
    "not_an_object": (_line(b"[1, 2, 3]"), "not an object with a string 'type'"),
    "invalid_utf8": (_line(b'{"type": "result\xff"}'), "not valid JSON"),
    "progress_flood": (FORGE + "flood = b'{\"type\": \"progress\", \"done\": 1, \"total\": 2}\\n'"
                               " * 1000\nwhile True:\n    os.write(fd, flood)",
                       "more than 10,000 messages"),
    "fifo_as_trades_file": (FORGE + "t = trade()\nsave(honest_equity(t), t)\n"
                                    "os.remove(out + 'trades.parquet')\n"
                                    "os.mkfifo(out + 'trades.parquet')\nsend(1)",
                            "trades.parquet is not a regular file"),
    "unexpected_file_in_out": (FORGE + HONEST + "open(out + 'extra.bin', 'wb').write(b'x')\n"
                                                "send(1)", "out/ holds 'extra.bin'"),
    "plots_from_a_python_run": (FORGE + HONEST + "pd.DataFrame({'fake': np.ones(n)}).to_parquet("
                                                 "out + 'plots.parquet')\nsend(1)",
                                "out/ holds 'plots.parquet'"),
}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/self/status")


@contextmanager
def peak_growth() -> Iterator[dict[str, int]]:
    """Yields a dict that holds, afterwards, growth_kb: this process's peak RSS during the block
    minus its RSS before it (the peak is reset first: 5 > /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    found: dict[str, int] = {}
    yield found
    found["growth_kb"] = _status_kb("VmHWM") - before


@pytest.fixture(scope="module")
def verdicts(sec_settings, canaries) -> dict[str, tuple[Verdict, int]]:
    """Every attack, one at a time (the peak RSS is per process), after one honest warm-up run
    (so lazy imports of the reading code do not count)."""
    warm = run_raw(sec_settings, FORGE + HONEST + "send(1)")
    assert warm.status == "completed", warm.message
    out = {}
    for name, (body, _says) in ATTACKS.items():
        with peak_growth() as measured:
            verdict = run_raw(sec_settings, body)
        out[name] = (verdict, measured["growth_kb"])
    return out


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_ends_result_rejected_and_names_the_fault(name: str, verdicts) -> None:
    verdict, _growth = verdicts[name]
    assert verdict.status == "result_rejected", (verdict.status, verdict.message, verdict.log)
    assert verdict.message.startswith("Result rejected: ")
    assert ATTACKS[name][1] in verdict.message, verdict.message


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_parent_grows_less_than_50_mb(name: str, verdicts) -> None:
    _verdict, growth_kb = verdicts[name]
    assert growth_kb < MAX_GROWTH_KB, f"the parent grew {growth_kb:,} KB"


def test_the_bombs_are_tiny_files(verdicts) -> None:
    for name, file in (("parquet_bomb_equity_60m_rows", "equity.parquet"),
                       ("parquet_bomb_trades_60m_rows", "trades.parquet")):
        reports = [m for m in verdicts[name][0].messages if m.get("type") == "raw"]
        assert reports and int(reports[0]["detail"]) < BOMB_BYTES[file], reports
