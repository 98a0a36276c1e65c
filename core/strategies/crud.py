"""Strategy CRUD and versions (source + sha256). Every save that changes the source is a version.

Owns the strategies and strategy_versions tables: create/save, history, unified diff between
any two versions, restore an old version as the newest, clone (its own history), soft delete
(runs stay readable and say their strategy was deleted) and export. Validation results and
extracted parameters are stored with each version so the library shows a status without
re-validating. The library table (search, filters, last run's return) is core.strategies.library.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.strategies import params as params_mod
from core import store
from core.errors import NotFoundError, PineOptError
from core.model import Language, StrategyMeta, ValidationIssue, sha256_text

EXPORT_SUFFIX = {Language.PYTHON: ".py", Language.PINE: ".pine"}


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyVersion:
    """One saved source text of a strategy, with its validation outcome."""

    strategy_id: int
    version: int
    source: str
    sha256: str
    message: str
    valid: bool
    created_at: datetime
    issues: tuple[ValidationIssue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyRecord:
    """A strategy with its latest version number."""

    id: int
    meta: StrategyMeta
    language: Language
    latest_version: int
    valid: bool
    updated_at: datetime
    deleted: bool


def _validate(source: str, language: Language, meta: StrategyMeta) -> list[ValidationIssue]:
    from core.strategies import validation

    return validation.validate_source(source, language, dependencies=meta.dependencies)


def _meta_values(meta: StrategyMeta) -> list[object]:
    return [meta.name.strip(), meta.description, meta.author, meta.version,
            json.dumps(list(meta.tags)), json.dumps(list(meta.timeframes)),
            json.dumps(list(meta.assets)), json.dumps(list(meta.dependencies))]


def _params_json(source: str, language: Language) -> str:
    return json.dumps([asdict(p) for p in params_mod.extract(source, language)], default=str)


def _upsert(con: Any, meta: StrategyMeta, language: Language,
            strategy_id: int | None) -> tuple[int, tuple | None]:
    """Insert or update the strategies row; returns (id, (latest version, sha) or None)."""
    if strategy_id is None:
        row = con.execute(
            "INSERT INTO strategies (name, description, author, version_label, tags, "
            "timeframes, assets, dependencies, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id", [*_meta_values(meta), language.value]).fetchone()
        return int(row[0]), None
    if not con.execute("SELECT 1 FROM strategies WHERE id = ? AND deleted_at IS NULL",
                       [strategy_id]).fetchone():
        raise NotFoundError(f"Strategy {strategy_id} does not exist (or was deleted).")
    con.execute(
        "UPDATE strategies SET name = ?, description = ?, author = ?, version_label = ?, "
        "tags = ?, timeframes = ?, assets = ?, dependencies = ?, "
        "updated_at = now() AT TIME ZONE 'UTC' WHERE id = ?", [*_meta_values(meta), strategy_id])
    latest = con.execute("SELECT version, sha256 FROM strategy_versions WHERE strategy_id = ? "
                         "ORDER BY version DESC LIMIT 1", [strategy_id]).fetchone()
    return strategy_id, latest


def save(db: Path, *, meta: StrategyMeta, source: str, language: Language = Language.PYTHON,
         strategy_id: int | None = None, message: str = "") -> tuple[int, int]:
    """Create a strategy, or add a version when the source changed. Returns (id, version).

    Metadata is always updated; an unchanged source creates no version. An invalid source is
    still saved (as invalid) so nothing typed is lost. Raises PineOptError for an empty name and
    NotFoundError for an unknown or deleted ``strategy_id``.
    """
    if not meta.name.strip():
        raise PineOptError("The strategy needs a name; type one in the Name field.")
    from core.strategies import validation

    issues = _validate(source, language, meta)
    valid = not validation.errors_only(issues)
    sha = sha256_text(source)
    with store.transaction(db) as con:
        strategy_id, latest = _upsert(con, meta, language, strategy_id)
        if latest is not None and latest[1] == sha:
            return strategy_id, int(latest[0])
        version = 1 if latest is None else int(latest[0]) + 1
        con.execute(
            "INSERT INTO strategy_versions (strategy_id, version, source, sha256, message, valid, "
            "issues, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [strategy_id, version, source, sha,
             message.strip() or ("created" if version == 1 else "edited"), valid,
             json.dumps(validation.issues_to_json(issues)), _params_json(source, language)])
    return strategy_id, version


def _record(row: tuple) -> StrategyRecord:
    meta = StrategyMeta(name=row[1], description=row[2], author=row[4], version=row[5],
                        tags=tuple(json.loads(row[6])), timeframes=tuple(json.loads(row[7])),
                        assets=tuple(json.loads(row[8])), dependencies=tuple(json.loads(row[9])))
    return StrategyRecord(id=int(row[0]), meta=meta, language=Language(row[3]),
                          latest_version=int(row[10] or 0), valid=bool(row[11]),
                          updated_at=row[12], deleted=row[13] is not None)


SELECT = (
    "SELECT s.id, s.name, s.description, s.language, s.author, s.version_label, s.tags, "
    "s.timeframes, s.assets, s.dependencies, v.version, v.valid, s.updated_at, s.deleted_at "
    "FROM strategies s LEFT JOIN (SELECT strategy_id, max(version) AS version, "
    "arg_max(valid, version) AS valid FROM strategy_versions GROUP BY strategy_id) v "
    "ON v.strategy_id = s.id"
)


def list_strategies(db: Path, *, include_deleted: bool = False) -> list[StrategyRecord]:
    """All strategies, most recently updated first."""
    where = "" if include_deleted else " WHERE s.deleted_at IS NULL"
    with store.connect(db) as con:
        rows = con.execute(SELECT + where + " ORDER BY s.updated_at DESC, s.id DESC").fetchall()
    return [_record(r) for r in rows]


def get(db: Path, strategy_id: int) -> StrategyRecord:
    """One strategy (deleted ones too). Raises NotFoundError."""
    with store.connect(db) as con:
        row = con.execute(SELECT + " WHERE s.id = ?", [strategy_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Strategy {strategy_id} does not exist; `pineopt strategies list` "
                            "shows the ids.")
    return _record(row)


_VERSION_SELECT = ("SELECT strategy_id, version, source, sha256, message, valid, created_at, "
                   "issues FROM strategy_versions WHERE strategy_id = ?")


def _version(row: tuple) -> StrategyVersion:
    from core.strategies import validation

    return StrategyVersion(strategy_id=int(row[0]), version=int(row[1]), source=row[2],
                           sha256=row[3], message=row[4], valid=bool(row[5]), created_at=row[6],
                           issues=tuple(validation.issues_from_json(json.loads(row[7] or "[]"))))


def get_version(db: Path, strategy_id: int, version: int | None = None) -> StrategyVersion:
    """A version's source (the latest when ``version`` is None). Raises NotFoundError."""
    sql, args = _VERSION_SELECT, [strategy_id]
    if version is not None:
        sql += " AND version = ?"
        args.append(version)
    with store.connect(db) as con:
        row = con.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
    if row is None:
        which = f"version {version}" if version is not None else "saved version"
        raise NotFoundError(f"Strategy {strategy_id} has no {which}; its history lists the "
                            "versions.")
    return _version(row)


