"""Pine Script strategies: parse, translate to readable Python, run with TradingView semantics.

Public API: ``translate(source) -> PineTranslation``. Modules: lexer, parser/exprparser (syntax
tree in nodes), translator/codegen/calls/inputs/scope/module (Python generation), runtime (the
sandbox-side glue), emulator/broker/strategy_ns (TradingView's broker), ta_* (indicators), lib.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from core.errors import TranslationError
from core.model import ParameterDef

__all__ = ["PineTranslation", "translate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PineTranslation:
    """The result of translating one Pine strategy.

    python_source: a backtesting.py Strategy module (passes
    core.strategies.validation.validate_python). params: input.* as parameters (plus
    syminfo_mintick). strategy_settings: strategy() arguments with TradingView defaults;
    ``commission`` is a fraction of notional per fill. plots: titles of plot() calls.
    """

    python_source: str
    params: tuple[ParameterDef, ...]
    strategy_settings: Mapping[str, Any] = field(default_factory=dict)
    plots: tuple[str, ...] = ()
    version: int = 5


@functools.lru_cache(maxsize=32)
def translate(source: str) -> PineTranslation:
    """Translate Pine source. Raises TranslationError (with line/col) and nothing else.

    Pure and deterministic, so results are cached by source text: validation, parameter
    extraction, run defaults and the run itself all ask for the same translation.
    """
    from core.pine.translation.module import build
    from core.pine.syntax.parser import parse

    if not isinstance(source, str):
        raise TranslationError("the Pine source must be text")
    try:
        script = parse(source)
        if script.version < 5:
            raise TranslationError(f"Pine v{script.version} is not supported; convert the script "
                                   "to v5 or v6 in TradingView's editor first", line=1, col=1)
        python_source, params, settings, plots = build(script)
    except TranslationError:
        raise
    except RecursionError:
        raise TranslationError("the script nests too deeply to translate") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise TranslationError(f"could not translate the script ({type(exc).__name__}: {exc})")\
            from None
    return PineTranslation(python_source=python_source, params=params,
                           strategy_settings=MappingProxyType(dict(settings)), plots=plots,
                           version=script.version)
