"""The sweep orchestrator: define a study, plan its trials, run them in sandbox batches, store
each batch's trials as it finishes, and resume a killed study with only its missing trials.

Plans: grid (every combination satisfying the constraints, in a fixed order, capped by the trial
budget), random (a seeded draw of distinct combinations) and tpe (Optuna's TPE sampler with a
fixed seed, asked for a small round of trials at a time: two per child; on resume the stored
trials are told to a fresh sampler first). A trial's number is its place in the plan
(grid/random), so a resumed study ends with exactly the trials of an uninterrupted one. Identical
trials (same strategy, data, settings and parameters: the trial hash, a run hash) are copied
from any earlier study, not re-run. Objective: any stored metric, max or min; trials with fewer
trades than min_trades have no objective.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from core import executors
from core.market import catalogue as market_data
from core.runs import pine_run
from core.strategies import crud as strategies, validation
from core.strategies import params as params_mod
from core.errors import ConfigError, PineOptError, SandboxError
from core.model import BacktestConfig, Language, run_hash
from core.settings import Settings
from core.studies import constraints as constraints_mod
from core.studies import space as space_mod
from core.studies import study_store
from core.studies import rounds
from core.studies.executor import Job, Ran, TrialResult, check_batch

METHODS = ("grid", "random", "tpe")
DEFAULT_BATCH = 200  # the most trials per child; core.studies.rounds sizes each batch
MAX_TRIALS = 100_000
# TPE asks a whole round before it learns its results: small rounds find the optimum far more
TPE_PER_CHILD = 2  # often (580-point SMA space, 60 trials: 11 of 12 seeds at 4 a round, 1 at 16)


@dataclass(slots=True)
class SweepReport:
    """What one call of run() did."""

    study_id: int
    status: str
    executed: int = 0  # trials run in a sandbox by this call
    reused: int = 0  # identical trials copied from earlier studies
    stored: int = 0  # trials stored in total for the study
    best: dict[str, Any] | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def metric_names() -> list[str]:
    """Every metric a trial stores (the objective may be any of them)."""
    from core.analytics import metrics, trade_stats

    return sorted({*metrics.METRICS, *trade_stats.TRADE_STATS, *trade_stats.EQUITY_STATS})


def _prepared_config(settings: Settings, strategy_id: int, version: int | None,
                     config: BacktestConfig) -> tuple[Any, Any, BacktestConfig]:
    from core.runs import costs
    from core.runs.service import run_limits

    record = strategies.get(settings.db_path, strategy_id)
    ver = strategies.get_version(settings.db_path, strategy_id, version)
    config = params_mod.checked_config(config, ver.source, record.language)
    if record.language is Language.PINE:
        config = pine_run.prepare_config(settings.db_path, config)
    costs.check_config(config)
    run_limits(settings, config)
    return record, ver, config


def create(settings: Settings, *, strategy_id: int, config: BacktestConfig,
           specs: dict[str, str], method: str = "grid", max_trials: int = 1000,
           time_budget_s: float | None = None, objective: str = "sharpe_ratio",
           direction: str = "max", min_trades: int = 0, constraints: list[str] | None = None,
           seed: int = 0, version: int | None = None) -> int:
    """Check and store a new study (nothing runs yet); returns its id.

    Raises ConfigError for an unknown method, objective or parameter, a bad range or
    constraint, or a space with no valid combination.
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
    if direction not in ("max", "min"):
        raise ConfigError("direction must be 'max' or 'min'.")
    if objective not in metric_names():
        raise ConfigError(f"Unknown objective {objective!r}; use a stored metric such as "
                          "sharpe_ratio, total_return, sortino_ratio, max_drawdown (min).")
    if not 1 <= max_trials <= MAX_TRIALS:
        raise ConfigError(f"The trial budget must be between 1 and {MAX_TRIALS:,}.")
    if time_budget_s is not None and not time_budget_s > 0:
        raise ConfigError("The time budget must be a positive number of seconds.")
    record, ver, config = _prepared_config(settings, strategy_id, version, config)
    defs = params_mod.extract(ver.source, record.language)
    dims = space_mod.build(defs, specs)
    rules = [constraints_mod.parse(text, [p.name for p in defs]) for text in constraints or []]
    if method == "grid" and next(space_mod.grid(dims, rules), None) is None:
        raise ConfigError("No combination satisfies the constraints; widen the ranges.")
    data = market_data.load_ohlcv(settings.db_path, exchange=config.exchange,
                                  market=config.market, symbol=config.symbol,
                                  timeframe=config.timeframe, start=config.start, end=config.end)
    return study_store.insert_study(
        settings.db_path, kind="sweep", strategy_id=strategy_id, strategy_version=ver.version,
        strategy_name=record.meta.name, strategy_sha=ver.sha256,
        data_sha=market_data.data_sha(data), config=config.to_dict(),
        space=[d.to_dict() for d in dims], constraints=[r.text for r in rules], method=method,
        objective=objective, direction=direction, min_trades=int(min_trades),
        max_trials=int(max_trials), time_budget_s=time_budget_s, seed=int(seed),
        status="queued")


