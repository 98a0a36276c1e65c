"""The search space of a sweep, built from the strategy's typed parameters.

A dimension is written ``name=low:high:step`` (ints and floats; a step the user writes always
wins; without one it is ``default_step``: the declared step, whole for ints, else 1 for ints and
a round tenth of the range for floats), ``name=a,b,c`` (listed values: options, bools or
numbers) or ``name=value`` (fixed). Bounds default to the parameter's declared range. Every value
is coerced and checked by core.strategies.params, so a sweep can only ask for what a single run
accepts. Grid plans enumerate the product in a fixed order; random plans draw from it with a seed.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core.strategies import params as params_mod
from core.errors import ConfigError
from core.model import ParameterDef
from core.studies.constraints import Constraint, all_hold

MAX_GRID = 1_000_000  # values enumerated at most (the plan itself is capped by the trial budget)


@dataclass(frozen=True, slots=True)
class Dimension:
    """One swept (or fixed) parameter: its type and the values it may take, in order."""

    name: str
    type: str
    values: tuple[Any, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored with the study (from_dict reads it back)."""
        return {"name": self.name, "type": self.type, "values": list(self.values),
                "low": self.low, "high": self.high, "step": self.step}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Dimension:
        """The Dimension that to_dict wrote."""
        return cls(name=raw["name"], type=raw["type"], values=tuple(raw["values"]),
                   low=raw.get("low"), high=raw.get("high"), step=raw.get("step"))


