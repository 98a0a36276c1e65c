"""ta.* fed bar by bar through the runtime's TA object vs independent pandas/numpy formulas,
warm-up bars included (na exactly where reference/pine.md §4 says)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.pine.emulation.state import Node
from core.pine.emulation.ta_lib import TA, Bar
from tests.unit.pine import reference as ref


@pytest.fixture(scope="module")
def ohlcv() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.002, 400))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, 400))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, 400))
    volume = rng.uniform(1, 10, 400)
    index = pd.date_range("2023-01-01", periods=400, freq="h")
    return pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close,
                         "Volume": volume}, index=index)


def run(ohlcv: pd.DataFrame, call) -> np.ndarray:
    """Feed every bar; ``call(ta, node, bar)`` returns the value for that bar."""
    bar = Bar()
    ta = TA(bar)
    node = Node()
    out = []
    closes = ohlcv["Close"].to_numpy()
    for i, row in enumerate(ohlcv.itertuples()):
        bar.open_price, bar.high, bar.low, bar.close, bar.volume = (row.Open, row.High, row.Low,
                                                                    row.Close, row.Volume)
        bar.time = row.Index.value / 1e6
        bar.prev_close = closes[i - 1] if i else math.nan
        bar.hl2, bar.hlc3 = (row.High + row.Low) / 2, (row.High + row.Low + row.Close) / 3
        value = call(ta, node, bar)
        out.append(np.nan if value is None else value)
    return np.asarray(out, dtype=float)


def same(got: np.ndarray, want: np.ndarray, first: int) -> None:
    assert np.isnan(got[:first]).all(), f"values before warm-up bar {first}"
    assert not np.isnan(got[first]), f"na on warm-up bar {first}"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_sma_ema_rma_wma(ohlcv):
    c = ohlcv["Close"].to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.sma(n, b.close, 14)), ref.sma(c, 14), 13)
    same(run(ohlcv, lambda ta, n, b: ta.ema(n, b.close, 14)), ref.ema(c, 14), 13)
    same(run(ohlcv, lambda ta, n, b: ta.rma(n, b.close, 14)), ref.rma(c, 14), 13)
    weights = np.arange(1, 11, dtype=float)
    wma = pd.Series(c).rolling(10).apply(lambda w: (w * weights).sum() / weights.sum(), raw=True)
    same(run(ohlcv, lambda ta, n, b: ta.wma(n, b.close, 10)), wma.to_numpy(), 9)


def test_hma_first_value_is_n_plus_sqrt_n_minus_2(ohlcv):
    got = run(ohlcv, lambda ta, n, b: ta.hma(n, b.close, 9))
    assert np.isnan(got[:10]).all() and not np.isnan(got[10])
    got20 = run(ohlcv, lambda ta, n, b: ta.hma(n, b.close, 20))
    assert np.isnan(got20[:22]).all() and not np.isnan(got20[22])


def test_vwma(ohlcv):
    c, v = ohlcv["Close"].to_numpy(), ohlcv["Volume"].to_numpy()
    want = ref.sma(c * v, 20) / ref.sma(v, 20)
    same(run(ohlcv, lambda ta, n, b: ta.vwma(n, b.close, 20)), want, 19)


def test_rsi_first_value_on_bar_length(ohlcv):
    c = ohlcv["Close"].to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.rsi(n, b.close, 14)), ref.rsi(c, 14), 14)


def test_macd_line_and_signal_warm_up(ohlcv):
    c = ohlcv["Close"].to_numpy()
    line = ref.ema(c, 12) - ref.ema(c, 26)
    signal = ref.ema(line, 9)
    same(run(ohlcv, lambda ta, n, b: ta.macd(n, b.close, 12, 26, 9)[0]), line, 25)
    same(run(ohlcv, lambda ta, n, b: ta.macd(n, b.close, 12, 26, 9)[1]), signal, 33)


def test_stoch_tr_atr(ohlcv):
    h, low, c = (ohlcv[k].to_numpy() for k in ("High", "Low", "Close"))
    same(run(ohlcv, lambda ta, n, b: ta.stoch(n, b.close, b.high, b.low, 14)),
         ref.stoch(c, h, low, 14), 13)
    same(run(ohlcv, lambda ta, n, b: ta.tr(n)), ref.true_range(h, low, c, False), 1)
    same(run(ohlcv, lambda ta, n, b: ta.tr(n, True)), ref.true_range(h, low, c, True), 0)
    same(run(ohlcv, lambda ta, n, b: ta.atr(n, 14)), ref.atr(h, low, c, 14), 13)


def test_stdev_variance_bb_bbw(ohlcv):
    c = ohlcv["Close"].to_numpy()
    std = pd.Series(c).rolling(20).std(ddof=0).to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.stdev(n, b.close, 20)), std, 19)
    same(run(ohlcv, lambda ta, n, b: ta.variance(n, b.close, 20)), std ** 2, 19)
    basis = ref.sma(c, 20)
    same(run(ohlcv, lambda ta, n, b: ta.bb(n, b.close, 20, 2)[1]), basis + 2 * std, 19)
    same(run(ohlcv, lambda ta, n, b: ta.bbw(n, b.close, 20, 2)), 4 * std / basis * 100, 19)


def test_highest_lowest_and_bars_offsets(ohlcv):
    h = ohlcv["High"].to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.highest(n, b.high, 10)),
         pd.Series(h).rolling(10).max().to_numpy(), 9)
    same(run(ohlcv, lambda ta, n, b: ta.lowest(n, 10)),
         ohlcv["Low"].rolling(10).min().to_numpy(), 9)
    offsets = pd.Series(h).rolling(10).apply(lambda w: np.argmax(w) - 9, raw=True).to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.highestbars(n, b.high, 10)), offsets, 9)


def test_change_mom_roc_cum(ohlcv):
    c = ohlcv["Close"].to_numpy()
    prev = pd.Series(c).shift(10).to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.mom(n, b.close, 10)), c - prev, 10)
    same(run(ohlcv, lambda ta, n, b: ta.roc(n, b.close, 10)), 100 * (c - prev) / prev, 10)
    same(run(ohlcv, lambda ta, n, b: ta.cum(n, b.close)), np.cumsum(c), 0)


def test_crossover_and_crossunder(ohlcv):
    c = ohlcv["Close"].to_numpy()
    fast, slow = ref.sma(c, 5), ref.sma(c, 20)

    def call(name):
        def fn(ta, node, b):
            i = int(round((b.time - ohlcv.index[0].value / 1e6) / 3_600_000))
            return getattr(ta, name)(node, fast[i], slow[i])
        return fn
    got = run(ohlcv, call("crossover")).astype(bool)
    np.testing.assert_array_equal(got, ref.crossover(fast, slow))
    assert got.sum() > 3
    np.testing.assert_array_equal(run(ohlcv, call("crossunder")).astype(bool),
                                  ref.crossunder(fast, slow))


def test_pivots_reported_right_bars_late(ohlcv):
    h, low = ohlcv["High"].to_numpy(), ohlcv["Low"].to_numpy()
    got = run(ohlcv, lambda ta, n, b: ta.pivothigh(n, 4, 2))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref.pivots(h, 4, 2, True)))
    np.testing.assert_allclose(got, ref.pivots(h, 4, 2, True), equal_nan=True)
    got = run(ohlcv, lambda ta, n, b: ta.pivotlow(n, b.low, 3, 3))
    np.testing.assert_allclose(got, ref.pivots(low, 3, 3, False), equal_nan=True)


def test_supertrend_direction_and_line(ohlcv):
    h, low, c = (ohlcv[k].to_numpy() for k in ("High", "Low", "Close"))
    line, direction = ref.supertrend(h, low, c, 3.0, 10)
    got_dir = run(ohlcv, lambda ta, n, b: ta.supertrend(n, 3.0, 10)[1])
    np.testing.assert_array_equal(got_dir, direction)
    assert set(np.unique(got_dir)) == {-1.0, 1.0}
    np.testing.assert_allclose(run(ohlcv, lambda ta, n, b: ta.supertrend(n, 3.0, 10)[0]), line,
                               rtol=1e-9, equal_nan=True)


def test_rising_falling_barssince_valuewhen_percentrank_linreg(ohlcv):
    c = ohlcv["Close"].to_numpy()
    up = np.diff(c, prepend=np.nan) > 1e-10
    streak = pd.Series(up).rolling(3).sum().to_numpy() == 3
    np.testing.assert_array_equal(run(ohlcv, lambda ta, n, b: ta.rising(n, b.close, 3)) == 1,
                                  streak)
    since = run(ohlcv, lambda ta, n, b: ta.barssince(n, b.close > b.open_price))
    green = (ohlcv["Close"] > ohlcv["Open"]).to_numpy()
    first = int(np.argmax(green))
    assert np.isnan(since[:first]).all() and (since[green] == 0).all()
    ranks = run(ohlcv, lambda ta, n, b: ta.percentrank(n, b.close, 10))
    want = pd.Series(c).rolling(11).apply(lambda w: 100 * (w[:-1] <= w[-1]).sum() / 10, raw=True)
    same(ranks, want.to_numpy(), 10)
    x = np.arange(20)
    fit = pd.Series(c).rolling(20).apply(lambda w: np.polyval(np.polyfit(x, w, 1), 19), raw=True)
    same(run(ohlcv, lambda ta, n, b: ta.linreg(n, b.close, 20, 0)), fit.to_numpy(), 19)


def test_na_input_returns_na_without_advancing_state():
    node = Node()
    from core.pine.emulation import ta_avg

    values = [1.0, 2.0, math.nan, 3.0]
    out = [ta_avg.sma(node, v, 3) for v in values]
    assert math.isnan(out[2]) and out[3] == pytest.approx(2.0)


def test_cci_mfi_against_their_definitions(ohlcv):
    c, v = ohlcv["Close"].to_numpy(), ohlcv["Volume"].to_numpy()
    sma = pd.Series(c).rolling(20).mean().to_numpy()
    mad = pd.Series(c).rolling(20).apply(lambda w: np.abs(w - w.mean()).mean(), raw=True)
    same(run(ohlcv, lambda ta, n, b: ta.cci(n, b.close, 20)), (c - sma) / (0.015 * mad), 19)
    delta = np.concatenate([[np.nan], np.diff(c)])
    up = np.where(delta <= 0, 0.0, v * c)  # NaN delta (bar 0) counts in both sums
    dn = np.where(delta >= 0, 0.0, v * c)
    up_sum = pd.Series(up).rolling(14).sum().to_numpy()
    dn_sum = pd.Series(dn).rolling(14).sum().to_numpy()
    with np.errstate(divide="ignore"):
        want = np.where(dn_sum == 0, 100.0, 100 - 100 / (1 + up_sum / dn_sum))
    want[np.isnan(up_sum)] = np.nan
    same(run(ohlcv, lambda ta, n, b: ta.mfi(n, b.close, 14)), want, 13)


def test_kc_basis_and_bands(ohlcv):
    c, h, low = (ohlcv[k].to_numpy() for k in ("Close", "High", "Low"))
    prev = np.concatenate([[np.nan], c[:-1]])
    tr = np.nanmax(np.vstack([h - low, np.abs(h - prev), np.abs(low - prev)]), axis=0)
    tr[0] = np.nan  # kc uses the na-first ta.tr (reference/pine.md §4)
    basis = ref.ema(c, 20)
    width = ref.ema(tr, 20)
    got = run(ohlcv, lambda ta, n, b: ta.kc(n, b.close, 20, 2.0)[0])
    same(got, basis, 19)
    upper = run(ohlcv, lambda ta, n, b: ta.kc(n, b.close, 20, 2.0)[1])
    same(upper, basis + 2.0 * width, 20)


def test_vwap_resets_every_utc_day_and_obv_accumulates(ohlcv):
    h, low, c, v = (ohlcv[k].to_numpy() for k in ("High", "Low", "Close", "Volume"))
    src = (h + low + c) / 3
    day = ohlcv.index.floor("D")
    num = pd.Series(src * v).groupby(day).cumsum().to_numpy()
    den = pd.Series(v).groupby(day).cumsum().to_numpy()
    same(run(ohlcv, lambda ta, n, b: ta.vwap(n)), num / den, 0)
    obv = run(ohlcv, lambda ta, n, b: ta.obv(n))
    want = np.cumsum(np.sign(np.diff(c)) * v[1:])
    np.testing.assert_allclose(obv[1:] - obv[1], want - want[0], rtol=1e-9, atol=1e-9)


def test_dmi_against_its_definition(ohlcv):
    h, low, c = (ohlcv[k].to_numpy() for k in ("High", "Low", "Close"))
    up = np.diff(h, prepend=np.nan)
    down = -np.diff(low, prepend=np.nan)
    plus_dm = np.where(np.isnan(up), np.nan, np.where((up > down) & (up > 0), up, 0.0))
    minus_dm = np.where(np.isnan(down), np.nan, np.where((down > up) & (down > 0), down, 0.0))
    prev = np.concatenate([[np.nan], c[:-1]])
    tr = np.maximum(h - low, np.maximum(np.abs(h - prev), np.abs(low - prev)))  # na on bar 0
    atr = ref.rma(tr, 14)
    plus = 100 * ref.rma(plus_dm, 14) / atr
    minus = 100 * ref.rma(minus_dm, 14) / atr
    total = plus + minus
    adx = 100 * ref.rma(np.abs(plus - minus) / np.where(total == 0, 1, total), 10)
    got = [run(ohlcv, lambda ta, n, b, k=k: ta.dmi(n, 14, 10)[k]) for k in range(3)]
    same(got[0], plus, 14)
    same(got[1], minus, 14)
    same(got[2], adx, 14 + 10 - 1)