def trial_config(study: study_store.Study, params: dict[str, Any]) -> BacktestConfig:
    """The single-run config of one trial: the study's config with the trial's parameters."""
    base = BacktestConfig.from_dict(study.config)
    return replace(base, params={**base.params, **params})


def trial_hash(study: study_store.Study, params: dict[str, Any]) -> str:
    """The run hash a single run of this trial would have."""
    return run_hash(strategy_sha=study.strategy_sha, data_sha=study.data_sha,
                    config=trial_config(study, params))


def objective_of(study: study_store.Study, values: dict[str, float]) -> float | None:
    """The trial's objective, or None below the minimum trade count or when not finite."""
    if int(values.get("total_trades", 0)) < study.min_trades:
        return None
    value = values.get(study.objective)
    return float(value) if value is not None and math.isfinite(value) else None


class _Runner:
    """One run() call: executes rounds of trials and stores each batch as it finishes."""

    def __init__(self, settings: Settings, study: study_store.Study, *, workers: int,
                 batch_size: int, cancel: threading.Event | None, reuse: bool,
                 on_batch: Callable[[SweepReport], None] | None) -> None:
        self.settings = settings
        self.study = study
        self.workers = workers
        self.batch_size = batch_size
        self.cancel = cancel or threading.Event()
        self.reuse = reuse
        self.on_batch = on_batch
        self.started = time.monotonic()
        self.report = SweepReport(study_id=study.id, status="running")
        self.done = study_store.done_keys(settings.db_path, study.id)
        self.days_set = bool(study.return_days)
        db = settings.db_path
        record = strategies.get(db, study.strategy_id)
        ver = strategies.get_version(db, study.strategy_id, study.strategy_version)
        config = BacktestConfig.from_dict(study.config)
        data = market_data.load_ohlcv(db, exchange=config.exchange, market=config.market,
                                      symbol=config.symbol, timeframe=config.timeframe,
                                      start=config.start, end=config.end)
        if market_data.data_sha(data) != study.data_sha:
            raise PineOptError(f"The data of study {study.id} changed since it was created; "
                               "start a new study.")
        source = validation.python_source_for(ver.source, record.language)
        problems = validation.errors_only(validation.validate_python(source))
        if problems:
            raise ConfigError("The strategy does not validate: "
                              + "; ".join(str(p) for p in problems))
        pine = record.language is Language.PINE
        self.job = Job(source=source, data=data, config=config, pine=pine,
                       on_close=pine and pine_run.processes_orders_on_close(ver.source),
                       slippage_ticks=pine_run.strategy_slippage(ver.source) if pine else 0)
        self.pace = rounds.Pace()
        self.out_cap = rounds.out_cap(len(data), settings.out_mb)

    def out_of_time(self) -> bool:
        budget = self.study.time_budget_s
        return budget is not None and time.monotonic() - self.started >= budget

    def _row(self, n: int, result: TrialResult, *, reused: bool = False) -> dict[str, Any]:
        params = result.params
        row: dict[str, Any] = {"n": n, "params": params, "params_key": space_mod.key(params),
                               "trial_hash": trial_hash(self.study, params),
                               "status": result.status, "error": result.error,
                               "reused": reused}
        if result.ok:
            row["metrics"] = result.metrics
            row["trades"] = int(result.metrics.get("total_trades", 0))
            row["objective"] = objective_of(self.study, result.metrics)
            daily = result.daily_returns
            if daily is not None:
                self._set_days([str(d.date()) for d in daily.index])
                row["daily_returns"] = [float(v) for v in daily.to_numpy()]
        return row

    def _set_days(self, days: list[str]) -> None:
        """Store the UTC days the trials' daily returns are aligned to (once)."""
        if not self.days_set:
            study_store.set_return_days(self.settings.db_path, self.study.id, days)
            self.days_set = True

    def _store(self, rows: list[dict[str, Any]]) -> None:
        study_store.insert_trials(self.settings.db_path, self.study.id, rows)
        for r in rows:
            self.done[r["params_key"]] = r["n"]
        self.report.stored = len(self.done)
        if self.on_batch is not None:
            self.on_batch(self.report)

    def _copy_known(self, todo: list[tuple[int, dict[str, Any]]]
                    ) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
        """Store copies of the trials an identical earlier trial ran; (copies, the rest)."""
        known = study_store.find_by_hash(self.settings.db_path,
                                         [trial_hash(self.study, p) for _, p in todo])
        copies, rest = [], []
        for n, p in todo:
            hit = known.get(trial_hash(self.study, p))
            if hit is None:
                rest.append((n, p))
                continue
            row = {"n": n, "params": p, "params_key": space_mod.key(p),
                   "trial_hash": trial_hash(self.study, p), "status": "completed",
                   "reused": True, "metrics": hit["metrics"], "trades": hit["trades"],
                   "objective": objective_of(self.study, hit["metrics"]),
                   "daily_returns": hit["daily_returns"]}
            copies.append(row)
            if hit["daily_returns"] is not None and hit["return_days"]:
                self._set_days(hit["return_days"])  # a study of copies only had none: no DSR
        if copies:
            self.report.reused += len(copies)
            self._store(copies)
        return copies, rest

    def run_round(self, numbered: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Run (n, params) pairs: identical ones copied, the rest in sandbox batches
        (core.studies.rounds). Returns the stored rows (in completion order)."""
        stored: list[dict[str, Any]] = []
        todo = [(n, p) for n, p in numbered if space_mod.key(p) not in self.done]
        if self.reuse and todo:
            copies, todo = self._copy_known(todo)
            stored += copies
        if not todo:
            return stored

        def finish(batch: list[tuple[int, dict[str, Any]]], ran: Ran) -> None:
            results = check_batch(self.job, ran)  # its pace was noted by rounds.execute
            rows = [self._row(n, r) for (n, _), r in zip(batch, results, strict=True)]
            self.report.executed += len(rows)
            self._store(rows)
            stored.extend(rows)

        def failed(exc: SandboxError) -> None:
            self.report.errors.append(str(exc))
            self.cancel.set()  # the sandbox itself failed: stop, keep what is stored

        rounds.execute(self.settings, self.job, todo, workers=self.workers,
                       size_for=self._size_for, cancel=self.cancel, stop=self.out_of_time,
                       finish=finish, failed=failed, pace=self.pace)
        return stored

    def _size_for(self, remaining: int, busy: int) -> int:
        budget = self.study.time_budget_s
        left = None if budget is None else budget - (time.monotonic() - self.started)
        return rounds.batch_size(remaining=remaining, workers=self.workers, busy=busy,
                                 cap=min(self.batch_size, self.out_cap), pace=self.pace,
                                 time_left_s=left)


def run(settings: Settings, study_id: int, *, workers: int | None = None,
        batch_size: int = DEFAULT_BATCH, cancel: threading.Event | None = None,
        reuse: bool = True, on_batch: Callable[[SweepReport], None] | None = None
        ) -> SweepReport:
    """Run (or resume) a study until its plan, trial budget or time budget is exhausted, or
    ``cancel`` is set. Trials already stored are never run again."""
    db = settings.db_path
    study = study_store.get_study(db, study_id)
    study_store.set_status(db, study_id, "running")
    try:
        workers = max(1, workers or executors.slots(settings))  # cores, or cluster threads
        runner = _Runner(settings, study, workers=workers, batch_size=batch_size, cancel=cancel,
                         reuse=reuse, on_batch=on_batch)
        if study.method == "tpe":
            _run_tpe(runner)
        else:
            plan = _plan(study)
            runner.run_round(list(enumerate(plan, start=1)))
    except PineOptError as exc:
        study_store.set_status(db, study_id, "failed", error=str(exc))
        raise
    except BaseException:
        study_store.set_status(db, study_id, "failed", error="stopped by an unexpected error")
        raise
    report = runner.report
    report.stored = len(runner.done)
    if report.errors:
        status = "failed"
    elif runner.cancel.is_set():
        status = "cancelled"
    else:
        status = "completed"
    study_store.set_status(db, study_id, status, error="\n".join(report.errors))
    report.status = status
    report.best = best_trial(settings, study_id)
    report.seconds = time.monotonic() - runner.started
    return report


def dimensions(study: study_store.Study) -> list[space_mod.Dimension]:
    """The study's search space as Dimensions."""
    return [space_mod.Dimension.from_dict(d) for d in study.space]


def rules(study: study_store.Study) -> list[constraints_mod.Constraint]:
    """The study's parameter constraints, parsed."""
    return [constraints_mod.parse(text) for text in study.constraints]


def _plan(study: study_store.Study) -> list[dict[str, Any]]:
    dims, constraint_list = dimensions(study), rules(study)
    if study.method == "grid":
        out = []
        for params in space_mod.grid(dims, constraint_list):
            out.append(params)
            if len(out) >= study.max_trials:
                break
        return out
    return space_mod.random_plan(dims, constraint_list, n=study.max_trials, seed=study.seed)


def _distribution(dim: space_mod.Dimension) -> Any:
    import optuna

    step = dim.step
    numeric = dim.type in ("int", "float") and step and dim.low is not None
    if numeric and step and dim.type == "int":
        return optuna.distributions.IntDistribution(int(dim.values[0]), int(dim.values[-1]),
                                                    step=max(1, int(round(step))))
    if numeric:
        return optuna.distributions.FloatDistribution(float(dim.values[0]),
                                                      float(dim.values[-1]), step=dim.step)
    return optuna.distributions.CategoricalDistribution(list(dim.values))


def _run_tpe(runner: _Runner) -> None:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = runner.study
    dims, constraint_list = dimensions(study), rules(study)
    dists = {d.name: _distribution(d) for d in dims}
    sampler = optuna.samplers.TPESampler(seed=study.seed)
    opt = optuna.create_study(direction="maximize" if study.direction == "max" else "minimize",
                              sampler=sampler)
    frame = study_store.trials_frame(runner.settings.db_path, study.id)
    for _, row in frame.iterrows():  # resume: tell the sampler what is already known
        value = row["objective"]
        state = TrialState.COMPLETE if value == value and value is not None else TrialState.FAIL
        opt.add_trial(optuna.trial.create_trial(params=row["params"], distributions=dists,
                                                value=float(value) if state is TrialState.COMPLETE
                                                else None, state=state))
    next_n = int(frame["n"].max()) + 1 if len(frame) else 1
    total = space_mod.size(dims)
    stalls = 0
    while (len(runner.done) < min(study.max_trials, total) and not runner.cancel.is_set()
           and not runner.out_of_time() and stalls < 50):
        want = min(runner.workers * TPE_PER_CHILD, study.max_trials - len(runner.done))
        asked: list[tuple[Any, dict[str, Any]]] = []
        keys: set[str] = set()
        for _ in range(want * 20):
            if len(asked) >= want:
                break
            trial = opt.ask(dists)
            params = space_mod.snap(dims, trial.params)
            k = space_mod.key(params)
            if not constraints_mod.all_hold(constraint_list, params) or k in keys:
                opt.tell(trial, state=TrialState.FAIL)
                continue
            if k in runner.done:  # the sampler proposed a known point: tell its stored value
                opt.tell(trial, state=TrialState.FAIL)
                continue
            keys.add(k)
            asked.append((trial, params))
        if not asked:
            stalls += 1
            continue
        numbered = [(next_n + i, p) for i, (_, p) in enumerate(asked)]
        next_n += len(asked)
        rows = {r["params_key"]: r for r in runner.run_round(numbered)}
        for trial, params in asked:
            row = rows.get(space_mod.key(params))
            value = row.get("objective") if row else None
            if value is None:
                opt.tell(trial, state=TrialState.FAIL)
            else:
                opt.tell(trial, value)


def best_trial(settings: Settings, study_id: int) -> dict[str, Any] | None:
    """The trial with the best objective (ties: the lowest n), or None."""
    study = study_store.get_study(settings.db_path, study_id)
    frame = study_store.trials_frame(settings.db_path, study_id)
    n = study_store.best_trial_from(study, frame)
    if n is None:
        return None
    top = frame[frame["n"] == n].iloc[0]
    return {"n": int(top["n"]), "params": top["params"], "objective": float(top["objective"]),
            "trades": int(top["trades"]), "sharpe_ratio": float(top["sharpe_ratio"]),
            "total_return": float(top["total_return"])}


def open_as_run(settings: Settings, study_id: int, n: int, *, execute: bool = True) -> Any:
    """A normal run record of trial ``n`` (the stored run when identical); linked to the trial."""
    from core.runs import service as runs

    study = study_store.get_study(settings.db_path, study_id)
    frame = study_store.trials_frame(settings.db_path, study_id)
    match = frame[frame["n"] == n]
    if match.empty:
        raise ConfigError(f"Study {study_id} has no trial {n}.")
    params = match.iloc[0]["params"]
    record = runs.request_run(settings, strategy_id=study.strategy_id,
                              config=trial_config(study, params),
                              version=study.strategy_version)
    if execute and not record.status.finished:
        record = runs.execute(settings, record.id)
    study_store.link_run(settings.db_path, study_id, n, record.id)
    return record
