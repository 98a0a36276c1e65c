"""Reading delimited text into a raw table, with messages that name the file and line.

Pure functions over bytes (no store). A fast path parses with pyarrow; when it fails, a slow
path walks the text with the csv module to find the exact line to blame. Line numbers count
lines in the file (1 = first line) and assume no blank lines in the middle.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.errors import DataError

DELIMITERS = (",", ";")
KLINE_HEADER = ("open_time", "open", "high", "low", "close", "volume", "close_time",
                "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore")
_UNSUPPORTED_DELIMITERS = {"\t": "TAB", "|": "'|'", " ": "space"}
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Epoch magnitudes: seconds ~1e9, milliseconds ~1e12, microseconds ~1e15, nanoseconds ~1e18.
_UNIT_BOUNDS = ((1e8, 1e11, "s", "seconds"), (1e11, 1e14, "ms", "milliseconds"),
                (1e14, 1e17, "us", "microseconds"), (1e17, 1e20, "ns", "nanoseconds"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RawTable:
    """One file's rows as read: columns named by the header, or "0".."n-1" without one.

    width is the file's column count (a Binance kline file keeps only its first six columns).
    """

    name: str
    frame: pd.DataFrame
    has_header: bool
    delimiter: str
    first_line: int
    width: int

    def line_of(self, position: int) -> int:
        """The file line number of data row ``position`` (0-based)."""
        return self.first_line + int(position)


def decode_check(data: bytes, name: str) -> bytes:
    """Return ``data`` without a UTF-8 BOM; raise DataError if it is not UTF-8 text."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). Save the file "
            "as UTF-8 (or export it again from the exchange) and import it again.") from None
    if b"\x00" in data[:4096]:
        raise DataError(f"{name}: looks binary (NUL bytes), not a CSV text file.")
    return data


def _head_lines(data: bytes, count: int = 6) -> list[str]:
    lines = data[:65536].decode("utf-8", errors="replace").splitlines()
    return [ln for ln in lines if ln.strip()][:count]


def _is_value(field: str) -> bool:
    field = field.strip().strip('"')
    return bool(_NUMBER.match(field) or _DATE_START.match(field))


def sniff(data: bytes, name: str) -> tuple[str, bool]:
    """(delimiter, has_header) from the first lines. Raises DataError for empty or odd files."""
    lines = _head_lines(data)
    if not lines:
        raise DataError(f"{name}: the file is empty; there are no rows to import.")
    first = lines[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    if not any(counts.values()):
        for char, label in _UNSUPPORTED_DELIMITERS.items():
            if char in first.strip():
                raise DataError(
                    f"{name}: line 1 is separated by {label}, not by commas or semicolons. "
                    "Save the file as comma-separated CSV and import it again.")
        raise DataError(f"{name}: line 1 has a single column ({first[:60]!r}); expected "
                        "comma- or semicolon-separated values (time, open, high, low, close, "
                        "volume).")
    delimiter = ";" if counts[";"] > 0 and (counts[","] == 0 or _semicolon_rows(lines)) else ","
    fields = first.split(delimiter)
    has_header = sum(not _is_value(f) for f in fields) > len(fields) / 2
    if has_header and len(lines) == 1:
        raise DataError(f"{name}: the file has a header but no data rows.")
    return delimiter, has_header


def _semicolon_rows(lines: list[str]) -> bool:
    """True when every line has the same number of semicolons (decimal commas are then data)."""
    counts = {ln.count(";") for ln in lines}
    return len(counts) == 1


def _find_bad_row(data: bytes, name: str, delimiter: str, expected: int) -> DataError:
    text = io.StringIO(data.decode("utf-8"))
    bad = []
    for lineno, row in enumerate(csv.reader(text, delimiter=delimiter), start=1):
        if row and len(row) != expected:
            bad.append(f"line {lineno} has {len(row)} fields, expected {expected}")
            if len(bad) == 3:
                break
    if not bad:
        return DataError(f"{name}: the file could not be read as CSV (quoting problem?).")
    return DataError(f"{name}: " + "; ".join(bad) + ". A row was cut short or has extra fields: "
                     "fix or delete those lines and import again.")


def read_delimited(data: bytes, name: str) -> RawTable:
    """Parse CSV bytes (comma or semicolon, with or without header) into a RawTable.

    Raises DataError for empty files, an unsupported delimiter or rows with the wrong field count.
    """
    data = decode_check(data, name)
    delimiter, has_header = sniff(data, name)
    first = _head_lines(data, 1)[0]
    width = len(next(csv.reader([first], delimiter=delimiter)))
    names = ([c.strip() or f"column{i}" for i, c in
              enumerate(next(csv.reader([first], delimiter=delimiter)))] if has_header
             else [str(i) for i in range(width)])
    decimal = "," if delimiter == ";" and re.search(r"\d,\d", data[:4096].decode("utf-8",
                                                                               "replace")) else "."
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=_unique(names),
                                           skip_rows=1 if has_header else 0,
                                           block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            # Only an empty field is missing: "NaN" stays a NaN and "NA" text, so the message
            # about the row can say which it was.
            convert_options=pacsv.ConvertOptions(decimal_point=decimal, timestamp_parsers=[],
                                                 include_columns=_kline_columns(names),
                                                 null_values=[""]))
    except pa.ArrowInvalid as exc:
        if "Expected" in str(exc) and "columns" in str(exc):
            raise _find_bad_row(data, name, delimiter, width) from None
        raise DataError(f"{name}: could not be parsed as CSV ({exc}).") from None
    if table.num_rows == 0:
        raise DataError(f"{name}: the file has a header but no data rows.")
    start = _first_line_number(data) + (1 if has_header else 0)
    return RawTable(name=name, frame=_with_missing(table), has_header=has_header,
                    delimiter=delimiter, first_line=start, width=width)


