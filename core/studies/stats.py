"""Overfitting statistics of a sweep (definitions: reference/robustness.md).

Per-period (daily, not annualised) Sharpe ratios throughout: SR = mean(r) / std(r, ddof=1).

* Probabilistic Sharpe ratio (Bailey & López de Prado, 2012):
  PSR(SR*) = Φ((SR − SR*)·√(T − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)), γ4 Pearson kurtosis.
* Deflated Sharpe ratio (Bailey & López de Prado, 2014): DSR = PSR(SR0) of the best trial,
  SR0 = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), N = trials actually run, V = the
  sample variance (ddof=1) of the trials' Sharpe ratios, γ = Euler–Mascheroni. N = 1: SR0 = 0.
* Probability of backtest overfitting by CSCV (Bailey, Borwein, López de Prado & Zhu, 2015):
  S contiguous blocks, every half/half split; the in-sample best trial's out-of-sample rank
  ω = rank/(N + 1) (rank 1 = worst, ties averaged), λ = ln(ω/(1 − ω)); PBO = share of splits
  with λ ≤ 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

EULER_GAMMA = 0.5772156649015329
DAYS_PER_YEAR = 365


def sharpe(returns: np.ndarray) -> float:
    """Per-period Sharpe: mean / std (ddof=1); 0 when the std is 0 or fewer than 2 returns."""
    r = np.asarray(returns, dtype="float64")
    if len(r) < 2:
        return 0.0
    sd = float(r.std(ddof=1))
    return float(r.mean() / sd) if sd > 0 else 0.0


def psr(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    """Probabilistic Sharpe ratio of ``returns`` against a per-period benchmark Sharpe."""
    r = np.asarray(returns, dtype="float64")
    t = len(r)
    if t < 3:
        return float("nan")
    sr = sharpe(r)
    skew = float(sps.skew(r, bias=True))
    kurt = float(sps.kurtosis(r, fisher=False, bias=True))
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not denom > 0:
        return float("nan")
    return float(sps.norm.cdf((sr - benchmark_sr) * math.sqrt(t - 1) / math.sqrt(denom)))


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """SR0: the Sharpe the best of ``n_trials`` reaches by luck, given the trials' variance."""
    if n_trials <= 1 or not variance > 0:
        return 0.0
    z1 = sps.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = sps.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


@dataclass(frozen=True, slots=True)
class Deflated:
    """Deflated Sharpe ratio of the best trial (Bailey & López de Prado) and its inputs."""

    dsr: float
    psr: float  # PSR(0) of the best trial
    sr0: float  # per period
    best_sr: float  # per period
    n_trials: int
    variance: float


def deflated_sharpe(best_returns: np.ndarray, trial_sharpes: np.ndarray, n_trials: int
                    ) -> Deflated:
    """DSR of the best trial's returns given every trial's per-period Sharpe and N."""
    srs = np.asarray(trial_sharpes, dtype="float64")
    variance = float(srs.var(ddof=1)) if len(srs) > 1 else 0.0
    sr0 = expected_max_sharpe(n_trials, variance)
    return Deflated(dsr=psr(best_returns, sr0), psr=psr(best_returns, 0.0), sr0=sr0,
                    best_sr=sharpe(best_returns), n_trials=n_trials, variance=variance)


@dataclass(frozen=True, slots=True)
class Overfitting:
    """Probability of backtest overfitting (CSCV) with the logit of each split."""

    pbo: float
    logits: np.ndarray  # λ per combination
    splits: int
    blocks: int


