"""Move core/ to packages by concern (issue #13) and rewrite every reference to the old names.

    python scripts/dev/relayout.py            # move what is still in its old place, rewrite
    python scripts/dev/relayout.py --check    # change nothing; exit 1 if something would change

Idempotent: on a tree that already moved it changes nothing; on a tree where someone later
added a file that imports or names an old module, it fixes that file. Run it from anywhere in
the repository after merging the `Relayout:` commit into a branch, then run the tests.

What it does, in order:
1. ``git mv`` every old file that still exists (and whose new place is free) to its new place,
   creating the new packages' ``__init__.py`` (with a docstring saying what each owns).
2. Rewrites Python imports with the ast module: ``from core import runs`` becomes
   ``from core.runs import service as runs``, ``from core.pine import nodes as n`` becomes
   ``from core.pine.syntax import nodes as n``, so the names the code uses do not change.
3. Rewrites dotted names and paths as text in every tracked text file (code, strings such as
   monkeypatch targets and ``python -m`` lines, Makefile, Dockerfile, pyproject.toml, .ci,
   README and docs): ``core.metrics`` -> ``core.analytics.metrics``, ``core/metrics.py`` ->
   ``core/analytics/metrics.py``. Longest names match first and a name never matches inside a
   longer one (``core.run_notes`` is not ``core.runs``).

Five old modules became packages of the same name (core.runs, core.strategies, core.analytics,
core.engine, and core.pine whose ``__init__`` held the translate API). For those, ``X.attr`` is
rewritten only when ``attr`` was a top-level name of the old module and is not a submodule of
the new package, and a bare ``X`` in prose is left alone (it now names the package). There are
no compatibility shims: an old name fails to import, so a missed reference is loud.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

# Old file -> new file. The dotted names follow from the paths.
MOVES: tuple[tuple[str, str], ...] = (
    # analytics/: metric definitions, trade statistics, one stored run gathered for reports
    ("core/analytics.py", "core/analytics/run_bundle.py"),
    ("core/metrics.py", "core/analytics/metrics.py"),
    ("core/trade_stats.py", "core/analytics/trade_stats.py"),
    ("core/backtesting_stats.py", "core/analytics/backtesting_stats.py"),
    # engine/: CHILD SIDE, pure (strategy class, OHLCV, settings) -> equity, trades, events
    ("core/engine.py", "core/engine/backtest.py"),
    ("core/broker.py", "core/engine/broker.py"),
    ("core/lots.py", "core/engine/lots.py"),
    ("core/risk.py", "core/engine/risk.py"),
    ("core/studies/batch.py", "core/engine/batch.py"),
    # market/: market data in the store, importers, download, quality, resample, sample, export
    ("core/market_data.py", "core/market/catalogue.py"),
    ("core/importers.py", "core/market/importers.py"),
    ("core/import_layouts.py", "core/market/layouts.py"),
    ("core/import_parse.py", "core/market/parse.py"),
    ("core/decompress.py", "core/market/decompress.py"),
    ("core/download.py", "core/market/download.py"),
    ("core/quality.py", "core/market/quality.py"),
    ("core/resample.py", "core/market/resample.py"),
    ("core/sample_data.py", "core/market/sample.py"),
    ("core/data_export.py", "core/market/export.py"),
    # runs/: the orchestrator, jobs, progress, config files, costs, result checks, pine glue
    ("core/runs.py", "core/runs/service.py"),
    ("core/jobs.py", "core/runs/jobs.py"),
    ("core/progress.py", "core/runs/progress.py"),
    ("core/config_file.py", "core/runs/config_file.py"),
    ("core/costs.py", "core/runs/costs.py"),
    ("core/semantics.py", "core/runs/semantics.py"),
    ("core/result_check.py", "core/runs/result_check.py"),
    ("core/child_files.py", "core/runs/child_files.py"),
    ("core/broker_check.py", "core/runs/broker_check.py"),
    ("core/broker_store.py", "core/runs/broker_store.py"),
    ("core/pine_run.py", "core/runs/pine_run.py"),
    ("core/run_notes.py", "core/runs/notes.py"),
    ("core/run_admin.py", "core/runs/admin.py"),
    ("core/instance.py", "core/runs/instance.py"),
    ("core/housekeeping.py", "core/runs/housekeeping.py"),
    # strategies/: CRUD + versions, library, files, examples, params, validation and its rules
    ("core/strategies.py", "core/strategies/crud.py"),
    ("core/strategy_library.py", "core/strategies/library.py"),
    ("core/strategy_class.py", "core/strategies/strategy_class.py"),
    ("core/files.py", "core/strategies/files.py"),
    ("core/examples.py", "core/strategies/examples.py"),
    ("core/params.py", "core/strategies/params.py"),
    ("core/validation.py", "core/strategies/validation.py"),
    ("core/validation_rules.py", "core/strategies/rules.py"),
    # sandbox/: the self-test joins the rest of the wall
    ("core/sandbox_check.py", "sandbox/selftest.py"),
    # pine/: syntax/ (host), translation/ (host), emulation/ + runtime.py (CHILD SIDE).
    # core/pine/runtime.py does not move: it is the module generated strategies import (the
    # sandbox allow-list names it) and must stay a module that exposes no module objects.
    ("core/pine/__init__.py", "core/pine/translation/api.py"),
    ("core/pine/lexer.py", "core/pine/syntax/lexer.py"),
    ("core/pine/parser.py", "core/pine/syntax/parser.py"),
    ("core/pine/exprparser.py", "core/pine/syntax/exprparser.py"),
    ("core/pine/nodes.py", "core/pine/syntax/nodes.py"),
    ("core/pine/translator.py", "core/pine/translation/translator.py"),
    ("core/pine/codegen.py", "core/pine/translation/codegen.py"),
    ("core/pine/calls.py", "core/pine/translation/calls.py"),
    ("core/pine/inputs.py", "core/pine/translation/inputs.py"),
    ("core/pine/scope.py", "core/pine/translation/scope.py"),
    ("core/pine/module.py", "core/pine/translation/module.py"),
    ("core/pine/catalog.py", "core/pine/translation/catalog.py"),
    ("core/pine/broker.py", "core/pine/emulation/broker.py"),
    ("core/pine/emulator.py", "core/pine/emulation/emulator.py"),
    ("core/pine/strategy_ns.py", "core/pine/emulation/strategy_ns.py"),
    ("core/pine/state.py", "core/pine/emulation/state.py"),
    ("core/pine/lib.py", "core/pine/emulation/lib.py"),
    ("core/pine/ta_avg.py", "core/pine/emulation/ta_avg.py"),
    ("core/pine/ta_extra.py", "core/pine/emulation/ta_extra.py"),
    ("core/pine/ta_funcs.py", "core/pine/emulation/ta_funcs.py"),
    ("core/pine/ta_lib.py", "core/pine/emulation/ta_lib.py"),
    ("core/pine/ta_range.py", "core/pine/emulation/ta_range.py"),
)

# New packages and what each owns (the docstring of an __init__.py the script creates).
PACKAGES: dict[str, str] = {
    "core/analytics": "Analytics of stored runs: metric definitions (one each), TradingView's "
                      "trade statistics, backtesting.py parity, and one run gathered for reports.",
    "core/engine": "CHILD SIDE, pure: (strategy class, OHLCV, settings) -> equity, trades, "
                   "events; the crypto broker, lots, risk rules, and a study's trial batches.\n\n"
                   "Runs inside the sandbox. Imports nothing of the store, market, runs or "
                   "strategies packages (tests/unit/test_import_contracts.py checks it).",
    "core/market": "Market data: the stored bars, symbols and funding (catalogue), importers "
                   "and their file layouts, ccxt download, quality, resampling, the synthetic "
                   "sample, export.",
    "core/runs": "Runs: the one orchestrator (request -> validate -> sandbox -> check -> "
                 "metrics -> store), the jobs queue, progress files, config files, costs, "
                 "checks on what the child returned, run administration and the Pine glue.",
    "core/strategies": "Strategies: CRUD and versions, the library table, uploaded files, the "
                       "examples gallery, parameters, and static validation with its rules.",
    "core/pine": "Pine Script strategies: syntax/ (lexer, parser: host), translation/ (to "
                 "Python: host; core.pine.translation.api.translate is the entry), runtime.py "
                 "(what generated strategies import) and emulation/ (TradingView's broker and "
                 "ta.*): CHILD SIDE.",
    "core/pine/emulation": "CHILD SIDE: TradingView's broker emulator, the strategy.* namespace "
                           "and the ta.* library, behind core.pine.runtime.",
    "core/pine/syntax": "HOST SIDE: Pine's lexer, expression and statement parsers, syntax tree.",
    "core/pine/translation": "HOST SIDE: Pine syntax tree -> a readable backtesting.py strategy "
                             "(api.translate is the entry point).",
}

# Old modules that are now packages of the same name, with the top-level names each old module
# had (frozen here because the old files are gone after the move) and the module they live in.
SAME_NAME: dict[str, tuple[str, frozenset[str]]] = {
    "core.runs": ("core.runs.service", frozenset([
        'BacktestConfig', 'Callable', 'ConfigError', 'DISK_FULL', 'DataError', 'Language',
        'Limits', 'MIN_BARS', 'NotFoundError', 'Path', 'PineOptError', 'Progress',
        'RECORD_WAIT_S', 'RUN_TABLES', 'RunRecord', 'RunStatus', 'SandboxError', 'Settings',
        'TranslationError', 'UTC', '_RUN_SELECT', '_checked', '_explain_limit', '_failure',
        '_load_data', '_log', '_memory_mb', '_now', '_run_record', '_sandbox', '_set_status',
        '_stop_if_cancelled', '_store_result', 'broker_store', 'check_request', 'check_result',
        'costs', 'dataclasses', 'datetime', 'delete_run', 'errno', 'execute', 'fail_unexpected',
        'find_completed', 'get_run', 'instance', 'json', 'list_runs', 'logging', 'market_data',
        'metrics', 'os', 'pd', 'pine_run', 'progress_files', 're', 'record_final',
        'request_run', 'require_completed', 'run_benchmark', 'run_cost_split', 'run_equity',
        'run_hash', 'run_limits', 'run_margin_series', 'run_metrics', 'run_plots',
        'run_risk_events', 'run_sync', 'run_trades', 'set_progress', 'store', 'strategies',
        'threading', 'time', 'traceback', 'untrusted', 'validation'])),
    "core.strategies": ("core.strategies.crud", frozenset([
        'Any', 'EXPORT_SUFFIX', 'Language', 'NotFoundError', 'Path', 'PineOptError', 'SELECT',
        'StrategyMeta', 'StrategyRecord', 'StrategyVersion', 'ValidationIssue',
        '_VERSION_SELECT', '_meta_values', '_params_json', '_record', '_upsert', '_validate',
        '_version', 'asdict', 'clone', 'dataclass', 'datetime', 'delete', 'deleted_ids', 'diff',
        'difflib', 'export', 'find_by_name', 'get', 'get_version', 'history', 'json',
        'list_strategies', 'params_mod', 'restore', 'run_strategy_label', 'save',
        'save_by_name', 'sha256_text', 'store', 'strategy_label'])),
    "core.analytics": ("core.analytics.run_bundle", frozenset([
        'NotFoundError', 'Path', 'RunBundle', 'RunRecord', 'Settings', '_stored_metrics',
        '_strategy_deleted', 'daily_returns', 'dataclass', 'enrich_trades', 'excursions', 'load',
        'market_data', 'metrics', 'metrics_by_kind', 'np', 'pd', 'risk_free_rate', 'run_ohlcv',
        'runs', 'store', 'strategies', 'trade_stats'])),
    "core.engine": ("core.engine.backtest", frozenset([
        'Any', 'Callable', 'Coins', 'CryptoBroker', 'EVENT_COLUMNS', 'EXIT_REASONS',
        'EngineOutput', 'EngineSettings', 'PROGRESS_EVERY_BARS', 'REJECT_REASONS',
        'SPLIT_COLUMNS', 'TRADE_COLUMNS', '__all__', '_bar_arrays', '_checked_size',
        '_events_frame', '_open_frame', '_plots', '_trades_frame', 'dataclass', 'field',
        'funding_by_bar', 'np', 'partial', 'pd', 'run', 'warnings', 'with_progress',
        'with_sizing'])),
    "core.pine": ("core.pine.translation.api", frozenset([
        'Any', 'Mapping', 'MappingProxyType', 'ParameterDef', 'PineTranslation',
        'TranslationError', '__all__', 'dataclass', 'field', 'functools', 'translate'])),
}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".sh", ".json",
                 ".pine", ".html", ".in", ".rst", ".env", ""}
SELF = Path(__file__).resolve()
SKIP = frozenset({"scripts/dev/relayout.py", "tests/unit/test_relayout.py"})  # old names on purpose


def dotted(path: str) -> str:
    """core/pine/lexer.py -> core.pine.lexer; core/pine/__init__.py -> core.pine."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_map() -> dict[str, str]:
    """Old dotted module -> new dotted module (identities left out)."""
    return {dotted(old): dotted(new) for old, new in MOVES if dotted(old) != dotted(new)}