def _with_missing(table: pa.Table) -> pd.DataFrame:
    """The table as a frame where an empty numeric field is None, not NaN (told apart in
    messages); only columns that have empty fields are converted."""
    frame = table.to_pandas()
    for name in table.column_names:
        column = table.column(name)
        if column.null_count and (pa.types.is_floating(column.type)
                                  or pa.types.is_integer(column.type)):
            missing = column.is_null().to_numpy(zero_copy_only=False)
            values = frame[name].to_numpy(dtype=object)
            values[missing] = None
            frame[name] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _kline_columns(names: list[str]) -> list[str] | None:
    """For a Binance kline file (12 columns) only the first six are read: it halves the time."""
    header = tuple(n.strip().lower() for n in names)
    if len(names) == 12 and (header == KLINE_HEADER or names == [str(i) for i in range(12)]):
        return names[:6]
    return None


def _first_line_number(data: bytes) -> int:
    stripped = data.lstrip(b"\r\n")
    return data[: len(data) - len(stripped)].count(b"\n") + 1


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def numeric_column(raw: RawTable, column: str, label: str, field: str = "") -> np.ndarray:
    """Column ``column`` as float64; raises DataError naming the line, the column (and the
    ``field`` it was read as) and the bad text: an empty field, a NaN, or other text."""
    series = raw.frame[column]
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64",
                                                                 na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        pos = int(bad[0])
        text = series.iloc[pos]
        shown = _shown(text)
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        role = f" ({field})" if field and field != label else ""
        raise DataError(f"{raw.name}: line {raw.line_of(pos)}, column {label!r}{role}: {shown} is "
                        f"not a number{more}. Fix or remove that row and import again.")
    return values


def _shown(text: object) -> str:
    """How a bad numeric cell is named: an empty field (missing), a NaN, or the text itself."""
    if text is None or text is pd.NA:
        return "an empty field"
    if isinstance(text, float) and np.isnan(text):
        return "a NaN (not-a-number value)"
    if isinstance(text, float):
        return f"{text:g}"
    return repr(str(text))


def epoch_unit(values: np.ndarray, raw: RawTable, label: str) -> str:
    """The epoch unit (s, ms, us, ns) shared by every value; raises DataError if mixed."""
    mags = np.abs(values)
    found: list[tuple[str, str, int]] = []
    classified = np.zeros(len(values), dtype=bool)
    for low, high, unit, word in _UNIT_BOUNDS:
        hit = (mags >= low) & (mags < high)
        if hit.any():
            found.append((unit, word, int(np.argmax(hit))))
            classified |= hit
    if not classified.all():
        pos = int(np.argmin(classified))
        raise DataError(f"{raw.name}: line {raw.line_of(pos)}, column {label!r}: {values[pos]:g} "
                        "is not a Unix time in s, ms, µs or ns (or an ISO date).")
    if len(found) > 1:
        parts = ", ".join(f"line {raw.line_of(p)} is in {w}" for _, w, p in found)
        raise DataError(f"{raw.name}: mixed timestamp units in column {label!r} ({parts}). "
                        "Use one unit for the whole file and import again.")
    return found[0][0]


def time_column(raw: RawTable, column: str, label: str = "time") -> tuple[pd.DatetimeIndex, bool]:
    """Column ``column`` as naive-UTC times and whether any text lacked a zone (read as UTC).

    Accepts epoch numbers (s, ms, µs, ns; one unit per file) or ISO 8601 text with or without a
    zone. Raises DataError naming the first bad line.
    """
    series = raw.frame[column]
    if pd.api.types.is_datetime64_any_dtype(series):
        index = pd.DatetimeIndex(series)
        naive = index.tz is None
        return (index if naive else index.tz_convert("UTC").tz_localize(None)), naive
    if not pd.api.types.is_numeric_dtype(series):
        as_text = series.astype("string").str.strip()
        if not as_text.str.fullmatch(r"[+-]?\d+(\.\d+)?").fillna(False).all():
            return _iso_times(raw, as_text, label)
    values = numeric_column(raw, column, label)
    unit = epoch_unit(values, raw, label)
    stamps = pd.to_datetime(values.astype("int64") if (values % 1 == 0).all() else values,
                            unit=unit)
    return pd.DatetimeIndex(stamps).as_unit("us"), False


def _iso_times(raw: RawTable, text: pd.Series, label: str) -> tuple[pd.DatetimeIndex, bool]:
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        pos = int(bad[0])
        raise DataError(f"{raw.name}: line {raw.line_of(pos)}, column {label!r}: "
                        f"{text.iloc[pos]!r} is not a time. Use ISO 8601 (2024-01-31 13:00:00, "
                        "optionally with +00:00) or Unix seconds/milliseconds.")
    zoned = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).fillna(False)
    index = pd.DatetimeIndex(parsed).tz_convert("UTC").tz_localize(None).as_unit("us")
    return index, not bool(zoned.all())
