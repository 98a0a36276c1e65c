"""Static checks on user strategy source. Never executes it.

Owns the rules a strategy must pass before it is saved as valid or sent to the sandbox
(reference/security.md A1-A7): size and complexity caps, syntax, the import allow-list by every
route (import, from-import, attribute chains into submodules), forbidden names in any position,
forbidden attributes, strings hiding dunders, stores into imported names, decorators, exactly one
backtesting.py Strategy subclass with init() and next(), RestrictedPython's own compile errors,
and declared dependencies. The lists themselves live in sandbox.policy, which the sandbox
enforces again at run time. The AST rules live in core.strategies.rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from typing import Any

from core.strategies import rules
from core.errors import TranslationError
from core.model import Language, Severity, ValidationIssue
from sandbox import policy

MAX_DEPTH = 120  # AST nesting; RestrictedPython's recursive transformer dies near 230 levels
MAX_NODES = 150_000  # a 100-line strategy has about 1,500 nodes


def _whole(message: str, rule: str, line: int = 0) -> ValidationIssue:
    return ValidationIssue(severity=Severity.ERROR, line=line, col=0, message=message, rule=rule)


def _too_complex(line: int = 0) -> ValidationIssue:
    return _whole("The source is too complex to analyse (nesting too deep or too many "
                  "expressions). Split long or deeply nested expressions into smaller steps.",
                  "complexity", line)


def _precheck(source: str) -> list[ValidationIssue]:
    size = len(source.encode("utf-8", "replace"))
    if size > policy.MAX_SOURCE_BYTES:
        return [_whole(f"The source is too large ({size / 1024:,.0f} KB; the limit is "
                       f"{policy.MAX_SOURCE_BYTES // 1024} KB). Remove unused code or data.",
                       "size")]
    if not source.strip():
        return [_whole("The source is empty; paste, upload or pick an example strategy.", "empty")]
    if "\x00" in source:
        line = source[: source.index("\x00")].count("\n") + 1
        return [_whole("The source contains a NUL character; delete it (save the file as plain "
                       "UTF-8 text).", "binary", line)]
    bare = source.replace("\r\n", "\n").find("\r")
    if bare >= 0:
        line = source.replace("\r\n", "\n")[:bare].count("\n") + 1
        return [_whole("A bare carriage return (\\r) splits this line; save the file with "
                       "normal (LF or CRLF) line endings.", "newline", line)]
    return []


def _parse(source: str) -> tuple[ast.Module | None, list[ValidationIssue]]:
    """The syntax tree, or the syntax error with its position.

    The tree is also compiled (never run): some errors, such as `*1` ("can't use starred
    expression here"), come from the compiler, not the parser.
    """
    try:
        tree = ast.parse(source)
        compile(tree, "<strategy>", "exec", dont_inherit=True)
        return tree, []
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        near = f" near `{text[:60]}`" if text else ""
        msg = (f"Syntax error: {exc.msg}{near}. Fix the code at this position (check brackets, "
               "colons and indentation).")
        return None, [ValidationIssue(severity=Severity.ERROR, line=exc.lineno or 0,
                                      col=exc.offset or 0, message=msg, rule="syntax")]
    except (RecursionError, MemoryError, ValueError, OverflowError):
        return None, [_too_complex()]


def _check_shape(tree: ast.Module) -> list[ValidationIssue]:
    """Depth and size caps, measured iteratively so hostile nesting cannot blow the stack."""
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 0)]
    count = 0
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line) or line
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            return [_too_complex(line)]
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return []


_RESTRICTED_HINTS = {
    "AnnAssign": "Type annotations on assignments are not allowed; write `name = value`.",
    "Augmented assignment of attributes": "Write `self.count = self.count + 1` instead of "
                                          "`self.count += 1` (augmented assignment to attributes "
                                          "is not allowed).",
    "Augmented assignment of object items": "Write `values[i] = values[i] + 1` instead of "
                                            "`values[i] += 1`.",
}


def _restricted_message(text: str) -> str:
    for needle, hint in _RESTRICTED_HINTS.items():
        if needle in text:
            return hint
    return f"{text} Rewrite this line without it (sandbox compiler rule)."


def _check_restricted(source: str, flagged: set[int]) -> list[ValidationIssue]:
    from RestrictedPython import compile_restricted_exec

    from sandbox.names import StrategyTransformer

    try:
        result = compile_restricted_exec(source, filename="<strategy>", policy=StrategyTransformer)
    except (RecursionError, MemoryError):
        return [_too_complex()]
    except (SyntaxError, ValueError, TypeError) as exc:  # its compile of the rewritten tree
        return [ValidationIssue(severity=Severity.ERROR, line=getattr(exc, "lineno", 0) or 0,
                                col=0, rule="restricted",
                                message=_restricted_message(f"{exc.__class__.__name__}: {exc}."))]
    issues = []
    for err in result.errors:
        head, _, text = err.partition(": ")
        line = int(head[5:]) if head.startswith("Line ") and head[5:].isdigit() else 0
        if line in flagged:
            continue  # our own rule already explained this line better
        issues.append(ValidationIssue(
            severity=Severity.ERROR, line=line, col=0, rule="restricted",
            message=_restricted_message(text or err)))
    return issues


def _param_warnings(tree: ast.Module, source: str) -> list[ValidationIssue]:
    from core.strategies import params

    bad = params.definition_warnings(params.extract_python(source, as_declared=True))
    if not bad:
        return []
    lines = {n.targets[0].id: n.lineno for c in tree.body if isinstance(c, ast.ClassDef)
             for n in c.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
    return [ValidationIssue(severity=Severity.WARNING, line=lines.get(name, 0), col=0,
                            message=message, rule="parameter") for name, message in bad]


def validate_dependencies(dependencies: Iterable[str]) -> list[ValidationIssue]:
    """One error naming every declared dependency the sandbox cannot import (empty if none)."""
    bad = [d.strip() for d in dependencies if d.strip() and not policy.dependency_allowed(d)]
    if not bad:
        return []
    allowed = ", ".join(sorted({m.split(".")[0] for m in policy.ALLOWED_MODULES
                                if not m.startswith("core.")}))
    return [_whole(f"Declared dependencies not available in the sandbox: {', '.join(bad)}. "
                   f"Strategies can use only: {allowed}. Remove them from the Dependencies "
                   "field and from the code.", "dependencies")]


def validate_python(source: str, *, dependencies: Sequence[str] = ()) -> list[ValidationIssue]:
    """Every problem found in a Python strategy, sorted by line. Empty list means valid.

    Never raises for any input: hostile sources come back as a "too large"/"too complex" issue.
    """
    issues = _precheck(source)
    if issues:
        return issues + validate_dependencies(dependencies)
    tree, issues = _parse(source)
    if tree is None or (issues := _check_shape(tree)):
        return issues + validate_dependencies(dependencies)
    try:
        issues = rules.check_tree(tree)
        issues += _check_restricted(source, {i.line for i in issues if i.line})
        issues += _param_warnings(tree, source)
    except (RecursionError, MemoryError):
        issues = [_too_complex()]
    issues += validate_dependencies(dependencies)
    unique = {(i.line, i.col, i.rule, i.message): i for i in issues}
    return sorted(unique.values(), key=lambda i: (i.line, i.col))


def errors_only(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    """The issues that block running."""
    return [i for i in issues if i.severity is Severity.ERROR]


def python_source_for(source: str, language: Language) -> str:
    """The Python that will run: the source itself, or the translation of Pine source.

    Raises TranslationError for Pine that cannot be translated.
    """
    if language is Language.PINE:
        from core.pine.translation import api as pine

        return pine.translate(source).python_source
    return source


def validate_source(source: str, language: Language, *,
                    dependencies: Sequence[str] = ()) -> list[ValidationIssue]:
    """Validate Python directly, or Pine through its translation (same checks afterwards)."""
    if language is Language.PINE:
        try:
            source = python_source_for(source, language)
        except TranslationError as exc:
            return [ValidationIssue(severity=Severity.ERROR, line=exc.line, col=exc.col,
                                    message=exc.detail, rule="pine")]
    return validate_python(source, dependencies=dependencies)


def ace_annotations(issues: Iterable[ValidationIssue]) -> list[dict[str, Any]]:
    """Issues as Ace editor gutter annotations (0-based row/column; whole-source ones on row 0)."""
    kinds = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}
    return [{"row": max(i.line - 1, 0), "column": max(i.col - 1, 0), "type": kinds[i.severity],
             "text": i.message} for i in issues]


def issues_to_json(issues: Iterable[ValidationIssue]) -> list[dict[str, Any]]:
    """Plain dicts (stored with versions, printed by the CLI)."""
    return [{"severity": i.severity.value, "line": i.line, "col": i.col, "message": i.message,
             "rule": i.rule} for i in issues]


def issues_from_json(rows: Iterable[dict[str, Any]]) -> list[ValidationIssue]:
    """Inverse of issues_to_json."""
    return [ValidationIssue(severity=Severity(r["severity"]), line=int(r["line"]),
                            col=int(r["col"]), message=r["message"], rule=r.get("rule", ""))
            for r in rows]
