"""Request and response models of /api/walkforwards and /api/lookahead (each with an example).

A walk-forward request is `pineopt walkforward` as JSON over a stored strategy: the sweep fields
of POST /api/studies (applied to each in-sample window) plus the window lengths. The responses
carry the fields of `pineopt studies show ID --json` and `pineopt lookahead --json`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.run_schemas import ConfigIn
from api.schemas import example
from api.study_schemas import SweepFields
from core.studies import lookahead, sweep


class WalkForwardRequest(SweepFields):
    """Create a walk-forward of a stored strategy version and run it in the background."""

    model_config = example({
        "strategy_id": 1, "config": {"symbol": "BTCUSDT", "timeframe": "1h",
                                     "start": "2023-01-01", "end": "2024-06-30"},
        "params": {"fast": "5:50:5", "slow": "20:200:10"}, "is_len": "180d", "oos_len": "60d",
        "anchored": False, "method": "grid", "trials": 200, "objective": "sharpe_ratio",
        "direction": "max", "constraints": ["fast < slow"]})
    is_len: str = Field(description="in-sample length: 180d, 12h, 8w (as `--is`)")
    oos_len: str = Field(description="out-of-sample length (as `--oos`)")
    step: str | None = Field(None, description="how far each window moves (default and "
                                               "minimum: oos_len)")
    anchored: bool = Field(False, description="in-sample windows all start at the first bar")
    trials: int = Field(1000, ge=1, le=sweep.MAX_TRIALS, description="trial budget per window")
    time_budget_s: float | None = Field(None, gt=0, description="per window: stop starting "
                                                                "batches after this many seconds")


class WindowOut(BaseModel):
    """One window (core.studies.walkforward.WINDOW_FIELDS, as in `pineopt studies show ID
    --json`): bounds (UTC, ends exclusive), status, chosen parameters, IS/OOS figures. Returns,
    drawdowns and WFE are fractions (0.21 = 21 %)."""

    model_config = example({
        "window": 1, "status": "completed", "error": "", "is_start": "2023-01-01 00:00:00",
        "is_end": "2023-06-30 00:00:00", "oos_start": "2023-06-30 00:00:00",
        "oos_end": "2023-08-29 00:00:00", "params": {"fast": 10, "slow": 60},
        "is_objective": 1.8, "is_annualized_return": 0.42, "oos_annualized_return": 0.21,
        "oos_total_return": 0.03, "oos_sharpe_ratio": 0.9, "oos_max_drawdown": 0.06,
        "oos_trades": 7, "wfe": 0.5, "oos_run_id": 41, "is_study_id": 12})
    window: int
    status: str = Field(description="pending, completed, no_trial (no in-sample trial had an "
                                    "objective) or failed")
    error: str
    is_start: str
    is_end: str
    oos_start: str
    oos_end: str
    params: dict[str, Any] | None = Field(description="the best in-sample parameters")
    is_objective: float | None = Field(description="the study's objective, in-sample")
    is_annualized_return: float | None = Field(description="in-sample mean daily return x 365")
    oos_annualized_return: float | None = Field(description="out-of-sample mean daily return "
                                                            "x 365")
    oos_total_return: float | None
    oos_sharpe_ratio: float | None = Field(description="out-of-sample Sharpe ratio (annualised)")
    oos_max_drawdown: float | None = Field(description="out-of-sample max drawdown")
    oos_trades: int | None
    wfe: float | None = Field(description="walk-forward efficiency of the window")
    oos_run_id: int | None = Field(description="the out-of-sample run (GET /api/backtests/{id})")
    is_study_id: int = Field(description="the in-sample sweep (GET /api/studies/{id})")


class WalkForwardOut(BaseModel):
    """A walk-forward: its windows, the stitched out-of-sample metrics and the walk-forward
    efficiency (null until a window is completed, or when the in-sample return is not
    positive); partly run walk-forwards show their finished windows."""

    model_config = example({
        "id": 9, "status": "completed", "running_here": False, "strategy_id": 1,
        "strategy_name": "sma cross", "strategy_version": 2, "is_len": "180d",
        "oos_len": "60d", "step": "60d", "anchored": False, "method": "grid",
        "objective": "sharpe_ratio", "direction": "max",
        "windows": [WindowOut.model_config["json_schema_extra"]["examples"][0]],
        "oos_metrics": {"total_return": 0.08, "sharpe_ratio": 0.9},
        "is_annualized_return": 0.4, "oos_annualized_return": 0.2, "wfe": 0.5, "errors": [],
        "created_at": "2026-01-02 10:00:00", "finished_at": "2026-01-02 10:20:00"})
    id: int
    status: str = Field(description="queued, running, completed, cancelled, failed, "
                                    "interrupted")
    running_here: bool = Field(description="this server runs it now (cancel works here)")
    strategy_id: int
    strategy_name: str
    strategy_version: int
    is_len: str
    oos_len: str
    step: str
    anchored: bool
    method: str
    objective: str
    direction: str
    windows: list[WindowOut]
    oos_metrics: dict[str, float | None] = Field(description="the stitched out-of-sample "
                                                             "curve's metrics")
    is_annualized_return: float | None
    oos_annualized_return: float | None
    wfe: float | None = Field(description="overall walk-forward efficiency")
    errors: list[str]
    created_at: str | None
    finished_at: str | None


class WalkForwardAction(BaseModel):
    """What starting a walk-forward did."""

    model_config = example({"id": 9, "status": "running", "windows": 6,
                            "detail": "Walk-forward 9 started; poll GET /api/walkforwards/9."})
    id: int
    status: str
    windows: int = Field(description="windows in the plan")
    detail: str


class LookaheadRequest(BaseModel):
    """Check a stored strategy version for lookahead bias and repainting."""

    model_config = example({"strategy_id": 1, "config": {
        "symbol": "BTCUSDT", "timeframe": "4h", "start": "2024-01-01", "end": "2024-03-31",
        "params": {"fast": 10}}, "cuts": 5})
    strategy_id: int
    version: int | None = Field(None, description="default: the latest version")
    config: ConfigIn
    cuts: int = Field(lookahead.DEFAULT_CUTS, ge=1, le=lookahead.MAX_CUTS,
                      description="truncated runs compared with the full run")


class FindingOut(BaseModel):
    """The first difference between a truncated run and the full run up to its cut."""

    model_config = example({
        "cut": "2024-02-10 12:00:00", "bar": "2024-02-10 12:00:00", "kind": "indicator",
        "name": "next_close(C)", "line": 12, "full": "42000.5", "truncated": "NaN"})
    cut: str
    bar: str
    kind: Literal["indicator", "order"]
    name: str
    line: int | None = Field(description="strategy source line: of the indicator's self.I "
                                         "or plot() call, or of the call that placed the order "
                                         "(self.buy / self.sell / position.close, or Pine "
                                         "strategy.entry / exit / close / order); null when "
                                         "unknown")
    full: str
    truncated: str


class LookaheadOut(BaseModel):
    """The check's outcome, as `pineopt lookahead --json`: ``passed`` when no cut differs."""

    model_config = example({
        "strategy": "sma cross v2", "passed": True, "bars": 546,
        "cuts": ["2024-01-20 08:00:00", "2024-02-14 00:00:00"],
        "indicators": ["SMA(C,10)", "SMA(C,20)"], "orders": 14, "findings": []})
    strategy: str
    passed: bool
    bars: int
    cuts: list[str]
    indicators: list[str]
    orders: int
    findings: list[FindingOut]
