"""Strategy CRUD and versions (source + sha256). Every save that changes the source is a version.

Owns the strategies and strategy_versions tables. Validation results are stored with each
version so the library can show a status without re-validating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core import store
from core.errors import NotFoundError, PineOptError
from core.model import Language, StrategyMeta, ValidationIssue, sha256_text


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyVersion:
    """One saved source text of a strategy."""

    strategy_id: int
    version: int
    source: str
    sha256: str
    message: str
    valid: bool
    created_at: datetime


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


def _validate(source: str, language: Language) -> list[ValidationIssue]:
    from core import validation

    return validation.validate_source(source, language)


def save(db: Path, *, meta: StrategyMeta, source: str, language: Language = Language.PYTHON,
         strategy_id: int | None = None, message: str = "") -> tuple[int, int]:
    """Create a strategy, or add a version when the source changed. Returns (id, version).

    Metadata is always updated. An unchanged source creates no version.
    """
    if not meta.name.strip():
        raise PineOptError("The strategy needs a name; type one in the Name field.")
    from core import validation

    issues = _validate(source, language)
    valid = not validation.errors_only(issues)
    sha = sha256_text(source)
    with store.transaction(db) as con:
        if strategy_id is None:
            row = con.execute(
                "INSERT INTO strategies (name, description, language, author, version_label, tags, "
                "timeframes, assets, dependencies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [meta.name.strip(), meta.description, language.value, meta.author, meta.version,
                 json.dumps(list(meta.tags)), json.dumps(list(meta.timeframes)),
                 json.dumps(list(meta.assets)), json.dumps(list(meta.dependencies))]).fetchone()
            strategy_id = int(row[0])
            latest = None
        else:
            if not con.execute("SELECT 1 FROM strategies WHERE id = ? AND deleted_at IS NULL",
                               [strategy_id]).fetchone():
                raise NotFoundError(f"Strategy {strategy_id} does not exist (or was deleted).")
            con.execute(
                "UPDATE strategies SET name = ?, description = ?, author = ?, version_label = ?, "
                "tags = ?, timeframes = ?, assets = ?, dependencies = ?, "
                "updated_at = now() AT TIME ZONE 'UTC' WHERE id = ?",
                [meta.name.strip(), meta.description, meta.author, meta.version,
                 json.dumps(list(meta.tags)), json.dumps(list(meta.timeframes)),
                 json.dumps(list(meta.assets)), json.dumps(list(meta.dependencies)), strategy_id])
            latest = con.execute(
                "SELECT version, sha256 FROM strategy_versions WHERE strategy_id = ? "
                "ORDER BY version DESC LIMIT 1", [strategy_id]).fetchone()
        if latest is not None and latest[1] == sha:
            return strategy_id, int(latest[0])
        version = 1 if latest is None else int(latest[0]) + 1
        con.execute(
            "INSERT INTO strategy_versions (strategy_id, version, source, sha256, message, valid, "
            "issues) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [strategy_id, version, source, sha, message or ("created" if version == 1 else "edited"),
             valid, json.dumps([{"severity": i.severity.value, "line": i.line, "col": i.col,
                                 "message": i.message, "rule": i.rule} for i in issues])])
    return strategy_id, version


def _record(row: tuple) -> StrategyRecord:
    meta = StrategyMeta(name=row[1], description=row[2], author=row[4], version=row[5],
                        tags=tuple(json.loads(row[6])), timeframes=tuple(json.loads(row[7])),
                        assets=tuple(json.loads(row[8])), dependencies=tuple(json.loads(row[9])))
    return StrategyRecord(id=int(row[0]), meta=meta, language=Language(row[3]),
                          latest_version=int(row[10] or 0), valid=bool(row[11]),
                          updated_at=row[12], deleted=row[13] is not None)


_SELECT = (
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
        rows = con.execute(_SELECT + where + " ORDER BY s.updated_at DESC, s.id DESC").fetchall()
    return [_record(r) for r in rows]


def get(db: Path, strategy_id: int) -> StrategyRecord:
    """One strategy (deleted ones too). Raises NotFoundError."""
    with store.connect(db) as con:
        row = con.execute(_SELECT + " WHERE s.id = ?", [strategy_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Strategy {strategy_id} does not exist; `pineopt strategies list` "
                            "shows the ids.")
    return _record(row)


def get_version(db: Path, strategy_id: int, version: int | None = None) -> StrategyVersion:
    """A version's source (the latest when ``version`` is None). Raises NotFoundError."""
    sql = ("SELECT strategy_id, version, source, sha256, message, valid, created_at FROM "
           "strategy_versions WHERE strategy_id = ?")
    args: list[object] = [strategy_id]
    if version is not None:
        sql += " AND version = ?"
        args.append(version)
    with store.connect(db) as con:
        row = con.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
    if row is None:
        raise NotFoundError(f"Strategy {strategy_id} has no version {version or ''}".strip())
    return StrategyVersion(strategy_id=int(row[0]), version=int(row[1]), source=row[2],
                           sha256=row[3], message=row[4], valid=bool(row[5]), created_at=row[6])


def delete(db: Path, strategy_id: int) -> None:
    """Soft-delete: the strategy leaves the library; its versions and runs stay readable."""
    get(db, strategy_id)
    with store.connect(db) as con:
        con.execute("UPDATE strategies SET deleted_at = now() AT TIME ZONE 'UTC' WHERE id = ?",
                    [strategy_id])


def find_by_name(db: Path, name: str) -> StrategyRecord | None:
    """The live strategy with exactly this name, if any (newest if several)."""
    for record in list_strategies(db):
        if record.meta.name == name:
            return record
    return None


def save_by_name(db: Path, *, meta: StrategyMeta, source: str,
                 language: Language = Language.PYTHON) -> tuple[int, int]:
    """Save as a new version of the strategy with this name, or create it (the CLI's path)."""
    existing = find_by_name(db, meta.name)
    if existing is not None and existing.language is language:
        return save(db, meta=existing.meta, source=source, language=language,
                    strategy_id=existing.id, message="from file")
    return save(db, meta=meta, source=source, language=language, message="from file")