def new_submodules(package: str) -> set[str]:
    """Direct submodule names of a new package, from the table (core.runs -> {'service', ...})."""
    subs = set()
    for _, new in MOVES:
        name = dotted(new)
        if name.startswith(package + "."):
            subs.add(name[len(package) + 1:].split(".")[0])
    return subs


def old_attrs(package: str) -> set[str]:
    """Names of the old same-name module that keep meaning 'attribute of the old module'."""
    return set(SAME_NAME[package][1]) - new_submodules(package)


# ---------------------------------------------------------------- step 1: moves

def git(root: Path, *args: str) -> str:
    """Run git in ``root``; raise on failure."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


def package_dirs(path: str) -> list[str]:
    """Every package folder a new file needs, outermost first (core/pine/syntax -> 2 entries)."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(2, len(parts) + 1)]


def write_init(root: Path, folder: str, *, dry: bool, log: list[str]) -> None:
    """Create folder/__init__.py with its docstring when it does not exist (and git add it)."""
    init = root / folder / "__init__.py"
    if init.exists():
        return
    log.append(f"create {folder}/__init__.py")
    if dry:
        return
    init.parent.mkdir(parents=True, exist_ok=True)
    text = PACKAGES.get(folder, "")
    init.write_text(f'"""{text}\n"""\n' if text else "")
    git(root, "add", "--", str(init.relative_to(root)))


