"""Domain objects shared by every layer: frozen, keyword-only, typed.

Owns: enums (Language, RunStatus, Severity), strategy metadata and parameters, validation issues,
the backtest configuration (whose id is the sha256 of its canonical JSON), trades and run results.
Imports nothing of ours.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, NoReturn

PERIODS_PER_YEAR = 365  # crypto trades 24/7: annualise with calendar days everywhere
TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440,
                     "1w": 10080}


class Language(enum.StrEnum):
    """Source language of a strategy."""

    PYTHON = "python"
    PINE = "pine"


class Severity(enum.StrEnum):
    """How bad a validation finding is: errors block saving as valid and running."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class RunStatus(enum.StrEnum):
    """Every way a backtest can end, plus the queue states before that."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"  # refused by validation before running
    TIMED_OUT = "timed_out"
    MEMORY_LIMIT = "memory_limit"
    CPU_LIMIT = "cpu_limit"
    OUTPUT_LIMIT = "output_limit"
    CANCELLED = "cancelled"
    CRASHED = "crashed"  # the user's code raised
    RESULT_REJECTED = "result_rejected"  # the child's result failed the parent's checks
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"
    INTERRUPTED = "interrupted"  # running when the server died
    FAILED = "failed"  # any other failure, message says why

    @property
    def finished(self) -> bool:
        """True when the run will not change any more."""
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationIssue:
    """One finding about user source, with a 1-based line and column (0 when unknown)."""

    severity: Severity
    line: int
    col: int
    message: str
    rule: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}, col {self.col}" if self.line else "source"
        return f"{self.severity.value}: {where}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterDef:
    """A tunable strategy parameter (a Strategy class attribute or a Pine input.*)."""

    name: str
    type: str  # "int" | "float" | "bool" | "str"
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple[Any, ...] = ()
    description: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyMeta:
    """Descriptive metadata saved with a strategy."""

    name: str
    description: str = ""
    author: str = ""
    version: str = "1.0"
    tags: tuple[str, ...] = ()
    timeframes: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


class FrozenDict(dict):  # a dict subclass, so JSON, asdict and isinstance(dict) keep working
    """A read-only, hashable dict (configs' ``params`` and ``extra``); build it with freeze().

    Every mutating method raises TypeError saying how to change a config instead; hash() is the
    hash of its items, so its values must be hashable too (freeze() makes nested values so).
    """

    __slots__ = ()

    def _read_only(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("this mapping is read-only; build a changed config with "
                        "dataclasses.replace(config, params={...})")

    __setitem__ = __delitem__ = clear = pop = setdefault = update = _read_only

    def popitem(self) -> tuple[Any, Any]:
        """Refused: a config's mapping is read-only (TypeError)."""
        return self._read_only()
    __ior__ = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, _memo: dict) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        return FrozenDict, (dict(self),)


def freeze(value: Any) -> Any:
    """``value`` made immutable all the way down: dicts -> FrozenDict, lists -> tuples."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON-ready containers again: FrozenDict -> dict, tuples -> lists (to_dict)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def canonical_json(obj: Any) -> str:
    """Serialise with sorted keys and no whitespace so equal inputs give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, allow_nan=False)


def sha256_text(text: str | bytes) -> str:
    """Hex sha256 of text (utf-8) or bytes."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


FILL_TIMINGS = ("next_open", "this_close")


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Fees and fills. Rates are fractions of notional per fill (0.0005 = 0.05 %).

    maker_fee_rate: limit orders and take-profits; taker_fee_rate: market and stop orders,
    stop-losses and forced closes. None means "use BacktestConfig.commission" (older configs).
    Slippage moves taker fills against the trader by slippage_bps of the price plus
    slippage_range_frac of the bar's high-low range, never beyond the bar.
    fill_timing: "next_open" (default) or "this_close" (backtesting.py's trade_on_close).
    """

    maker_fee_rate: float | None = None
    taker_fee_rate: float | None = None
    slippage_bps: float = 0.0
    slippage_range_frac: float = 0.0
    fill_timing: str = "next_open"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginModel:
    """Leverage and perpetual-futures settings (isolated margin).

    leverage: 1..125 (perps; spot margin shorts use 1). maintenance_margin_rate and
    liquidation_fee_rate: fractions of notional; None means the exchange preset (tier 1, see
    core.runs.costs). funding_rate_8h: the constant rate per 8 h used when no funding history is
    stored. spot_margin: allow shorting on spot; True keeps backtesting.py's behaviour for older
    configs, the Backtest page and the CLI default to False.
    """

    leverage: float = 1.0
    maintenance_margin_rate: float | None = None
    liquidation_fee_rate: float | None = None
    funding_rate_8h: float = 0.0001
    spot_margin: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRules:
    """Risk rules; each is a fraction and 0 switches it off.

    stop_loss_pct / take_profit_pct: applied to trades opened without their own SL / TP;
    trailing_stop_pct: SL trails the close by this fraction; max_position_pct: position notional
    cap as a fraction of equity; max_drawdown_halt: flatten and stop trading once equity falls
    this far below its peak; max_daily_loss: flatten and pause until the next UTC day once equity
    falls this far below the day's start.
    """

    stop_loss_pct: float = 0.0
    take_profit_pct: float = 0.0
    trailing_stop_pct: float = 0.0
    max_position_pct: float = 0.0
    max_drawdown_halt: float = 0.0
    max_daily_loss: float = 0.0


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


