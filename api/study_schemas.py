"""Request and response models of the /api/studies routes (each with an example).

A sweep request is `pineopt optimize` as JSON: ``config`` has the shape of a backtest request's
config (its ``params`` are the parameters held fixed), ``params`` maps each swept parameter to
its range (`LOW:HIGH:STEP`, a list `a,b,c`, or one value).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.run_schemas import ConfigIn
from api.schemas import example
from core.studies import sweep


class SweepFields(BaseModel):
    """The fields every sweep request shares (a sweep; each window of a walk-forward)."""

    strategy_id: int
    version: int | None = Field(None, description="default: the latest version")
    config: ConfigIn
    params: dict[str, str] = Field(description="swept parameter -> LOW:HIGH:STEP, a,b,c or "
                                               "one value (as `--param NAME=...`)")
    method: Literal["grid", "random", "tpe"] = "grid"
    trials: int = Field(1000, ge=1, le=sweep.MAX_TRIALS, description="trial budget")
    time_budget_s: float | None = Field(None, gt=0, description="stop starting batches after "
                                                                "this many seconds")
    objective: str = Field("sharpe_ratio", description="any stored metric")
    direction: Literal["max", "min"] = "max"
    min_trades: int = Field(0, ge=0, description="trials with fewer trades have no objective")
    constraints: list[str] = Field(default_factory=list,
                                   description='e.g. "fast < slow"; all must hold')
    seed: int = Field(0, description="seed of random and tpe")
    workers: int | None = Field(None, ge=1, le=64,
                                description="sandbox children at once (default: cores)")
    batch_size: int = Field(sweep.DEFAULT_BATCH, ge=1, le=1000, description="the most trials per child")


class SweepRequest(SweepFields):
    """Create a study of a stored strategy version and start its trials in the background."""

    model_config = example({
        "strategy_id": 1, "config": {"symbol": "BTCUSDT", "timeframe": "1h",
                                     "start": "2024-01-01", "end": "2024-06-30"},
        "params": {"fast": "5:50:5", "slow": "20:200:10"}, "method": "grid", "trials": 200,
        "objective": "sharpe_ratio", "direction": "max", "min_trades": 10,
        "constraints": ["fast < slow"], "seed": 0})
    reuse: bool = Field(True, description="copy identical trials from earlier studies")


class ResumeRequest(BaseModel):
    """Run only the missing trials of a study."""

    model_config = example({"workers": 2, "batch_size": 8})
    workers: int | None = Field(None, ge=1, le=64)
    batch_size: int = Field(sweep.DEFAULT_BATCH, ge=1, le=1000)


class StudyOut(BaseModel):
    """A study's definition and state (``status`` is ``interrupted`` when its process died)."""

    model_config = example({
        "id": 3, "kind": "sweep", "strategy_id": 1, "strategy_version": 2,
        "strategy_name": "sma cross", "method": "grid", "objective": "sharpe_ratio",
        "direction": "max", "min_trades": 10, "max_trials": 200, "time_budget_s": None,
        "seed": 0, "status": "running", "error": "", "trials": 48,
        "space": [{"name": "fast", "values": [5, 10, 15]}], "constraints": ["fast < slow"],
        "config": {"symbol": "BTCUSDT", "timeframe": "1h"},
        "created_at": "2026-01-02 10:00:00", "finished_at": None, "running_here": True})
    id: int
    kind: str
    strategy_id: int
    strategy_version: int
    strategy_name: str
    method: str
    objective: str
    direction: str
    min_trades: int
    max_trials: int
    time_budget_s: float | None
    seed: int
    status: str
    error: str
    trials: int = Field(description="trials stored so far")
    space: list[dict[str, Any]]
    constraints: list[str]
    config: dict[str, Any]
    created_at: str | None
    finished_at: str | None
    running_here: bool = Field(description="this server runs it now (cancel works here)")


class StudyPage(BaseModel):
    """A page of studies, newest first."""

    model_config = example({"items": [], "total": 0, "limit": 50, "offset": 0})
    items: list[StudyOut]
    total: int
    limit: int
    offset: int