def move_files(root: Path, *, dry: bool) -> list[str]:
    """git mv each old file that still exists to its free new place; create packages."""
    log: list[str] = []
    for old, new in MOVES:
        src, dst = root / old, root / new
        if src.exists() and not dst.exists():
            log.append(f"git mv {old} {new}")
            if not dry:
                dst.parent.mkdir(parents=True, exist_ok=True)
                git(root, "mv", "--", old, new)
        elif src.exists() and not old.endswith("__init__.py"):
            log.append(f"WARNING: both {old} and {new} exist; merge {old} by hand")
    for folder in sorted({d for _, new in MOVES for d in package_dirs(new)} | set(PACKAGES)):
        if (root / folder).is_dir() or dry:
            write_init(root, folder, dry=dry, log=log)
    return log


# ---------------------------------------------------------------- step 2: imports (ast)

def split_new(name: str) -> tuple[str, str]:
    """core.runs.service -> ('core.runs', 'service')."""
    parent, _, last = name.rpartition(".")
    return parent, last


def alias_text(name: str, asname: str | None) -> str:
    return name if asname in (None, name) else f"{name} as {asname}"


def rewrite_from(node: ast.ImportFrom, moved: dict[str, str]) -> list[str] | None:
    """New statements for one ``from X import ...`` or None when it needs no change."""
    module = node.module or ""
    out: list[tuple[str, str]] = []  # (module, alias text), in order
    changed = False
    for alias in node.names:
        full = f"{module}.{alias.name}"
        if full in moved and full not in SAME_NAME:  # from core import metrics
            parent, last = split_new(moved[full])
            out.append((parent, alias_text(last, alias.asname or alias.name)))
            changed = True
        elif full in SAME_NAME:  # from core import runs -> the old module's new home
            parent, last = split_new(SAME_NAME[full][0])
            out.append((parent, alias_text(last, alias.asname or alias.name)))
            changed = True
        elif module in SAME_NAME and alias.name in old_attrs(module):  # from core.runs import x
            out.append((SAME_NAME[module][0], alias_text(alias.name, alias.asname)))
            changed = True
        else:
            out.append((module, alias_text(alias.name, alias.asname)))
    if not changed:
        return None
    grouped: dict[str, list[str]] = {}
    for mod, text in out:
        grouped.setdefault(mod, []).append(text)
    return [f"from {mod} import {', '.join(names)}" for mod, names in grouped.items()]