def _nice(value: float) -> float:
    """The number of the form 1, 2, 2.5 or 5 times a power of ten nearest to ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    best = min((1.0, 2.0, 2.5, 5.0, 10.0), key=lambda m: abs(m * power - value))
    return float(f"{best * power:.12g}")


def default_step(param: ParameterDef, low: float, high: float, *, coarse: bool = False) -> float:
    """The step of ``param``'s range when the user writes none.

    The declared step wins (an int parameter's rounded to a whole number, at least 1). Otherwise
    ints step by 1, or with ``coarse`` (the page's suggestion) by a whole tenth of the range;
    floats by a round tenth of the range (1, 2, 2.5 or 5 times a power of ten).
    """
    if param.type == "int":
        if param.step:
            return float(max(1, round(param.step)))
        return float(max(1, round((high - low) / 10))) if coarse else 1.0
    if param.step:
        return float(param.step)
    return _nice((high - low) / 10) if high > low else 1.0


def default_spec(param: ParameterDef) -> str:
    """The page's suggested text for ``param``: ``low:high:step`` (about ten values of a declared
    range), its options, ``False,True`` or its default."""
    if param.type in ("int", "float") and param.min is not None and param.max is not None:
        step = default_step(param, param.min, param.max, coarse=True)
        return f"{param.min:g}:{param.max:g}:{step:g}"
    if param.options:
        return ",".join(map(str, param.options))
    return "False,True" if param.type == "bool" else str(param.default)


def _number_range(param: ParameterDef, low: float, high: float, step: float) -> tuple[Any, ...]:
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(step)) or step <= 0:
        raise ConfigError(f"--param {param.name}: the step must be a positive number.")
    if high < low:
        raise ConfigError(f"--param {param.name}: the range {low:g}:{high:g} is empty; write "
                          "low:high:step with low <= high.")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    if count > MAX_GRID:
        raise ConfigError(f"--param {param.name}: {count:,} values is too many; use a larger step.")
    values = [low + k * step for k in range(count)]
    if param.type == "int":
        return tuple(dict.fromkeys(int(round(v)) for v in values))
    return tuple(round(v, 10) for v in values)


def dimension(param: ParameterDef, spec: str | None) -> Dimension:
    """The dimension of ``param`` from its CLI/page spec (None: its declared range or options).

    Raises ConfigError naming the parameter and what to write.
    """
    text = (spec or "").strip()
    if not text:
        if param.options:
            return Dimension(param.name, param.type, tuple(param.options))
        if param.type == "bool":
            return Dimension(param.name, "bool", (False, True))
        if param.type in ("int", "float") and param.min is not None and param.max is not None:
            step = default_step(param, param.min, param.max)
            return _checked(param, Dimension(param.name, param.type, _number_range(
                param, param.min, param.max, step), param.min, param.max, step))
        raise ConfigError(f"Parameter {param.name} has no declared range; give one, e.g. "
                          f"--param {param.name}=LOW:HIGH:STEP.")
    if ":" in text and param.type in ("int", "float"):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"--param {param.name}={text}: write LOW:HIGH or LOW:HIGH:STEP.")
        try:
            low, high = float(parts[0]), float(parts[1])
            step = float(parts[2]) if len(parts) == 3 else default_step(param, low, high)
        except ValueError:
            raise ConfigError(f"--param {param.name}={text}: LOW, HIGH and STEP must be numbers."
                              ) from None
        return _checked(param, Dimension(param.name, param.type,
                                         _number_range(param, low, high, step), low, high, step))
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        values = tuple(dict.fromkeys(params_mod.coerce(param, item) for item in items))
    except ConfigError as exc:
        if param.type not in ("int", "float"):
            raise
        example = default_spec(param)
        example = f" (e.g. {example})" if ":" in example else ""
        raise ConfigError(f"--param {param.name}={text}: write a range as LOW:HIGH[:STEP]"
                          f"{example}, a list as a,b,c, or one value. {exc}") from None
    return Dimension(param.name, param.type, values)


def _checked(param: ParameterDef, dim: Dimension) -> Dimension:
    for value in (dim.values[0], dim.values[-1]):
        params_mod.coerce(param, value)  # raises ConfigError outside the declared range
    return dim


def build(defs: Sequence[ParameterDef], specs: dict[str, str]) -> list[Dimension]:
    """Dimensions for every parameter named in ``specs`` (unknown names refused)."""
    by_name = {p.name: p for p in defs}
    out = []
    for name, spec in specs.items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ConfigError(f"Unknown parameter '{name}'. Parameters: {known}.")
        out.append(dimension(by_name[name], spec))
    if not out:
        raise ConfigError("Nothing to optimise: give at least one --param NAME=LOW:HIGH:STEP.")
    return out


def size(dims: Sequence[Dimension]) -> int:
    """Number of combinations before constraints."""
    return math.prod(len(d.values) for d in dims)


def key(params: dict[str, Any]) -> str:
    """The canonical text of a parameter set (sorted keys): identical trials share it."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def grid(dims: Sequence[Dimension], constraints: Iterable[Constraint] = ()) -> Iterator[dict]:
    """Every combination satisfying the constraints, the first dimension varying slowest."""
    rules = list(constraints)
    names = [d.name for d in dims]
    for combo in itertools.product(*(d.values for d in dims)):
        params = dict(zip(names, combo, strict=True))
        if all_hold(rules, params):
            yield params


def random_plan(dims: Sequence[Dimension], constraints: Iterable[Constraint], *, n: int,
                seed: int) -> list[dict]:
    """Up to ``n`` distinct combinations drawn with ``seed`` (a repeat gives the same list)."""
    rules = list(constraints)
    rng = random.Random(seed)
    total = size(dims)
    if total <= 4 * n:  # small spaces: a seeded shuffle of the valid grid, no rejection loop
        valid = list(grid(dims, rules))
        rng.shuffle(valid)
        return valid[:n]
    seen: set[str] = set()
    out: list[dict] = []
    attempts = 0
    while len(out) < n and attempts < 50 * n:
        attempts += 1
        params = {d.name: d.values[rng.randrange(len(d.values))] for d in dims}
        k = key(params)
        if k in seen or not all_hold(rules, params):
            continue
        seen.add(k)
        out.append(params)
    return out


def _nearest(values: Sequence[Any], target: Any) -> Any:
    """The first of ``values`` closest to ``target``."""
    return min(values, key=lambda v: abs(v - target))


def snap(dims: Sequence[Dimension], params: dict[str, Any]) -> dict[str, Any]:
    """A sampler's values (Optuna's TPE) mapped onto the grid values (float steps drift by
    rounding)."""
    out = {}
    for d in dims:
        value = params[d.name]
        if d.type in ("int", "float") and not isinstance(value, (bool, str)):
            value = _nearest(d.values, value)
        out[d.name] = value
    return out
