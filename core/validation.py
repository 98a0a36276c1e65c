"""Static checks on user strategy source. Never executes it.

Owns the rules a strategy must pass before it is saved as valid or sent to the sandbox: syntax,
RestrictedPython compile, the import allow-list and forbidden names/attributes from
sandbox.policy, and exactly one backtesting.py Strategy subclass with init and next.
"""

from __future__ import annotations

import ast

from core.errors import TranslationError
from core.model import Language, Severity, ValidationIssue
from sandbox import policy


def _issue(node: ast.AST | None, message: str, rule: str,
           severity: Severity = Severity.ERROR) -> ValidationIssue:
    line = getattr(node, "lineno", 0) or 0
    col = (getattr(node, "col_offset", -1) or 0) + 1 if node is not None else 0
    return ValidationIssue(severity=severity, line=line, col=col, message=message, rule=rule)


def _parse(source: str) -> tuple[ast.Module | None, list[ValidationIssue]]:
    if len(source.encode("utf-8", "replace")) > policy.MAX_SOURCE_BYTES:
        return None, [ValidationIssue(severity=Severity.ERROR, line=0, col=0, rule="size",
                                      message="The source is larger than 10 MB; split or shorten it.")]
    if not source.strip():
        return None, [ValidationIssue(severity=Severity.ERROR, line=0, col=0, rule="empty",
                                      message="The source is empty; paste or upload a strategy.")]
    try:
        return ast.parse(source), []
    except SyntaxError as exc:
        msg = f"Syntax error: {exc.msg}. Fix the code at this position."
        return None, [ValidationIssue(severity=Severity.ERROR, line=exc.lineno or 0,
                                      col=exc.offset or 0, message=msg, rule="syntax")]
    except (RecursionError, MemoryError, ValueError):
        return None, [ValidationIssue(severity=Severity.ERROR, line=0, col=0, rule="complexity",
                                      message="The source is too complex to analyse (nesting too "
                                              "deep); simplify the deepest expressions.")]


def _check_imports(tree: ast.Module) -> list[ValidationIssue]:
    issues = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not policy.module_allowed(alias.name):
                    issues.append(_issue(node, f"Import of '{alias.name}' is not allowed. Allowed "
                                         f"modules: {', '.join(sorted(policy.ALLOWED_MODULES))}.",
                                         "import"))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or not policy.module_allowed(module):
                issues.append(_issue(node, f"Import from '{'.' * node.level}{module}' is not "
                                     "allowed. Use only the allowed modules.", "import"))
                continue
            allowed = policy.ALLOWED_FROM.get(module)
            for alias in node.names:
                if alias.name == "*" or (allowed is not None and alias.name not in allowed) or (
                        not policy.attribute_allowed(alias.name)
                        and not policy.module_allowed(f"{module}.{alias.name}")):
                    hint = (" Only 'from backtesting import Strategy' is allowed."
                            if module == "backtesting" else "")
                    issues.append(_issue(node, f"'from {module} import {alias.name}' is not "
                                         f"allowed.{hint}", "import"))
    return issues


def _check_names(tree: ast.Module) -> list[ValidationIssue]:
    issues = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id in policy.FORBIDDEN_NAMES
                                           or node.id.startswith("_")):
            issues.append(_issue(node, f"The name '{node.id}' is not allowed in strategies.",
                                 "name"))
        elif isinstance(node, ast.Attribute) and not policy.attribute_allowed(node.attr):
            issues.append(_issue(node, f"The attribute '.{node.attr}' is not allowed in "
                                 "strategies.", "attribute"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            issues.append(_issue(node, "Strings containing '__' are not allowed (they can hide "
                                 "dunder access).", "dunder-string"))
    return issues


def _is_strategy_base(base: ast.expr) -> bool:
    return (isinstance(base, ast.Name) and base.id == "Strategy") or (
        isinstance(base, ast.Attribute) and base.attr == "Strategy")


def _check_strategy_class(tree: ast.Module) -> list[ValidationIssue]:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)
               and any(_is_strategy_base(b) for b in n.bases)]
    if not classes:
        return [ValidationIssue(
            severity=Severity.ERROR, line=1, col=1, rule="strategy-class",
            message="No Strategy subclass found. Define one: `from backtesting import Strategy` "
                    "then `class MyStrategy(Strategy):` with init() and next().")]
    if len(classes) > 1:
        names = ", ".join(f"{c.name} (line {c.lineno})" for c in classes)
        return [_issue(classes[1], f"Found {len(classes)} Strategy subclasses: {names}. Keep "
                       "exactly one (move helpers into plain functions or merge them).",
                       "strategy-class")]
    cls = classes[0]
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    return [_issue(cls, f"Strategy '{cls.name}' has no {m}() method; add `def {m}(self):`.",
                   "strategy-methods") for m in ("init", "next") if m not in methods]


def _check_restricted(source: str) -> list[ValidationIssue]:
    from RestrictedPython import compile_restricted_exec

    try:
        result = compile_restricted_exec(source, filename="<strategy>")
    except (RecursionError, MemoryError):
        return [ValidationIssue(severity=Severity.ERROR, line=0, col=0, rule="complexity",
                                message="The source is too complex to compile; simplify it.")]
    issues = []
    for err in result.errors:
        line = 0
        if err.startswith("Line "):
            head = err.split(":", 1)[0]
            line = int(head.removeprefix("Line ") or 0) if head[5:].isdigit() else 0
        issues.append(ValidationIssue(severity=Severity.ERROR, line=line, col=1,
                                      message=err.split(": ", 1)[-1], rule="restricted"))
    return issues


def validate_python(source: str) -> list[ValidationIssue]:
    """Every problem found in a Python strategy, sorted by line. Empty list means valid."""
    tree, issues = _parse(source)
    if tree is None:
        return issues
    try:
        issues += _check_imports(tree) + _check_names(tree) + _check_strategy_class(tree)
        if not issues:
            issues += _check_restricted(source)
    except RecursionError:
        issues.append(ValidationIssue(severity=Severity.ERROR, line=0, col=0, rule="complexity",
                                      message="The source is too complex to analyse; simplify it."))
    return sorted(issues, key=lambda i: (i.line, i.col))


def errors_only(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """The issues that block running."""
    return [i for i in issues if i.severity is Severity.ERROR]


def python_source_for(source: str, language: Language) -> str:
    """The Python that will run: the source itself, or the translation of Pine source.

    Raises TranslationError for Pine that cannot be translated.
    """
    if language is Language.PINE:
        from core import pine

        return pine.translate(source).python_source
    return source


def validate_source(source: str, language: Language) -> list[ValidationIssue]:
    """Validate Python directly, or Pine through its translation (same checks afterwards)."""
    if language is Language.PINE:
        try:
            source = python_source_for(source, language)
        except TranslationError as exc:
            return [ValidationIssue(severity=Severity.ERROR, line=exc.line, col=exc.col,
                                    message=str(exc), rule="pine")]
    return validate_python(source)
