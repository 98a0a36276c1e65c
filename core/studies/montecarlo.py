"""Monte Carlo on a completed run (reference/robustness.md, "Monte Carlo on a run").

* Trade shuffle: the closed trades' returns as fractions of equity at entry (P&L / the equity
  of the bar before the entry bar; initial cash for a trade entered on the first bar), permuted.
  Compounded, the final return is unchanged; the drawdowns change.
* Trade bootstrap: as many trades as the run had, drawn with replacement.
* Block bootstrap of daily returns: Politis & Romano's stationary bootstrap (a new block starts
  at a random day with probability 1 / mean block length, else the next day, wrapping), so
  autocorrelation within blocks survives.

Each path is an equity curve starting at 1. Reported per path: final return, max drawdown
(largest peak-to-trough fall as a positive fraction, the start counting as a peak) and CAGR
over the run's calendar span (365-day years). Seeded: a repeat gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

METHODS = ("shuffle", "bootstrap", "block")
PERCENTILES = (5, 25, 50, 75, 95)
MAX_PATHS = 100_000


@dataclass(frozen=True, slots=True)
class MonteCarlo:
    """Simulated paths (paths × steps+1, starting at 1) and their per-path figures."""

    method: str
    paths: np.ndarray
    final_return: np.ndarray
    max_drawdown: np.ndarray
    cagr: np.ndarray
    years: float

    def percentiles(self) -> dict[str, dict[int, float]]:
        """Each statistic's PERCENTILES across the resampled paths."""
        return {name: {p: float(np.percentile(values, p)) for p in PERCENTILES}
                for name, values in (("final_return", self.final_return),
                                     ("max_drawdown", self.max_drawdown), ("cagr", self.cagr))}

    def prob_loss(self, loss: float) -> float:
        """Share of paths that lose at least ``loss`` (0.1 = 10 %) by the end."""
        return float((self.final_return <= -loss).mean())

    def prob_drawdown(self, threshold: float) -> float:
        """Share of paths whose max drawdown exceeds ``threshold``."""
        return float((self.max_drawdown > threshold).mean())

    def fan(self, quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
        """Equity quantiles per step (a fan chart's bands), one column per quantile."""
        return pd.DataFrame(np.quantile(self.paths, quantiles, axis=0).T,
                            columns=[f"q{int(q * 100)}" for q in quantiles])


def _curves(steps: np.ndarray) -> np.ndarray:
    """Paths of compounded step returns (paths × n) -> equity (paths × n+1) starting at 1."""
    grown = np.cumprod(1.0 + steps, axis=1)
    return np.concatenate([np.ones((steps.shape[0], 1)), grown], axis=1)


def _summarise(method: str, curves: np.ndarray, years: float) -> MonteCarlo:
    peaks = np.maximum.accumulate(curves, axis=1)
    drawdown = (1.0 - curves / peaks).max(axis=1)
    final = curves[:, -1] - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        cagr = np.where(curves[:, -1] > 0, curves[:, -1] ** (1.0 / years) - 1.0, -1.0) \
            if years > 0 else np.zeros_like(final)
    return MonteCarlo(method=method, paths=curves, final_return=final, max_drawdown=drawdown,
                      cagr=cagr, years=years)


def trade_shuffle(fractions: np.ndarray, *, paths: int, seed: int, years: float) -> MonteCarlo:
    """Permutations of the trade returns (fractions of equity at entry)."""
    rng = np.random.default_rng(seed)
    f = np.asarray(fractions, dtype="float64")
    steps = np.array([rng.permutation(f) for _ in range(_checked(paths))]).reshape(paths, len(f))
    return _summarise("shuffle", _curves(steps), years)


def trade_bootstrap(fractions: np.ndarray, *, paths: int, seed: int, years: float
                    ) -> MonteCarlo:
    """len(fractions) trade returns drawn with replacement, per path."""
    rng = np.random.default_rng(seed)
    f = np.asarray(fractions, dtype="float64")
    steps = f[rng.integers(0, len(f), size=(_checked(paths), len(f)))] if len(f) else np.zeros(
        (paths, 0))
    return _summarise("bootstrap", _curves(steps), years)


def stationary_indices(n: int, *, paths: int, mean_block: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Politis & Romano indices (paths × n) with geometric block lengths of mean ``mean_block``."""
    if mean_block < 1:
        raise ValueError("the mean block length must be at least 1 day")
    idx = np.empty((paths, n), dtype="int64")
    idx[:, 0] = rng.integers(0, n, size=paths)
    restart = rng.random((paths, n)) < 1.0 / mean_block
    fresh = rng.integers(0, n, size=(paths, n))
    for t in range(1, n):
        idx[:, t] = np.where(restart[:, t], fresh[:, t], (idx[:, t - 1] + 1) % n)
    return idx


def block_bootstrap(daily: np.ndarray, *, paths: int, seed: int, mean_block: float,
                    years: float) -> MonteCarlo:
    """Stationary bootstrap of daily returns (each path as long as the run)."""
    rng = np.random.default_rng(seed)
    r = np.asarray(daily, dtype="float64")
    idx = stationary_indices(len(r), paths=_checked(paths), mean_block=mean_block, rng=rng)
    return _summarise("block", _curves(r[idx]), years)


def _checked(paths: int) -> int:
    if not 1 <= paths <= MAX_PATHS:
        raise ValueError(f"paths must be between 1 and {MAX_PATHS:,}")
    return paths


def trade_fractions(trades: pd.DataFrame, equity: pd.Series, cash: float) -> np.ndarray:
    """Each closed trade's P&L as a fraction of the equity of the bar before its entry bar."""
    if trades.empty:
        return np.zeros(0)
    before = np.r_[cash, equity.to_numpy(dtype="float64")]  # before[b] = equity of bar b - 1
    base = before[trades["entry_bar"].to_numpy(dtype="int64")]
    return trades["pnl"].to_numpy(dtype="float64") / base


def for_run(settings: Any, run_id: int, *, method: str = "shuffle", paths: int = 1000,
            seed: int = 0, mean_block: float = 5.0) -> MonteCarlo:
    """Monte Carlo of a stored completed run. Raises ConfigError / NotFoundError."""
    from core.analytics import metrics
    from core.runs import service as runs
    from core.errors import ConfigError

    if method not in METHODS:
        raise ConfigError(f"Unknown Monte Carlo method {method!r}; use {', '.join(METHODS)}.")
    run = runs.get_run(settings.db_path, run_id)
    runs.require_completed(run)
    equity = runs.run_equity(settings.db_path, run_id)
    span_days = (equity.index[-1] - equity.index[0]).total_seconds() / 86400 if len(
        equity) > 1 else 0.0
    years = span_days / metrics.PERIODS_PER_YEAR
    try:
        if method == "block":
            daily = equity.resample("1D").last().dropna().pct_change().dropna()
            if len(daily) < 2:
                raise ConfigError(f"Run {run_id} spans fewer than 3 days; nothing to resample.")
            return block_bootstrap(daily.to_numpy(), paths=paths, seed=seed,
                                   mean_block=mean_block, years=years)
        fractions = trade_fractions(runs.run_trades(settings.db_path, run_id), equity,
                                    run.config.cash_usdt)
        if not len(fractions):
            raise ConfigError(f"Run {run_id} has no trades to resample; use --method block.")
        if method == "shuffle":
            return trade_shuffle(fractions, paths=paths, seed=seed, years=years)
        return trade_bootstrap(fractions, paths=paths, seed=seed, years=years)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def summary(mc: MonteCarlo, *, loss: float, drawdown: float) -> dict[str, Any]:
    """Percentiles and probabilities as one JSON-ready object."""
    return {"method": mc.method, "paths": int(mc.paths.shape[0]), "years": mc.years,
            "percentiles": mc.percentiles(), "loss_threshold": loss,
            "prob_loss": mc.prob_loss(loss), "drawdown_threshold": drawdown,
            "prob_drawdown": mc.prob_drawdown(drawdown)}


