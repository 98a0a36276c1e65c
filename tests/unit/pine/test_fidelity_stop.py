"""Stop-order TradingView built-ins vs an independent minimal broker (stopsim) on the same
signals computed by hand with pandas/numpy: same entries and exits, bar for bar, same prices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.unit.pine import reference as ref
from tests.unit.pine.harness import load_bars, run_example, with_gaps
from tests.unit.pine.stopsim import compare, simulate

TICK = 0.01


@pytest.fixture
def bars(settings):
    return with_gaps(load_bars(settings))


def arrays(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(bars[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))


def channel_breakout(bars):
    _, h, low, _ = arrays(bars)
    up = pd.Series(h).rolling(5).max().to_numpy()
    dn = pd.Series(low).rolling(5).min().to_numpy()

    def actions(i, position):
        acts = [("entry", "ChBrkLE", 1, up[i] + TICK)] if i >= 5 else []
        return acts + [("entry", "ChBrkSE", -1, dn[i] - TICK)]
    return actions


def price_channel(bars):
    _, h, low, _ = arrays(bars)
    hh = pd.Series(h).rolling(20).max().to_numpy()
    ll = pd.Series(low).rolling(20).min().to_numpy()

    def actions(i, position):
        if i < 20:
            return []
        return [("entry", "PChLE", 1, hh[i]), ("entry", "PChSE", -1, ll[i])]
    return actions


def momentum(bars):
    _, h, low, c = arrays(bars)
    mom0 = c - np.concatenate([np.full(12, np.nan), c[:-12]])
    mom1 = mom0 - np.concatenate([[np.nan], mom0[:-1]])

    def actions(i, position):
        acts = []
        acts.append(("entry", "MomLE", 1, h[i] + TICK) if mom0[i] > 0 and mom1[i] > 0
                    else ("cancel", "MomLE"))
        acts.append(("entry", "MomSE", -1, low[i] - TICK) if mom0[i] < 0 and mom1[i] < 0
                    else ("cancel", "MomSE"))
        return acts
    return actions


def volty_expan_close(bars):
    _, h, low, c = arrays(bars)
    atrs = ref.sma(ref.true_range(h, low, c, False), 5) * 0.75

    def actions(i, position):
        if i < 5:
            return []
        return [("entry", "VltClsLE", 1, c[i] + atrs[i]),
                ("entry", "VltClsSE", -1, c[i] - atrs[i])]
    return actions


def bollinger_bands(bars):
    _, _, _, c = arrays(bars)
    basis = ref.sma(c, 20)
    dev = 2.0 * pd.Series(c).rolling(20).std(ddof=0).to_numpy()
    upper, lower = basis + dev, basis - dev
    buy, sell = ref.crossover(c, lower), ref.crossunder(c, upper)

    def actions(i, position):
        return [("entry", "BBandLE", 1, lower[i], "BB") if buy[i] else ("cancel", "BBandLE"),
                ("entry", "BBandSE", -1, upper[i], "BB") if sell[i] else ("cancel", "BBandSE")]
    return actions


def pivot_reversal(bars):
    _, h, low, _ = arrays(bars)
    swh, swl = ref.pivots(h, 4, 2, high=True), ref.pivots(low, 4, 2, high=False)
    state = {"hprice": math.nan, "le": math.nan, "lprice": math.nan, "se": math.nan}
    memo: dict[int, list] = {}

    def step(i):
        s = state
        s["hprice"] = swh[i] if not math.isnan(swh[i]) else s["hprice"]
        s["le"] = True if not math.isnan(swh[i]) else (
            False if (s["le"] is True and h[i] > s["hprice"]) else s["le"])
        s["lprice"] = swl[i] if not math.isnan(swl[i]) else s["lprice"]
        s["se"] = True if not math.isnan(swl[i]) else (
            False if (s["se"] is True and low[i] < s["lprice"]) else s["se"])
        acts = []
        if s["le"] is True:
            acts.append(("entry", "PivRevLE", 1, s["hprice"] + TICK))
        if s["se"] is True:
            acts.append(("entry", "PivRevSE", -1, s["lprice"] - TICK))
        return acts

    def actions(i, position):
        for k in range(len(memo), i + 1):
            memo[k] = step(k)
        return memo[i]
    return actions


def keltner_channels(bars):
    _, h, low, c = arrays(bars)
    ma = ref.ema(c, 20)
    rng = ref.atr(h, low, c, 10)
    upper, lower = ma + 2.0 * rng, ma - 2.0 * rng
    cross_up, cross_dn = ref.crossover(c, upper), ref.crossunder(c, lower)
    n = len(c)
    bprice, sprice = np.zeros(n), np.zeros(n)
    bcond, scond = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for i in range(n):
        bprice[i] = h[i] + TICK if cross_up[i] else (bprice[i - 1] if i else 0.0)
        sprice[i] = low[i] - TICK if cross_dn[i] else (sprice[i - 1] if i else 0.0)
        bcond[i] = True if cross_up[i] else (bcond[i - 1] if i else False)
        scond[i] = True if cross_dn[i] else (scond[i - 1] if i else False)

    def actions(i, position):
        acts = []
        if bcond[i] and (c[i] < ma[i] or h[i] >= bprice[i]):
            acts.append(("cancel", "KltChLE"))
        if cross_up[i]:
            acts.append(("entry", "KltChLE", 1, bprice[i]))
        if scond[i] and (c[i] > ma[i] or low[i] <= sprice[i]):
            acts.append(("cancel", "KltChSE"))
        if cross_dn[i]:
            acts.append(("entry", "KltChSE", -1, sprice[i]))
        return acts
    return actions


def _sar_states(h, low, c, start=0.02, inc=0.02, maximum=0.2):
    """Per bar (uptrend, next bar's SAR) of the built-in Parabolic SAR strategy's own loop."""
    out = [(None, math.nan)]
    up, ep, sar, af, next_sar = None, math.nan, math.nan, start, math.nan
    for i in range(1, len(c)):
        first = False
        sar = next_sar
        if i == 1:
            up = c[1] > c[0]
            ep = h[1] if up else low[1]
            prev_sar, prev_ep = (low[0], h[1]) if up else (h[0], low[1])
            first = True
            sar = prev_sar + start * (prev_ep - prev_sar)
        if up and sar > low[i]:
            first, up, sar, ep, af = True, False, max(ep, h[i]), low[i], start
        elif not up and sar < h[i]:
            first, up, sar, ep, af = True, True, min(ep, low[i]), h[i], start
        if not first and up and h[i] > ep:
            ep, af = h[i], min(af + inc, maximum)
        elif not first and not up and low[i] < ep:
            ep, af = low[i], min(af + inc, maximum)
        if up:
            sar = min(sar, low[i - 1], low[i - 2]) if i > 1 else min(sar, low[i - 1])
        else:
            sar = max(sar, h[i - 1], h[i - 2]) if i > 1 else max(sar, h[i - 1])
        next_sar = sar + af * (ep - sar)
        out.append((up, next_sar))
    return out


def parabolic_sar(bars):
    _, h, low, c = arrays(bars)
    states = _sar_states(h, low, c)

    def actions(i, position):
        up, level = states[i]
        if up is None:
            return []  # bar 0: the script places nothing (if bar_index > 0)
        if up:
            return [("entry", "ParSE", -1, level), ("cancel", "ParLE")]
        return [("entry", "ParLE", 1, level), ("cancel", "ParSE")]
    return actions


CASES = {"keltner_channels": keltner_channels, "parabolic_sar": parabolic_sar, "channel_breakout": channel_breakout,
         "price_channel": price_channel,
         "momentum": momentum, "volty_expan_close": volty_expan_close,
         "bollinger_bands": bollinger_bands, "pivot_reversal": pivot_reversal}


@pytest.mark.parametrize("name", sorted(CASES))
def test_stop_order_builtin_matches_the_reference_broker(bars, name):
    compare(run_example(name, bars), simulate(bars, CASES[name](bars)))