class TrialOut(BaseModel):
    """One trial: compact metrics (``objective`` null below min_trades or when not finite)."""

    model_config = example({
        "n": 12, "params": {"fast": 10, "slow": 60}, "status": "completed",
        "objective": 1.42, "trades": 37, "total_return": 0.18, "sharpe_ratio": 1.42,
        "max_drawdown": 0.07, "reused": False, "run_id": None, "error": ""})
    n: int
    params: dict[str, Any]
    status: str
    objective: float | None
    trades: int | None
    total_return: float | None
    sharpe_ratio: float | None
    max_drawdown: float | None
    reused: bool
    run_id: int | None
    error: str


class StudyDetail(BaseModel):
    """A study with one page of its trials (sorted as asked; default best first)."""

    model_config = example({"study": StudyOut.model_config["json_schema_extra"]["examples"][0],
                            "trials": [TrialOut.model_config["json_schema_extra"]["examples"][0]],
                            "total": 48, "limit": 50, "offset": 0, "sort": "best",
                            "best": 12})
    study: StudyOut
    trials: list[TrialOut]
    total: int = Field(description="trials stored")
    limit: int
    offset: int
    sort: str
    best: int | None = Field(description="n of the best trial (objective, direction)")


class StudyAction(BaseModel):
    """What a start, resume or cancel did."""

    model_config = example({"id": 3, "status": "running",
                            "detail": "Study 3 started; poll GET /api/studies/3."})
    id: int
    status: str
    detail: str


class StatsOut(BaseModel):
    """Overfitting statistics: the deflated Sharpe ratio of the best trial (N = trials run) and
    the probability of backtest overfitting by CSCV; ``lines`` as `pineopt studies show`."""

    model_config = example({
        "n_trials": 48, "lines": ["deflated Sharpe (trial 12): DSR = 0.6100 ..."],
        "dsr": {"dsr": 0.61, "psr": 0.97, "sr0_daily": 0.05, "best_sr_daily": 0.09,
                "best_sr_annual": 1.72, "n_trials": 48, "variance": 0.0004, "best_trial": 12},
        "pbo": {"pbo": 0.31, "splits": 12870, "blocks": 16,
                "logit_histogram": {"counts": [0, 1], "edges": [-2.0, 0.0, 2.0]}}})
    n_trials: int
    lines: list[str]
    dsr: dict[str, Any] | None = None
    pbo: dict[str, Any] | None = None


class MonteCarloRequest(BaseModel):
    """Monte Carlo of a completed run, as `pineopt montecarlo`."""

    model_config = example({"run_id": 7, "method": "block", "paths": 2000, "seed": 0,
                            "block": 5.0, "loss": 0.1, "drawdown": 0.25})
    run_id: int
    method: Literal["shuffle", "bootstrap", "block"] = "shuffle"
    paths: int = Field(1000, ge=1, description="number of paths")
    seed: int = 0
    block: float = Field(5.0, gt=0, description="mean block length in days (block)")
    loss: float = Field(0.1, description="P(losing at least this fraction)")
    drawdown: float = Field(0.2, description="P(a drawdown beyond this fraction)")


class MonteCarloOut(BaseModel):
    """Percentiles (5, 25, 50, 75, 95) of final return, max drawdown and CAGR, and the two
    probabilities; the same object as `pineopt montecarlo --json`."""

    model_config = example({
        "run_id": 7, "seed": 0, "method": "block", "paths": 2000, "years": 0.5,
        "percentiles": {"final_return": {"5": -0.08, "50": 0.04, "95": 0.17}},
        "loss_threshold": 0.1, "prob_loss": 0.03, "drawdown_threshold": 0.25,
        "prob_drawdown": 0.01})
    run_id: int
    seed: int
    method: str
    paths: int
    years: float
    percentiles: dict[str, dict[str, float]]
    loss_threshold: float
    prob_loss: float
    drawdown_threshold: float
    prob_drawdown: float
