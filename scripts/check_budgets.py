"""Check the size budgets of STYLE.md that ruff cannot: lines per module and per function.

The budgets and the packages they cover are in pyproject.toml, ``[tool.pineopt.budgets]``:
``module_lines`` and ``function_lines``, over every ``*.py`` file under ``packages``. Code that
was over budget before the check existed is listed there with its size as a ceiling
(``module_ceilings``: path -> lines; ``function_ceilings``: "path::Qualified.name" -> lines): it
may shrink, never grow, and an entry that is no longer needed is reported so it can be removed.

Usage: ``python scripts/check_budgets.py [ROOT]`` (ROOT: the folder holding pyproject.toml, by
default this repository). Exit status 0 when every budget holds, 1 otherwise (one line each).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Budgets:
    """The ``[tool.pineopt.budgets]`` table of pyproject.toml."""

    packages: tuple[str, ...]
    module_lines: int
    function_lines: int
    module_ceilings: dict[str, int] = field(default_factory=dict)
    function_ceilings: dict[str, int] = field(default_factory=dict)


def load_budgets(root: Path) -> Budgets:
    """The budgets declared in ``root``/pyproject.toml; KeyError naming a missing key."""
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pineopt"]["budgets"]
    return Budgets(packages=tuple(table["packages"]), module_lines=int(table["module_lines"]),
                   function_lines=int(table["function_lines"]),
                   module_ceilings=dict(table.get("module_ceilings", {})),
                   function_ceilings=dict(table.get("function_ceilings", {})))


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from ``def`` to its last line) of every function, nested too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")
        else:
            yield from _functions(node, prefix)


def _over(key: str, size: int, budget: int, ceilings: dict[str, int], unit: str) -> str | None:
    """The complaint about ``key`` of ``size`` lines, or None when it is within its limit."""
    ceiling = ceilings.get(key)
    if size <= budget:
        return None
    if ceiling is None:
        return f"{key}: {size} lines, over the {unit} budget of {budget}; split it"
    if size > ceiling:
        return f"{key}: {size} lines, grew past its recorded ceiling of {ceiling}; split it"
    return None


def check(root: Path) -> tuple[list[str], list[str]]:
    """(violations, stale ceiling entries) of the budgets under ``root``."""
    budgets = load_budgets(root)
    errors: list[str] = []
    seen: dict[str, int] = {}
    for package in budgets.packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            seen[rel] = len(text.splitlines())
            problem = _over(rel, seen[rel], budgets.module_lines, budgets.module_ceilings,
                            "module")
            errors += [problem] if problem else []
            for name, size in _functions(ast.parse(text, filename=rel)):
                key = f"{rel}::{name}"
                seen[key] = size
                problem = _over(key, size, budgets.function_lines, budgets.function_ceilings,
                                "function")
                errors += [problem] if problem else []
    limits = {**{k: budgets.module_lines for k in budgets.module_ceilings},
              **{k: budgets.function_lines for k in budgets.function_ceilings}}
    stale = [f"{key}: listed as over budget but {'is gone' if key not in seen else 'fits now'};"
             " remove its ceiling entry" for key in limits
             if key not in seen or seen[key] <= limits[key]]
    return errors, stale


def main(argv: list[str]) -> int:
    """Print every violation and stale entry; 1 when there is a violation."""
    root = Path(argv[1]) if len(argv) > 1 else DEFAULT_ROOT
    errors, stale = check(root)
    for line in errors:
        print(f"budget: {line}")
    for line in stale:
        print(f"budget (stale entry): {line}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
