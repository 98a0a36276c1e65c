"""Request and response models of the backtest and market-data routes (each with an example).

A backtest request's ``config`` has the shape of a `--config FILE.toml` (top-level data keys and
the costs, margin, risk and params blocks); what it leaves out comes from the same defaults as
`pineopt backtest` (sample data, spot, 100,000 USDT, fractional coins, exchange fee presets, a
Pine strategy's own strategy() capital and commission).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import example


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostsIn(_Block):
    """[costs]: fees (fractions of notional), slippage, fill timing."""

    maker_fee_rate: float | None = None
    taker_fee_rate: float | None = None
    slippage_bps: float | None = None
    slippage_range_frac: float | None = None
    fill_timing: Literal["next_open", "this_close"] | None = None


class MarginIn(_Block):
    """[margin]: leverage and perpetual settings."""

    leverage: float | None = None
    maintenance_margin_rate: float | None = None
    liquidation_fee_rate: float | None = None
    funding_rate_8h: float | None = None
    spot_margin: bool | None = None


class RiskIn(_Block):
    """[risk]: fractions, 0 = off."""

    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    trailing_stop_pct: float | None = None
    max_position_pct: float | None = None
    max_drawdown_halt: float | None = None
    max_daily_loss: float | None = None


class ConfigIn(_Block):
    """What decides the run besides the source (unknown keys are refused)."""

    symbol: str = Field(description="e.g. BTCUSDT")
    timeframe: Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
    exchange: str | None = Field(None, description="data source (default: sample)")
    market: Literal["spot", "perp"] | None = None
    start: str | None = Field(None, description="first day, YYYY-MM-DD (UTC)")
    end: str | None = Field(None, description="last day, YYYY-MM-DD (UTC), inclusive")
    cash_usdt: float | None = Field(None, description="initial capital (default 100000)")
    commission: float | None = Field(None, description="one fee for maker and taker fills")
    fractional: bool | None = Field(None, description="False: whole coins (plain backtesting.py)")
    costs: CostsIn = Field(default_factory=CostsIn)
    margin: MarginIn = Field(default_factory=MarginIn)
    risk: RiskIn = Field(default_factory=RiskIn)
    params: dict[str, Any] = Field(default_factory=dict, description="strategy parameters")
    timeout_s: float | None = Field(None, description="lower this run's wall-clock limit")

    def layer(self) -> dict[str, Any]:
        """The explicitly given settings, shaped like a config file (None = not given)."""
        data = self.model_dump(exclude={"timeout_s", "commission"})
        if self.commission is not None:  # one rate for both sides unless given separately
            data["commission"] = self.commission
            data["costs"] = {"maker_fee_rate": self.commission, "taker_fee_rate": self.commission,
                             **{k: v for k, v in data["costs"].items() if v is not None}}
        if self.timeout_s is not None:
            data["extra"] = {"limits": {"timeout_s": self.timeout_s}}
        return data


class BacktestRequest(BaseModel):
    """Start a run of a stored strategy version."""

    model_config = example({"strategy_id": 1, "config": {
        "symbol": "BTCUSDT", "timeframe": "1h", "start": "2024-01-01", "end": "2024-03-31",
        "cash_usdt": 100000, "commission": 0.001, "params": {"fast": 10}}, "force": False})
    strategy_id: int
    version: int | None = Field(None, description="default: the latest version")
    config: ConfigIn
    force: bool = Field(False, description="run again even if an identical run is stored")


class RunOut(BaseModel):
    """A run: status, progress, config, error."""

    model_config = example({
        "id": 7, "status": "running", "progress": 0.42, "strategy_id": 1,
        "strategy_name": "sma cross", "strategy_version": 2, "strategy_deleted": False,
        "config": {"symbol": "BTCUSDT", "timeframe": "1h"}, "error": "", "reused": False,
        "run_hash": "5e1c...", "data_sha": "a01f...", "created_at": "2026-01-02 10:00:00",
        "started_at": "2026-01-02 10:00:01", "finished_at": None, "duration_s": None,
        "total_return": None})
    id: int
    status: str = Field(description="queued, running, completed, rejected, timed_out, "
                                    "memory_limit, cpu_limit, output_limit, cancelled, crashed, "
                                    "result_rejected, sandbox_unavailable, interrupted, failed")
    progress: float = Field(description="0..1")
    strategy_id: int | None
    strategy_name: str
    strategy_version: int | None
    strategy_deleted: bool
    config: dict[str, Any]
    error: str = Field(description="why it did not complete (with the line for rejections)")
    reused: bool = Field(False, description="an identical completed run was returned")
    run_hash: str
    data_sha: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    total_return: float | None = None
    log: str | None = Field(None, description="the run's captured output (details only)")


class RunPage(BaseModel):
    """A page of runs, newest first."""

    model_config = example({"items": [], "total": 0, "limit": 50, "offset": 0})
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class RunAction(BaseModel):
    """What DELETE or requeue did to a run."""

    model_config = example({"id": 7, "status": "cancelled", "deleted": False,
                            "detail": "Run 7 was cancelled."})
    id: int
    status: str
    deleted: bool
    detail: str


class MetricOut(BaseModel):
    """One metric with its definition and its values (All / Long / Short)."""

    name: str
    label: str
    unit: str
    definition: str
    value: float | None = Field(description="all trades (null when not a finite number)")
    text: str = Field(description="formatted as the app shows it")
    long: float | None = None
    short: float | None = None


class MetricsOut(BaseModel):
    """Every stored metric of a completed run, and the P&L split."""

    model_config = example({"run_id": 7, "metrics": [{
        "name": "sharpe_ratio", "label": "Sharpe", "unit": "ratio", "value": 1.21,
        "text": "1.21", "long": None, "short": None,
        "definition": "Mean daily excess return / its standard deviation x sqrt(365)."}],
        "costs": {"fees_paid": 312.5}})
    run_id: int
    metrics: list[MetricOut]
    costs: dict[str, float | None]


class CompareRequest(BaseModel):
    """2 to 10 completed runs."""

    model_config = example({"run_ids": [7, 8]})
    run_ids: list[int] = Field(min_length=2, max_length=10)


class CompareOut(BaseModel):
    """`pineopt compare --json`."""

    model_config = example({"runs": [7, 8], "metrics": {"Run 7": {"total_return": 0.04}},
                            "best": {"total_return": ["Run 7"]},
                            "correlation": {"Run 7": {"Run 7": 1.0, "Run 8": 0.8}},
                            "config_differences": [{"setting": "params.fast"}]})
    runs: list[int]
    metrics: dict[str, dict[str, float | None]]
    best: dict[str, list[str]]
    correlation: dict[str, dict[str, float | None]]
    config_differences: list[dict[str, Any]]


class ChartsOut(BaseModel):
    """Chart data (see reports.chart_data)."""

    model_config = example({"equity": [{"time": "2024-01-01T00:00:00", "equity_usdt": 100000.0,
                                        "buy_hold_usdt": 100000.0}],
                            "drawdown": [{"time": "2024-01-01T00:00:00", "drawdown": 0.0}],
                            "monthly_returns": [{"year": 2024, "month": 1, "ret": 0.012}],
                            "yearly_returns": [{"year": "2024", "ret": 0.04}],
                            "rolling": [], "trades": [{"n": 1, "side": "long", "pnl": 12.5,
                                                       "return_pct": 0.01, "bars": 30}]})
    equity: list[dict[str, Any]]
    drawdown: list[dict[str, Any]]
    monthly_returns: list[dict[str, Any]]
    yearly_returns: list[dict[str, Any]]
    rolling: list[dict[str, Any]]
    trades: list[dict[str, Any]]