def rewrite_import(node: ast.Import) -> list[str] | None:
    """``import core.runs [as r]`` -> ``import core.runs.service [as r]``."""
    if not any(a.name in SAME_NAME for a in node.names):
        return None
    return [f"import {alias_text(SAME_NAME.get(a.name, (a.name,))[0], a.asname)}"
            for a in node.names]


def rewrite_imports(text: str, moved: dict[str, str]) -> str:
    """Rewrite import statements that name a moved module through its parent package."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            new = rewrite_from(node, moved)
        elif isinstance(node, ast.Import):
            new = rewrite_import(node)
        else:
            continue
        if new is not None:
            edits.append((node, new))
    for node, new in sorted(edits, key=lambda e: -e[0].lineno):
        first, last = node.lineno - 1, node.end_lineno - 1
        head, tail = lines[first][:node.col_offset], lines[last][node.end_col_offset:]
        if head.strip() or tail.strip().startswith(";"):
            continue  # shares its line with other code: left for the text pass and a human
        indent = head
        comment = "  " + tail.strip() if tail.strip() else ""
        newline = "\n" if lines[last].endswith("\n") else ""
        block = [indent + new[0] + comment + newline] + [indent + s + "\n" for s in new[1:]]
        if not newline and len(block) > 1:
            block[-1] = block[-1].rstrip("\n")
        lines[first:last + 1] = block
    return "".join(lines)


# ---------------------------------------------------------------- step 3: names and paths (text)

def text_patterns() -> list[tuple[re.Pattern[str], object]]:
    """(pattern, replacement) pairs for dotted names and paths, longest names first."""
    moved = {o: n for o, n in module_map().items() if o not in SAME_NAME}
    names = sorted(moved, key=len, reverse=True)
    dotted_re = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
    paths = {old: new for old, new in MOVES if not old.endswith("__init__.py")}
    path_re = re.compile(r"(?<![\w.])(" + "|".join(
        re.escape(p) for p in sorted(paths, key=len, reverse=True)) + r")(?![\w/])")
    pairs: list[tuple[re.Pattern[str], object]] = [
        (path_re, lambda m: paths[m.group(1)]),
        (dotted_re, lambda m: moved[m.group(1)]),
    ]
    for package, (home, _) in SAME_NAME.items():
        attrs = sorted(old_attrs(package), key=len, reverse=True)
        attr_re = re.compile(r"(?<![\w.])" + re.escape(package) + r"\.(" + "|".join(
            re.escape(a) for a in attrs) + r")(?!\w)")
        pairs.append((attr_re, lambda m, home=home: f"{home}.{m.group(1)}"))
    return pairs


FROM_IN_TEXT = re.compile(r"(?:(?<![\w.])|(?<=\\n))from ((?:core|sandbox)(?:\.\w+)*) import "
                          r"(\w+(?: as \w+)?(?:, \w+(?: as \w+)?)*)(?![\w,])")


def rewrite_from_in_text(match: re.Match[str]) -> str:
    """A one-line ``from X import y`` inside a string, a comment or prose (``python -c``
    scripts, README examples); several new statements are joined with "; " on that line."""
    try:
        node = ast.parse(match.group(0)).body[0]
    except SyntaxError:
        return match.group(0)
    new = rewrite_from(node, module_map()) if isinstance(node, ast.ImportFrom) else None
    return "; ".join(new) if new else match.group(0)


def rewrite_text(text: str, patterns: list[tuple[re.Pattern[str], object]]) -> str:
    """Apply every pattern once (each replacement is a new name no pattern matches)."""
    text = FROM_IN_TEXT.sub(rewrite_from_in_text, text)
    for pattern, repl in patterns:
        text = pattern.sub(repl, text)
    return text


def tree_files(root: Path) -> list[Path]:
    """Tracked and untracked-but-not-ignored text files, minus SKIP (this script, its test)."""
    listed = git(root, "ls-files", "-co", "--exclude-standard", "-z").split("\0")
    out = []
    for rel in filter(None, listed):
        path = root / rel
        if rel in SKIP or path.resolve() == SELF or not path.is_file() or path.is_symlink():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in ("Makefile", "Dockerfile"):
            out.append(path)
    return out


def rewrite_tree(root: Path, *, dry: bool) -> list[str]:
    """Rewrite imports and names in every text file; return the changed paths."""
    moved, patterns, changed = module_map(), text_patterns(), []
    for path in tree_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        new = rewrite_imports(text, moved) if path.suffix == ".py" else text
        new = rewrite_text(new, patterns)
        if new != text:
            changed.append(str(path.relative_to(root)))
            if not dry:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Move, then rewrite. Returns 1 with --check when something would change."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    parser.add_argument("--root", type=Path, default=None, help="repository root (default: git's)")
    args = parser.parse_args(argv)
    root = (args.root or Path(git(Path.cwd(), "rev-parse", "--show-toplevel").strip())).resolve()
    log = move_files(root, dry=args.check)
    log += [f"rewrite {p}" for p in rewrite_tree(root, dry=args.check)]
    print("\n".join(log) if log else "relayout: nothing to do")
    return 1 if args.check and log else 0


if __name__ == "__main__":
    sys.exit(main())
