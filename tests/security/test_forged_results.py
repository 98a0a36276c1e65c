"""Results forged inside the sandbox (files in out/ plus a result message) never reach the store:
the parent's checks reject each one with status result_rejected (or ignore what cannot parse).

The forging code is raw Python run under the real firejail command line, the strongest position
an escaped strategy could have.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.security.harness import Verdict, run_raw

pytestmark = pytest.mark.sandbox

FORGE = """
import json
import numpy as np
import pandas as pd
data = pd.read_parquet(job_dir + '/ohlcv.parquet')
out = job_dir + '/out/'
n = len(data)
cash = 100000.0

def trade(entry_price=None, pnl=None, entry_time=None, tag=None):
    i, j = 10, 20
    ep = float(data.Open.iloc[i]) if entry_price is None else entry_price
    xp = float(data.Open.iloc[j])
    real = xp - ep
    return pd.DataFrame({'Size': [1.0], 'EntryBar': [i], 'ExitBar': [j], 'EntryPrice': [ep],
                         'ExitPrice': [xp], 'PnL': [real if pnl is None else pnl],
                         'Commission': [0.0], 'ReturnPct': [xp / ep - 1],
                         'EntryTime': [data.index[i] if entry_time is None else entry_time],
                         'ExitTime': [data.index[j]], 'Tag': [tag]})

def honest_equity(t):
    eq = np.full(n, cash)
    i, j, ep = int(t.EntryBar[0]), int(t.ExitBar[0]), float(t.EntryPrice[0])
    eq[i:j] = cash + (data.Close.to_numpy()[i:j] - ep)
    eq[j:] = cash + float(t.PnL[0])
    return eq

def send(trades_n, **extra):
    os.write(fd, (json.dumps({'type': 'result', 'bars': n, 'trades': trades_n, 'claimed': {},
                              **extra}) + '\\n').encode())

def save(eq, t):
    pd.DataFrame({'equity': eq}).to_parquet(out + 'equity.parquet')
    t.to_parquet(out + 'trades.parquet')
"""

FORGERIES = {
    "equity_inflated_mid_run": ("t = trade()\neq = honest_equity(t)\neq[100] *= 2\nsave(eq, t)\n"
                                "send(1)", "the equity at bar 100"),
    "equity_inflated_at_the_end_only": ("t = trade()\neq = honest_equity(t)\neq[-2:] += 5e4\n"
                                        "save(eq, t)\nsend(1)", "the equity at bar"),
    "fill_above_the_bar_high": ("t = trade(entry_price=float(data.High.iloc[10]) * 1.5)\n"
                                "save(honest_equity(t), t)\nsend(1)", "outside its bar's low-high"),
    "fill_at_a_fake_time": ("t = trade(entry_time=data.index[10] + pd.Timedelta(minutes=7))\n"
                            "save(honest_equity(t), t)\nsend(1)", "entry time is not its bar's"),
    "pnl_not_matching_fills": ("t = trade(pnl=12345.0)\nsave(honest_equity(t), t)\nsend(1)",
                               "does not match its fills"),
    "non_finite_equity": ("t = trade()\neq = honest_equity(t)\neq[5] = np.nan\nsave(eq, t)\n"
                          "send(1)", "non-finite"),
    "trade_count_lies": ("t = trade()\nsave(honest_equity(t), t)\nsend(7)",
                         "trade count does not match"),
    "equity_rows_missing": ("t = trade()\nsave(honest_equity(t)[:-3], t)\nsend(1)",
                            "rows for"),
    "pickle_payload_as_parquet": ("import pickle\nt = trade()\nsave(honest_equity(t), t)\n"
                                  "open(out + 'trades.parquet', 'wb').write(pickle.dumps(t))\n"
                                  "send(1)", "not a valid Parquet file"),
    "symlink_to_a_secret": ("t = trade()\nsave(honest_equity(t), t)\n"
                            "os.remove(out + 'trades.parquet')\n"
                            "os.symlink('/etc/passwd', out + 'trades.parquet')\nsend(1)",
                            "trades.parquet is not a regular file"),
    "schema_missing_columns": ("t = trade().drop(columns=['PnL'])\n"
                               "pd.DataFrame({'equity': np.full(n, cash)}).to_parquet(out + "
                               "'equity.parquet')\nt.to_parquet(out + 'trades.parquet')\nsend(1)",
                               "lacks columns"),
}


@pytest.fixture(scope="session")
def forged(sec_settings, canaries) -> dict[str, Verdict]:
    """Every forgery, run in parallel through real sandboxes."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run_raw, sec_settings, FORGE + body)
                   for name, (body, _) in FORGERIES.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_result_is_rejected(name: str, forged) -> None:
    verdict = forged[name]
    assert verdict.status == "result_rejected", (verdict.status, verdict.message, verdict.log)
    assert verdict.message.startswith("Result rejected: ")
    assert FORGERIES[name][1] in verdict.message


def test_honest_files_pass_the_same_checks(sec_settings) -> None:
    verdict = run_raw(sec_settings, FORGE + "t = trade(tag='x' * 5000)\n"
                                             "save(honest_equity(t), t)\nsend(1)")
    assert verdict.status == "completed", verdict.message


def test_oversized_result_message_is_stopped(sec_settings) -> None:
    verdict = run_raw(sec_settings, FORGE + "send(0, padding='x' * 300000)\nimport time\n"
                                            "time.sleep(5)", result_bytes=100_000)
    assert verdict.status == "output_limit" and "100,000 bytes" in verdict.message


def test_non_finite_json_is_never_accepted(sec_settings) -> None:
    verdict = run_raw(sec_settings, "os.write(fd, b'{\"type\": \"result\", \"bars\": NaN, "
                                    "\"trades\": 0, \"claimed\": {}}\\n')\nresult = 1")
    assert verdict.status == "result_rejected", (verdict.status, verdict.message)
    assert "non-finite number NaN" in verdict.message