def _block_sharpes(sums: np.ndarray, squares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    mean = sums / counts[:, None]
    var = (squares - sums * sums / counts[:, None]) / (counts[:, None] - 1)
    sd = np.sqrt(np.clip(var, 0.0, None))
    return np.divide(mean, sd, out=np.zeros_like(mean), where=sd > 1e-15)


def pbo_cscv(matrix: np.ndarray, blocks: int = 16) -> Overfitting:
    """PBO of a T × N matrix of per-period returns (one column per trial).

    Raises ValueError when it cannot be computed (N < 2, S odd, fewer than 2 rows per block).
    """
    m = np.asarray(matrix, dtype="float64")
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("PBO needs at least 2 trials")
    if blocks < 2 or blocks % 2:
        raise ValueError("the number of blocks S must be even and at least 2")
    rows = m.shape[0] // blocks
    if rows < 2:
        raise ValueError(f"PBO needs at least {2 * blocks} daily returns for {blocks} blocks "
                         f"(has {m.shape[0]})")
    m = m[: rows * blocks]
    n = m.shape[1]
    parts = m.reshape(blocks, rows, n)
    sums, squares = parts.sum(axis=1), (parts * parts).sum(axis=1)  # S × N
    combos = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    logits = np.empty(len(combos))
    for start in range(0, len(combos), 512):
        chunk = combos[start:start + 512]
        mask = np.zeros((len(chunk), blocks))
        np.put_along_axis(mask, chunk, 1.0, axis=1)
        count_in = np.full(len(chunk), rows * blocks / 2)
        is_sr = _block_sharpes(mask @ sums, mask @ squares, count_in)
        oos_sr = _block_sharpes((1 - mask) @ sums, (1 - mask) @ squares, count_in)
        best = is_sr.argmax(axis=1)
        ranks = sps.rankdata(oos_sr, axis=1, method="average")
        omega = ranks[np.arange(len(chunk)), best] / (n + 1)
        logits[start:start + len(chunk)] = np.log(omega / (1 - omega))
    return Overfitting(pbo=float((logits <= 0).mean()), logits=logits, splits=len(combos),
                       blocks=blocks)


def study_statistics(db: Path, study_id: int, *, blocks: int = 16) -> dict[str, Any]:
    """DSR of the best trial and PBO of the study, with printable lines (or why not)."""
    from core.studies import study_store

    study = study_store.get_study(db, study_id)
    frame = study_store.trials_frame(db, study_id)
    returns = study_store.returns_matrix(db, study_id)
    out: dict[str, Any] = {"n_trials": len(frame), "lines": []}
    best = study_store.best_trial_from(study, frame)
    if best is None or best not in returns.columns:
        out["lines"].append("deflated Sharpe: no trial with an objective yet")
        return out
    srs = np.array([sharpe(returns[c].to_numpy()) for c in returns.columns])
    d = deflated_sharpe(returns[best].to_numpy(), srs, n_trials=len(frame))
    out["dsr"] = {"dsr": d.dsr, "psr": d.psr, "sr0_daily": d.sr0, "best_sr_daily": d.best_sr,
                  "best_sr_annual": d.best_sr * math.sqrt(DAYS_PER_YEAR), "n_trials": d.n_trials,
                  "variance": d.variance, "best_trial": int(best)}
    out["lines"].append(
        f"deflated Sharpe (trial {best}): DSR = {d.dsr:.4f} (PSR = {d.psr:.4f}; N = {d.n_trials}, "
        f"V = {d.variance:.3g}, SR0 = {d.sr0 * math.sqrt(DAYS_PER_YEAR):.3f} annualised)")
    try:
        o = pbo_cscv(returns.to_numpy(), blocks=blocks)
    except ValueError as exc:
        out["lines"].append(f"PBO: not computed ({exc})")
        return out
    hist, edges = np.histogram(o.logits, bins=20)
    out["pbo"] = {"pbo": o.pbo, "splits": o.splits, "blocks": o.blocks,
                  "logit_histogram": {"counts": hist.tolist(), "edges": edges.tolist()}}
    out["lines"].append(f"probability of backtest overfitting (CSCV, S = {o.blocks}, "
                        f"{o.splits:,} splits, {returns.shape[1]} trials): PBO = {o.pbo:.3f}")
    return out


def annualised(sr_daily: float) -> float:
    return sr_daily * math.sqrt(DAYS_PER_YEAR)


__all__ = ["Deflated", "Overfitting", "deflated_sharpe", "expected_max_sharpe", "pbo_cscv",
           "psr", "sharpe", "study_statistics"]


GLOSSARY: dict[str, str] = {
    "Probabilistic Sharpe ratio (PSR)": (
        "Bailey & López de Prado (2012): the probability that the true Sharpe ratio exceeds a "
        "benchmark SR*, given the sample's length T and the skewness γ3 and (Pearson) kurtosis "
        "γ4 of its daily returns: Φ((SR − SR*)·√(T − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)), with "
        "per-day (not annualised) Sharpe ratios."),
    "Deflated Sharpe ratio (DSR)": (
        "Bailey & López de Prado (2014): the PSR of a sweep's best trial against SR0, the Sharpe "
        "the best of N trials would reach by luck alone: SR0 = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + "
        "γ·Φ⁻¹(1 − 1/(N·e))), where N is the number of trials actually run, V the variance of "
        "their daily Sharpe ratios and γ the Euler–Mascheroni constant. Near 1: the best "
        "trial's Sharpe is unlikely to be luck; near 0 or below 0.5: it probably is."),
    "Probability of backtest overfitting (PBO)": (
        "Bailey, Borwein, López de Prado & Zhu (2015), combinatorially symmetric cross-"
        "validation: the trials' daily returns are cut into S = 16 contiguous blocks; for each "
        "of the C(16, 8) = 12,870 ways to pick half of them as in-sample, the trial with the "
        "best in-sample Sharpe is ranked out of sample; PBO is the share of splits where it "
        "lands at or below the out-of-sample median (logit λ ≤ 0). Near 0: the sweep's winner "
        "stays good out of sample; near 1: picking the winner is curve fitting."),
    "Monte Carlo: trade shuffle": (
        "The run's closed trades (P&L as a fraction of the equity before entry) in random "
        "orders: the compounded final return stays the same, the drawdowns show what a "
        "different sequence of the same trades would have done."),
    "Monte Carlo: trade bootstrap": (
        "As many trades as the run had, drawn with replacement: final return, drawdown and CAGR "
        "all vary."),
    "Monte Carlo: block bootstrap": (
        "Politis & Romano's stationary bootstrap of the run's daily returns: blocks of random "
        "(geometric) length with a chosen mean, so short-range autocorrelation survives."),
}