_BLOCKS = {"costs": CostModel, "margin": MarginModel, "risk": RiskRules}
# Fields added after the seed: left out of the canonical JSON while they hold their default, so
# configs stored before they existed keep their run hash and mean what they meant.
_OPTIONAL_FIELDS = ("costs", "margin", "risk", "fractional", "finalize_trades")


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """Everything that decides a backtest's outcome besides the source and the data bytes.

    Money is in quote currency (USDT). ``commission`` is the single fee rate of older configs
    (fraction of notional per fill, backtesting.py's ``commission``), used for maker and taker
    fills when ``costs`` leaves them None. ``start``/``end`` are ISO dates or datetimes in UTC;
    empty means the whole dataset. ``fractional``: trade coin fractions on the symbol's lot step
    and minimum notional; False keeps backtesting.py's whole units. ``finalize_trades``: close
    trades still open on the last bar and count them (True), or leave them open, out of the trade
    list, with their unrealised P&L in the equity (backtesting.py's default; spot only). The
    defaults of every block reproduce plain backtesting.py; the Backtest page and the CLI fill in
    exchange presets (core.runs.semantics).
    """

    exchange: str = "sample"
    market: str = "spot"
    symbol: str = "BTCUSDT"
    timeframe: str = "1h"
    start: str = ""
    end: str = ""
    cash_usdt: float = 100_000.0
    commission: float = 0.0
    params: Mapping[str, Any] = field(default_factory=FrozenDict)  # read-only (FrozenDict)
    extra: Mapping[str, Any] = field(default_factory=FrozenDict)  # read-only (FrozenDict)
    costs: CostModel = field(default_factory=CostModel)
    margin: MarginModel = field(default_factory=MarginModel)
    risk: RiskRules = field(default_factory=RiskRules)
    fractional: bool = False
    finalize_trades: bool = True

    def __post_init__(self) -> None:
        """Accept plain dicts for the blocks (JSON, TOML, to_dict output); ints become floats
        so 10 and 10.0 give one canonical JSON; params and extra become read-only FrozenDicts,
        so a config is immutable and hashable."""
        for name in ("params", "extra"):
            object.__setattr__(self, name, freeze(dict(getattr(self, name))))
        for name in ("cash_usdt", "commission"):
            object.__setattr__(self, name, _as_float(getattr(self, name)))
        for name, block in _BLOCKS.items():
            value = getattr(self, name)
            items = value.items() if isinstance(value, dict) else asdict(value).items()
            known = {f.name for f in fields(block)}
            object.__setattr__(self, name, block(**{k: _as_float(v) for k, v in items
                                                    if k in known}))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready); post-seed fields are included only when not default."""
        data = thaw(asdict(self))
        blank = thaw(asdict(BacktestConfig()))
        for name in _OPTIONAL_FIELDS:
            if data[name] == blank[name]:
                del data[name]
        return data

    def with_range(self, first: datetime, last: datetime) -> BacktestConfig:
        """This config with an empty start/end set to the first/last day of the bars it used
        (what a run stores, so an undated request records its actual range)."""
        return replace(self, start=self.start or f"{first:%Y-%m-%d}",
                       end=self.end or f"{last:%Y-%m-%d}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestConfig:
        """Build from a dict, ignoring unknown keys (older stored configs stay readable)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def config_id(self) -> str:
        """sha256 of the canonical JSON: identical configs always share one id."""
        return sha256_text(canonical_json(self.to_dict()))

    @property
    def fee_rates(self) -> tuple[float, float]:
        """(maker, taker) fee rates in force: the costs block, else ``commission``."""
        c = self.costs
        maker = self.commission if c.maker_fee_rate is None else c.maker_fee_rate
        taker = self.commission if c.taker_fee_rate is None else c.taker_fee_rate
        return float(maker), float(taker)


def run_hash(*, strategy_sha: str, data_sha: str, config: BacktestConfig) -> str:
    """The id of a run's inputs: sha256(strategy sha + data sha + canonical config JSON)."""
    return sha256_text(strategy_sha + data_sha + canonical_json(config.to_dict()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One closed (or force-closed at the end) trade. Size is signed coins (short < 0)."""

    entry_time: datetime
    exit_time: datetime
    size: float
    entry_price: float
    exit_price: float
    pnl: float
    return_pct: float  # fraction: 0.05 means +5 %
    commission: float = 0.0
    entry_bar: int = 0
    exit_bar: int = 0
    tag: str = ""
    exit_reason: str = ""

    @property
    def side(self) -> str:
        """'long' or 'short'."""
        return "long" if self.size > 0 else "short"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A stored backtest row as the UI and CLI see it."""

    id: int
    run_hash: str
    strategy_id: int | None
    strategy_name: str
    strategy_version: int | None
    status: RunStatus
    config: BacktestConfig
    data_sha: str
    error: str
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    log: str = ""
