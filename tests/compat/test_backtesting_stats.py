"""The Glossary's "Compared with backtesting.py" table is true: on a run whose trades equal
backtesting.py's, every pair marked equal is equal, and every stated difference is exactly the
formula the table gives, recomputed from backtesting.py's own output and the stored run."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest
from backtesting.backtesting import _indicator_warmup_nbars

from core.analytics import backtesting_stats, metrics
from core.runs import config_file, service as runs, semantics
from core.market import catalogue as market_data
from core.strategies import crud as strategies
from core.model import RunStatus, StrategyMeta
from core.settings import Settings
from tests.compat.test_semantics_cli import QUICK_START

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
WINDOW = {"exchange": "sample", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1d",
          "start": "2022-01-01", "end": "2024-12-31"}


def _run_both(template_home, tmp_path_factory, *, finalize: bool):  # noqa: ANN202
    """The Quick Start strategy on WINDOW stored by the lab (through the sandbox) and run by
    plain backtesting.py, both with ``finalize_trades=finalize``: (settings, run id, stats, data)."""
    import shutil

    from tests.conftest import make_settings

    home = tmp_path_factory.mktemp("finalized" if finalize else "stats") / "home"
    shutil.copytree(template_home, home)
    settings: Settings = make_settings(home)
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="qs"), source=QUICK_START)
    lab_semantics = semantics.defaults("backtesting", commission=0.002)
    if finalize:
        lab_semantics = {**lab_semantics, "finalize_trades": True}
    mapping = config_file.merge({**WINDOW, "cash_usdt": 10_000_000.0}, lab_semantics)
    run = runs.run_sync(settings, strategy_id=sid, config=config_file.build_config(mapping))
    assert run.status is RunStatus.COMPLETED, run.error
    data = market_data.load_ohlcv(settings.db_path, **WINDOW)
    namespace: dict = {}
    exec(compile(QUICK_START, "quick_start", "exec"), namespace)  # noqa: S102 - our source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(data, namespace["SmaCross"], cash=10_000_000, commission=0.002,
                         finalize_trades=finalize).run()
    return settings, run.id, stats, data


@pytest.fixture(scope="module")
def both(template_home, tmp_path_factory) -> tuple[dict, pd.Series, pd.Series, pd.DataFrame]:
    """(lab metrics, backtesting.py stats, stored equity, data) of one Quick Start run."""
    settings, run_id, stats, data = _run_both(template_home, tmp_path_factory, finalize=False)
    return (runs.run_metrics(settings.db_path, run_id), stats,
            runs.run_equity(settings.db_path, run_id), data)


def _differences(stats: pd.Series, equity: pd.Series, data: pd.DataFrame) -> dict:
    """metric -> (the lab's value by the stated formula, backtesting.py's by its stated one,
    backtesting.py's reported value)."""
    # The lab's daily returns (core.analytics.metrics.daily_returns: the first day measured from the
    # initial equity) and backtesting.py's own (from the first day's close on: one fewer).
    day = metrics.daily_returns(equity)
    bday = equity.resample("D").last().dropna().pct_change().dropna()
    g = float(np.exp(np.log1p(bday).mean()) - 1)
    close = data["Close"].to_numpy()
    warm = _indicator_warmup_nbars(stats["_strategy"])
    ret = stats["_trades"]["ReturnPct"]
    pnl = stats["_trades"]["PnL"]
    log_eq, log_px = np.diff(np.log(equity.to_numpy())), np.diff(np.log(close))
    bench = metrics.daily_returns(pd.Series(close, index=data.index))
    lab_beta = day.cov(bench) / bench.var()
    lab_cagr = float((equity.iloc[-1] / equity.iloc[0]) ** (365 / len(day)) - 1)
    lab_dd = float(-(equity / equity.cummax() - 1).min())
    bt_ann = (1 + g) ** 365 - 1
    bt_vol = math.sqrt((bday.var(ddof=1) + (1 + g) ** 2) ** 365 - (1 + g) ** 730)
    bt_beta = np.cov(log_eq, log_px)[0, 1] / np.cov(log_eq, log_px)[1, 1]
    down = math.sqrt(float((np.minimum(day, 0) ** 2).mean()))
    bt_down = math.sqrt(float((np.minimum(bday, 0) ** 2).mean()))
    return {
        "cagr": (lab_cagr, bt_ann, stats["Return (Ann.) [%]"] / 100),
        "calmar_ratio": (lab_cagr / lab_dd, bt_ann / (-stats["Max. Drawdown [%]"] / 100),
                         stats["Calmar Ratio"]),
        "buy_hold_return": (close[-1] / close[0] - 1, close[-1] / close[warm] - 1,
                            stats["Buy & Hold Return [%]"] / 100),
        "annualized_return": (day.mean() * 365, bt_ann, stats["Return (Ann.) [%]"] / 100),
        "volatility": (day.std(ddof=1) * math.sqrt(365), bt_vol,
                       stats["Volatility (Ann.) [%]"] / 100),
        "sharpe_ratio": (day.mean() / day.std(ddof=1) * math.sqrt(365), bt_ann / bt_vol,
                         stats["Sharpe Ratio"]),
        "sortino_ratio": (day.mean() / down * math.sqrt(365),
                          bt_ann / (bt_down * math.sqrt(365)), stats["Sortino Ratio"]),
        "beta": (lab_beta, bt_beta, stats["Beta"]),
        "alpha": ((day.mean() - lab_beta * bench.mean()) * 365,
                  stats["Return [%]"] / 100 - bt_beta * stats["Buy & Hold Return [%]"] / 100,
                  stats["Alpha [%]"] / 100),
        "profit_factor": (pnl[pnl > 0].sum() / -pnl[pnl < 0].sum(),
                          ret[ret > 0].sum() / -ret[ret < 0].sum(), stats["Profit Factor"]),
        "avg_trade": (pnl.mean(), np.exp(np.log1p(ret).mean()) - 1, stats["Avg. Trade [%]"] / 100),
    }


@pytest.mark.parametrize("pair", backtesting_stats.PAIRS, ids=lambda p: p.metric)
def test_each_pair_is_as_the_glossary_says(both, pair: backtesting_stats.StatPair) -> None:
    lab, stats, equity, data = both
    if not pair.difference:
        assert lab[pair.metric] == pytest.approx(stats[pair.stat] * pair.scale, rel=1e-9)
        return
    ours, theirs, reported = _differences(stats, equity, data)[pair.metric]
    assert lab[pair.metric] == pytest.approx(ours, rel=1e-9, abs=1e-12)
    assert reported == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_the_stated_differences_are_real_on_this_run(both) -> None:
    lab, stats, _equity, _data = both
    for pair in backtesting_stats.PAIRS:
        if pair.difference and pair.metric not in ("cagr", "calmar_ratio"):
            assert lab[pair.metric] != pytest.approx(stats[pair.stat] * pair.scale, rel=1e-3), \
                pair.metric
    assert stats["CAGR [%]"] / 100 != pytest.approx(lab["cagr"], rel=1e-6)


def test_a_finalized_trade_is_counted_as_backtesting_py_counts_it(template_home,
                                                                  tmp_path_factory) -> None:
    """finalize_trades=True on both sides: the trade still open at the end is closed on the last
    bar and counted in '# Trades' and 'Win Rate' by backtesting.py, and in Closed trades, Win rate
    and Net profit by the lab (issue 14: it was listed but not counted)."""
    settings, run_id, stats, data = _run_both(template_home, tmp_path_factory, finalize=True)
    lab = runs.run_metrics(settings.db_path, run_id)
    trades = runs.run_trades(settings.db_path, run_id)
    assert stats["_trades"]["ExitTime"].iloc[-1] == data.index[-1]  # one was finalized
    assert trades["exit_reason"].iloc[-1] == "end_of_data"
    assert lab["total_trades"] == stats["# Trades"] == len(trades)
    assert lab["total_open_trades"] == 0 and lab["open_pnl"] == 0
    assert lab["win_rate"] == pytest.approx(stats["Win Rate [%]"] / 100, rel=1e-12)
    assert lab["total_return"] == pytest.approx(stats["Return [%]"] / 100, rel=1e-9)
    assert lab["net_profit_pct"] == pytest.approx(lab["total_return"], rel=1e-9)
