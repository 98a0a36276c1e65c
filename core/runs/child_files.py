"""The parent's only way to read a sandboxed child's out/ files: checked before, capped during.

A child is untrusted and its files are small on disk but may describe huge tables (a 271 KB
Parquet file with 60 M rows of one repeated value). So, for every file:

1. out/ holds only the files the run may write, each a regular file (no symlink, FIFO or
   folder) within MAX_FILE_BYTES, and at most MAX_ENTRIES entries are ever looked at;
2. the file is opened once without following links, and its Parquet footer alone is checked
   against the caller's caps (rows, row groups, columns, codecs, uncompressed bytes) before a
   single data page is read;
3. data is read in batches whose decoded bytes count against the same budget, text columns stay
   dictionary-encoded and are cut to a maximum length.

Every violation raises SandboxError(status="result_rejected") naming the file and the cap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import SandboxError

MAX_ENTRIES = 16
MAX_FILE_BYTES = 128 * 1024 * 1024
MAX_FOOTER_BYTES = 1024 * 1024
MAX_ROW_GROUPS = 256
CODECS = frozenset({"UNCOMPRESSED", "SNAPPY", "ZSTD", "GZIP", "LZ4", "BROTLI"})
BATCH_ROWS = 65_536
THRIFT_STRING_BYTES = 1024 * 1024
THRIFT_CONTAINER_ITEMS = 100_000
SLACK_BYTES = 4 * 1024 * 1024  # dictionaries, offsets and small files


def reject(message: str) -> SandboxError:
    """The SandboxError for a child file that breaks a rule."""
    return SandboxError(f"Result rejected: {message}", status="result_rejected")


@dataclass(frozen=True, slots=True, kw_only=True)
class Caps:
    """What one child file may hold. ``rows``: exact row count, or None with ``max_rows``;
    ``text_chars``: longest text kept. The decoded bytes of the columns read may not exceed
    rows x (16 per value, or 4 x text_chars + 16 per text value) + SLACK_BYTES."""

    max_rows: int
    rows: int | None = None
    max_columns: int = 32
    text_chars: int = 300

    def budget(self, rows: int, types: list[pa.DataType]) -> int:
        """The decoded-bytes budget of ``rows`` rows of columns of ``types``."""
        per_row = sum(4 * self.text_chars + 16 if _is_text(t) else 16 for t in types)
        return rows * per_row + SLACK_BYTES


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(
        kind) or pa.types.is_large_binary(kind)


def check_out_dir(out_dir: Path, allowed: AbstractSet[str]) -> None:
    """Only ``allowed`` names, each a regular file within MAX_FILE_BYTES; raises SandboxError."""
    with os.scandir(out_dir) as entries:
        for count, entry in enumerate(entries, start=1):
            if count > MAX_ENTRIES:
                raise reject(f"out/ holds more than {MAX_ENTRIES} entries")
            if entry.name not in allowed:
                raise reject(f"out/ holds {entry.name[:80]!r}, which this run may not write "
                             f"(allowed: {', '.join(sorted(allowed))})")
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise reject(f"{entry.name} is not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise reject(f"{entry.name} is {info.st_size:,} bytes, over the "
                             f"{MAX_FILE_BYTES:,}-byte limit per file")


def _open(path: Path) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise reject(f"{path.name} is missing") from None
    except OSError:  # ELOOP: a symlink
        raise reject(f"{path.name} is missing or not a regular file") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise reject(f"{path.name} is not a regular file within {MAX_FILE_BYTES:,} bytes")
    return fd


def _check_footer(name: str, meta: pq.FileMetaData, columns: list[str], caps: Caps,
                  budget: int) -> None:
    """Rows, row groups, columns, codecs and uncompressed bytes, from the footer only."""
    if meta.serialized_size > MAX_FOOTER_BYTES:
        raise reject(f"{name} has a {meta.serialized_size:,}-byte footer")
    if caps.rows is not None and meta.num_rows != caps.rows:
        raise reject(f"{name} has {meta.num_rows:,} rows for {caps.rows:,} bars")
    if not 0 <= meta.num_rows <= caps.max_rows:
        raise reject(f"{name} has {meta.num_rows:,} rows, over the {caps.max_rows:,} limit")
    if meta.num_row_groups > MAX_ROW_GROUPS or meta.num_columns > caps.max_columns:
        raise reject(f"{name} has {meta.num_row_groups:,} row groups and {meta.num_columns:,} "
                     f"columns (limits {MAX_ROW_GROUPS} and {caps.max_columns})")
    declared, uncompressed = _row_groups(name, meta, set(columns))
    if declared != meta.num_rows:
        raise reject(f"{name}'s row groups hold {declared:,} rows, not {meta.num_rows:,}")
    if uncompressed > budget:
        raise reject(f"{name} decodes to {uncompressed:,} bytes, over its {budget:,}-byte "
                     "budget")


def _row_groups(name: str, meta: pq.FileMetaData, wanted: set[str]) -> tuple[int, int]:
    """(rows the row groups declare, uncompressed bytes of the ``wanted`` columns); codecs."""
    declared = 0
    uncompressed = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        declared += group.num_rows
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.compression not in CODECS:
                raise reject(f"{name} uses the unsupported codec {chunk.compression}")
            if chunk.path_in_schema.split(".")[0] in wanted:
                uncompressed += max(chunk.total_uncompressed_size, 0)
    return declared, uncompressed


def read_parquet(path: Path, columns: list[str] | None, caps: Caps) -> pd.DataFrame:
    """The child's Parquet file ``path`` (``columns``, or all when None) as a DataFrame.

    Raises SandboxError(result_rejected) when the file is missing, not a regular file, not
    Parquet, lacks a column or breaks ``caps`` (checked in the footer before any data is read).
    """
    fd = _open(path)
    try:
        with os.fdopen(fd, "rb", closefd=False) as raw:
            return _read(path.name, raw, columns, caps)
    except SandboxError:
        raise
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise reject(f"{path.name} could not be read ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure of untrusted bytes
        raise reject(f"{path.name} is not a valid Parquet file ({type(exc).__name__})") from None
    finally:
        os.close(fd)


def _read(name: str, raw: object, columns: list[str] | None, caps: Caps) -> pd.DataFrame:
    file = pq.ParquetFile(raw, thrift_string_size_limit=THRIFT_STRING_BYTES,
                          thrift_container_size_limit=THRIFT_CONTAINER_ITEMS, pre_buffer=False)
    schema = file.schema_arrow
    if len(set(schema.names)) != len(schema.names):
        raise reject(f"{name} repeats a column name")
    names = list(schema.names) if columns is None else columns
    missing = [c for c in names if c not in schema.names]
    if missing:
        raise reject(f"{name} lacks columns {missing}")
    rows = file.metadata.num_rows
    budget = caps.budget(max(0, min(rows, caps.max_rows)), [schema.field(c).type for c in names])
    _check_footer(name, file.metadata, names, caps, budget)
    text = [c for c in names if _is_text(schema.field(c).type)]
    if text:  # keep repeated text as one dictionary entry instead of one copy per row
        file = pq.ParquetFile(raw, read_dictionary=text, pre_buffer=False,
                              thrift_string_size_limit=THRIFT_STRING_BYTES,
                              thrift_container_size_limit=THRIFT_CONTAINER_ITEMS)
    batches = []
    decoded = 0
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=names, use_threads=False):
        decoded += batch.nbytes
        if decoded > budget:
            raise reject(f"{name} decodes to more than its {budget:,}-byte budget")
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else (
        pa.Table.from_pylist([], schema=pa.schema([schema.field(c) for c in names])))
    if table.num_rows != file.metadata.num_rows:
        raise reject(f"{name} holds {table.num_rows:,} rows, not the {file.metadata.num_rows:,} "
                     "its footer declares")
    frame = table.replace_schema_metadata(None).to_pandas()
    for column in text:
        frame[column] = _cut_text(frame[column], caps.text_chars)
    return frame


def _cut_text(values: pd.Series, chars: int) -> pd.Series:
    """Text values cut to ``chars`` characters (a dictionary column: its entries, not each row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        entries = np.array([str(s)[:chars] for s in values.cat.categories] + [None], dtype=object)
        return pd.Series(entries[values.cat.codes.to_numpy()], index=values.index, dtype=object)
    return values.map(lambda s: s[:chars] if isinstance(s, str) else s).astype(object)
