"""`pineopt data ...` end to end through cli.main on a temp store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import cli
from core.market import catalogue as market_data
from core import store

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "valid"
MALFORMED = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "malformed"


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_import_then_list_json(home, capsys) -> None:
    out = _json(capsys, ["data", "import", str(VALID / "BTCUSDT-1h-2024-01-02.csv"), "--market",
                         "perp", "--json"])
    assert out["datasets"][0]["rows"] == 24 and out["datasets"][0]["quality"]["badge"] == "ok"
    rows = _json(capsys, ["data", "list", "--json"])
    mine = [r for r in rows if r["exchange"] == "binance"]
    assert mine == [{"exchange": "binance", "market": "perp", "symbol": "BTCUSDT",
                     "timeframe": "1h", "first": "2024-01-02 00:00:00",
                     "last": "2024-01-02 23:00:00", "bars": 24, "missing_bars": 0,
                     "synthetic": False, "quality": "ok"}]
    assert {r["market"] for r in rows if r["synthetic"]} == {"spot", "perp"}


def test_import_error_is_one_line_exit_1(home, capsys) -> None:
    assert cli.main(["data", "import", str(MALFORMED / "truncated_row.csv"), "--symbol",
                     "X"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pineopt: truncated_row.csv: line 4 has 4 fields, expected 12")


def test_import_with_map(home, capsys, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,a,b,c,d,e\n2024-01-01 00:00,1,2,0.5,1.5,7\n"
                    "2024-01-01 00:15,1.5,2.5,1,2,8\n")
    assert cli.main(["data", "import", str(path), "--symbol", "LINK/USDT", "--map",
                     "time=when,open=a,high=b,low=c,close=d,volume=e"]) == 0
    assert "imported/spot/LINKUSDT 15m: 2 rows (2 new)" in capsys.readouterr().out


def test_quality_json_and_repair(home, capsys, tmp_path: Path) -> None:
    # Bars stored before imports refused invalid ones (or by a download): repairs still work.
    bars = pd.DataFrame({"ts": pd.to_datetime([1704067200000, 1704070800000, 1704078000000],
                                              unit="ms"),
                         "open": 1.0, "high": [2.0, 0.9, 2.0], "low": 0.5, "close": 1.5,
                         "volume": 10.0})
    with store.transaction(home / "pineopt.duckdb") as con:
        market_data.upsert_ohlcv(con, bars, exchange="imported", market="spot",
                                 symbol="BNBUSDT", timeframe="1h")
    report = _json(capsys, ["data", "quality", "--symbol", "BNBUSDT", "--timeframe", "1h",
                            "--json"])
    assert report["badge"] == "problems" and {i["kind"] for i in report["issues"]} == {"gaps",
                                                                                       "ohlc"}
    fixed = _json(capsys, ["data", "quality", "--symbol", "BNBUSDT", "--timeframe", "1h",
                           "--repair", "ohlc", "--repair", "gaps", "--json"])
    assert fixed["ok"] and fixed["repaired"] == "ohlc: 1 bars; gaps: 1 bars"


def test_quality_ambiguous_symbol_asks_for_market(home, capsys) -> None:
    assert cli.main(["data", "quality", "--symbol", "BTCUSDT", "--timeframe", "1h"]) == 1
    assert ("several markets (sample/perp, sample/spot); add --market to choose one: "
            "--market perp or --market spot.") in capsys.readouterr().err


def test_export_names_only_the_ambiguous_option(home, capsys, tmp_path: Path) -> None:
    """One exchange holds BTCUSDT spot and perp: only --market is asked for, with its choices;
    with --market the one matching dataset is used (no --exchange needed)."""
    out = tmp_path / "btc.csv"
    assert cli.main(["data", "export", "--symbol", "BTCUSDT", "--timeframe", "1d",
                     "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "add --market to choose one: --market perp or --market spot." in err
    assert "--exchange" not in err
    assert cli.main(["data", "export", "--symbol", "BTCUSDT", "--market", "spot",
                     "--timeframe", "1d", "-o", str(out)]) == 0
    assert "sample/spot/BTCUSDT" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_resampled(home, capsys, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"eth{suffix}"
    assert cli.main(["data", "export", "--symbol", "ETHUSDT", "--market", "perp", "--timeframe",
                     "1d", "--start", "2024-01-01", "--end", "2024-01-10", "-o", str(out)]) == 0
    assert "wrote 10 1d bars of sample/perp/ETHUSDT" in capsys.readouterr().err
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(frame.columns) == ["time", "open", "high", "low", "close", "volume"]
    assert len(frame) == 10


def test_export_refuses_unknown_suffix(home, capsys, tmp_path: Path) -> None:
    assert cli.main(["data", "export", "--symbol", "ETHUSDT", "--market", "spot", "--timeframe",
                     "1h", "-o", str(tmp_path / "x.xlsx")]) == 1
    assert "use a .csv or .parquet file name" in capsys.readouterr().err


def test_symbols_search(home, capsys) -> None:
    rows = _json(capsys, ["data", "symbols", "eth", "--market", "perp", "--json"])
    assert [(r["exchange"], r["symbol"], r["tick_size"]) for r in rows] == [
        ("sample", "ETHUSDT", 0.01)]