def run_source(db: Path, strategy_id: int,
               version: int | None = None) -> tuple[str, Language, StrategyVersion]:
    """What a run needs of a strategy, in one query: its name, its language and a version (the
    latest when ``version`` is None). Raises NotFoundError as get() and get_version() do."""
    with store.connect(db) as con:
        row = con.execute(
            "SELECT s.name, s.language, v.strategy_id, v.version, v.source, v.sha256, v.message, "
            "v.valid, v.created_at, v.issues FROM strategies s LEFT JOIN strategy_versions v "
            "ON v.strategy_id = s.id AND (CAST(? AS INTEGER) IS NULL OR v.version = ?) "
            "WHERE s.id = ? ORDER BY v.version DESC NULLS LAST LIMIT 1",
            [version, version, strategy_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Strategy {strategy_id} does not exist; `pineopt strategies list` "
                            "shows the ids.")
    if row[2] is None:
        which = f"version {version}" if version is not None else "saved version"
        raise NotFoundError(f"Strategy {strategy_id} has no {which}; its history lists the "
                            "versions.")
    return row[0], Language(row[1]), _version(row[2:])


def history(db: Path, strategy_id: int) -> list[StrategyVersion]:
    """Every version of a strategy, newest first. Raises NotFoundError for an unknown id."""
    get(db, strategy_id)
    with store.connect(db) as con:
        rows = con.execute(_VERSION_SELECT + " ORDER BY version DESC", [strategy_id]).fetchall()
    return [_version(r) for r in rows]


def diff(db: Path, strategy_id: int, v1: int, v2: int, *, context_lines: int = 3) -> str:
    """Unified diff from version ``v1`` to ``v2`` ('' when the sources are equal)."""
    old, new = get_version(db, strategy_id, v1), get_version(db, strategy_id, v2)
    lines = difflib.unified_diff(
        old.source.splitlines(keepends=True), new.source.splitlines(keepends=True),
        fromfile=f"v{v1}", tofile=f"v{v2}", n=context_lines)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def restore(db: Path, strategy_id: int, version: int) -> int:
    """Save an old version's source as the newest version; returns the new version number.

    Restoring the source the latest version already has creates nothing (returns the latest).
    """
    record = get(db, strategy_id)
    old = get_version(db, strategy_id, version)
    _sid, new = save(db, meta=record.meta, source=old.source, language=record.language,
                     strategy_id=strategy_id, message=f"restored from v{version}")
    return new


def clone(db: Path, strategy_id: int, *, name: str = "") -> int:
    """A new strategy with the latest source and metadata ("copy of …", its own history)."""
    record = get(db, strategy_id)
    latest = get_version(db, strategy_id)
    meta = StrategyMeta(**{**asdict(record.meta), "name": name.strip()
                           or f"copy of {record.meta.name}"})
    new_id, _v = save(db, meta=meta, source=latest.source, language=record.language,
                      message=f"cloned from {record.meta.name} v{latest.version}")
    return new_id


def delete(db: Path, strategy_id: int) -> None:
    """Soft-delete: the strategy leaves the library; its versions and runs stay readable."""
    get(db, strategy_id)
    with store.connect(db) as con:
        con.execute("UPDATE strategies SET deleted_at = now() AT TIME ZONE 'UTC' WHERE id = ? "
                    "AND deleted_at IS NULL", [strategy_id])


def deleted_ids(db: Path) -> set[int]:
    """Ids of soft-deleted strategies (to label their runs in bulk)."""
    with store.connect(db) as con:
        rows = con.execute("SELECT id FROM strategies WHERE deleted_at IS NOT NULL").fetchall()
    return {int(r[0]) for r in rows}


def strategy_label(name: str, *, deleted: bool) -> str:
    """How a run names its strategy: the stored name, plus "(deleted)" once it was deleted."""
    return f"{name} (deleted)" if deleted else name


def run_strategy_label(db: Path, strategy_id: int | None, name: str) -> str:
    """strategy_label for one run's strategy id (unknown or missing ids count as deleted)."""
    return strategy_label(name, deleted=strategy_id is None or strategy_id in deleted_ids(db))


def export(db: Path, strategy_id: int, version: int | None = None) -> tuple[str, bytes]:
    """(file name, UTF-8 bytes) of a version's source. The name comes from ids only (E7)."""
    record = get(db, strategy_id)
    ver = get_version(db, strategy_id, version)
    return (f"strategy-{strategy_id}-v{ver.version}{EXPORT_SUFFIX[record.language]}",
            ver.source.encode("utf-8"))


def find_by_name(db: Path, name: str) -> StrategyRecord | None:
    """The live strategy with exactly this name, if any (newest if several)."""
    for record in list_strategies(db):
        if record.meta.name == name:
            return record
    return None


def save_by_name(db: Path, *, meta: StrategyMeta, source: str,
                 language: Language = Language.PYTHON) -> tuple[int, int]:
    """Save as a new version of the strategy with this name, or create it (the CLI's path).

    The name is looked up and the strategy saved in one turn of the store's writer: several
    commands saving the same new file at once (CLI backtests forwarded to the app) make one
    strategy, not one each."""
    with store.writer(db):
        existing = find_by_name(db, meta.name)
        if existing is not None and existing.language is language:
            return save(db, meta=existing.meta, source=source, language=language,
                        strategy_id=existing.id, message="from file")
        return save(db, meta=meta, source=source, language=language, message="from file")
