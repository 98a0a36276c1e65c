"""The import contracts of the layout (README "Layout"), checked from source with the ast module.

    python scripts/dev/import_contracts.py     # print every broken contract; exit 1 if any

Every import counts, including imports inside functions (they hide edges) and under
``if TYPE_CHECKING:`` — except that a type-only import (under ``if TYPE_CHECKING:``) makes no
cycle: it never runs, and it is how a part of a composed class names its owner's type. Contracts:

1. child side closed: the modules the sandbox child runs (sandbox.command.RUNTIME_FILES) import,
   of our code, only each other; in particular never core.store, core.market, core.runs or
   core.strategies.
2. no streamlit under core/ (nor sandbox/, reports/, api/, clicmd/).
3. app_pages/ and ui/ never import core.store (they call services).
4. no import cycles among our modules.

tests/unit/test_import_contracts.py runs it in the suite (``make test``) and proves each contract
fails when a forbidden import is added.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

OUR_PACKAGES = ("core", "sandbox", "ui", "app_pages", "api", "clicmd", "reports")
OUR_MODULES = ("app.py", "cli.py")
CHILD_FORBIDDEN = ("core.store", "core.market", "core.runs", "core.strategies")
NO_STREAMLIT = ("core", "sandbox", "reports", "api", "clicmd")
NO_STORE = ("app_pages", "ui")


def module_name(rel: Path) -> str:
    """core/engine/broker.py -> core.engine.broker; core/pine/__init__.py -> core.pine."""
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules(root: Path) -> dict[str, Path]:
    """Every module of ours under ``root`` by dotted name."""
    found = {module_name(Path(name)): root / name for name in OUR_MODULES
             if (root / name).is_file()}
    for package in OUR_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path.relative_to(root))] = path
    return found


def imported_names(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(dotted name, line) of everything a module imports, anywhere in it.

    ``from a.b import c`` yields ``a.b.c`` (a submodule or a name in a.b: resolved later).
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield (node.module if alias.name == "*" else f"{node.module}.{alias.name}",
                       node.lineno)


def type_only_lines(tree: ast.AST) -> set[int]:
    """Lines of the imports under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    lines = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        name = test.id if isinstance(test, ast.Name) else (
            test.attr if isinstance(test, ast.Attribute) else "")
        if name == "TYPE_CHECKING":
            lines.update(n.lineno for stmt in node.body for n in ast.walk(stmt)
                         if isinstance(n, (ast.Import, ast.ImportFrom)))
    return lines


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours an imported name lives in (the longest matching prefix)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


Edges = dict[str, dict[str, int]]


def import_graph(root: Path) -> tuple[Edges, dict[str, list[tuple[str, int]]], Edges]:
    """(edges among our modules: module -> {imported module: line}, every raw import name, the
    edges that exist at run time: without the type-only imports)."""
    modules = our_modules(root)
    edges: Edges = {}
    runtime: Edges = {}
    raw: dict[str, list[tuple[str, int]]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = list(imported_names(tree))
        type_only = type_only_lines(tree)
        raw[name] = names
        edges[name], runtime[name] = {}, {}
        for imported, line in names:
            target = resolve(imported, modules)
            if target is not None and target != name:
                edges[name].setdefault(target, line)
                if line not in type_only:
                    runtime[name].setdefault(target, line)
    return edges, raw, runtime


def within(name: str, prefixes: Iterable[str]) -> bool:
    """True if ``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def runtime_modules(files: Iterable[str], root: Path) -> set[str]:
    """Dotted names of every module in the runtime's files and folders."""
    out = set()
    for entry in files:
        path = root / entry
        paths = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        out.update(module_name(p.relative_to(root)) for p in paths)
    return out


def child_violations(edges: dict[str, dict[str, int]], child: set[str]) -> list[str]:
    """Contract 1: child-side modules import only child-side modules of ours."""
    out = []
    for name in sorted(child & set(edges)):
        for target, line in sorted(edges[name].items()):
            if within(target, CHILD_FORBIDDEN):
                out.append(f"child side: {name} (line {line}) imports {target}, which the "
                           "sandbox child must never see (store, market, runs, strategies)")
            elif target not in child:
                out.append(f"child side: {name} (line {line}) imports {target}, which is not "
                           "shipped to the child (sandbox.command.RUNTIME_FILES)")
    return out


def streamlit_violations(raw: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Contract 2: no streamlit outside app.py, app_pages/ and ui/."""
    return [f"no streamlit: {name} (line {line}) imports {imported}"
            for name, names in sorted(raw.items()) if within(name, NO_STREAMLIT)
            for imported, line in names if within(imported, ("streamlit",))]


def store_violations(edges: dict[str, dict[str, int]]) -> list[str]:
    """Contract 3: pages and ui call services, never the store."""
    return [f"no store in pages/ui: {name} (line {line}) imports {target}"
            for name, targets in sorted(edges.items()) if within(name, NO_STORE)
            for target, line in sorted(targets.items()) if within(target, ("core.store",))]


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def cycle_violations(edges: dict[str, dict[str, int]]) -> list[str]:
    """Contract 4: no import cycles among our modules."""
    out = []
    for component in cycles(edges):
        links = [f"{a} -> {b} (line {edges[a][b]})" for a in component
                 for b in sorted(edges[a]) if b in component]
        out.append("import cycle: " + "; ".join(links))
    return out


def check(root: Path, runtime_files: Iterable[str]) -> list[str]:
    """Every broken contract under ``root`` as one line each (empty when all hold)."""
    edges, raw, runtime = import_graph(root)
    child = runtime_modules(runtime_files, root)
    return (child_violations(edges, child) + streamlit_violations(raw) + store_violations(edges)
            + cycle_violations(runtime))


def main() -> int:
    """Check this repository; print the violations. Returns the exit code."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from sandbox.command import RUNTIME_FILES

    problems = check(root, RUNTIME_FILES)
    print("\n".join(problems) if problems else "import contracts hold")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
