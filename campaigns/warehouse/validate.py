"""Validation of import files against the raw-table contracts.

All-or-nothing: a file either parses completely into a typed frame or raises
`ImportValidationError` listing the problems with row, column and the fix. Nothing is
written by this module.

Limits (each an error naming the row, the column and the allowed range, never a silent change):
counts (impressions, clicks) are whole numbers from 0 to `MAX_COUNT`; money (spend, revenue) from
0 to `MAX_AMOUNT`; dates and timestamps between `MIN_DATE` and `MAX_DATE`; a text field holds at
most `MAX_FIELD_CHARS` characters and a row at most `MAX_ROW_CHARS`; a file at most `MAX_ROWS`
rows and `MAX_FILE_BYTES` bytes. Text that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-`` or ``@``) is refused: no id, channel, source or medium is legitimately one.
A UTF-16 file is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from campaigns.core.identifiers import validate_merchant_id
from campaigns.core.problems import MAX_SHOWN, ImportValidationError, Problem, encoding_problem
from campaigns.warehouse.schema import IMPORTABLE, RawTable

ISO_HINT = "use ISO-8601 such as 2026-03-01T14:05:00Z (no zone means UTC)"
MAX_COUNT = 10**12  # impressions or clicks on one row
MAX_AMOUNT = 1e12  # spend or revenue on one row, in the currency unit
MIN_DATE, MAX_DATE = date(1970, 1, 1), date(2200, 12, 31)
MAX_FIELD_CHARS = 1_000
MAX_ROW_CHARS = 8_000
MAX_ROWS = 20_000_000
MAX_FILE_BYTES = 4 * 1024**3
FORMULA_PATTERN = r"^[=+\-@]"  # after trimming; tab and carriage return are trimmed away
RANGES = {"spend": (0.0, MAX_AMOUNT), "revenue": (0.0, MAX_AMOUNT), "impressions": (0, MAX_COUNT), "clicks": (0, MAX_COUNT)}


@dataclass
class ValidatedImport:
    kind: str
    frame: pl.DataFrame
    notices: list[str] = field(default_factory=list)


def validate_file(path: Path, kind: str, merchant_id: str) -> ValidatedImport:
    if kind not in IMPORTABLE:
        raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(IMPORTABLE)}")
    table = IMPORTABLE[kind]
    validate_merchant_id(merchant_id)
    raw = _read_as_strings(path)
    _check_columns(path, raw, table)
    return _parse(path, raw, table, kind, merchant_id)


def _read_as_strings(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise ImportValidationError(path, [Problem(None, None, "file not found; check the path")])
    suffix = path.suffix.lower()
    if suffix == ".csv" and (problem := encoding_problem(path)) is not None:
        raise ImportValidationError(path, [problem])
    if path.is_file() and (size := path.stat().st_size) > MAX_FILE_BYTES:
        raise ImportValidationError(path, [Problem(None, None, f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,}: split it into smaller files")])
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
            frame = frame.with_columns(
                [pl.col(n).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00") for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
            ).with_columns(pl.all().cast(pl.String))
        else:
            raise ImportValidationError(path, [Problem(None, None, f"unsupported file type {suffix or '(none)'}; give a .csv or .parquet file")])
    except ImportValidationError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:  # polars' parser errors name the line; pass them on
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise ImportValidationError(path, [Problem(None, None, f"malformed {kind}: {str(exc).splitlines()[0]}; fix the file and import again")]) from exc
    if frame.height == 0:
        raise ImportValidationError(path, [Problem(None, None, "the file has no data rows")])
    if frame.height > MAX_ROWS:
        raise ImportValidationError(path, [Problem(None, None, f"the file has {frame.height:,} rows; at most {MAX_ROWS:,}: split it into smaller files")])
    return frame.rename({c: c.strip().lower() for c in frame.columns})


def _check_columns(path: Path, raw: pl.DataFrame, table: RawTable) -> None:
    expected = [c for c in table.column_names if c != "merchant_id"]
    required = [c.name for c in table.columns if not c.nullable and c.name != "merchant_id"]
    problems = [Problem(None, c, f"missing required column; the header needs: {', '.join(expected)}") for c in required if c not in raw.columns]
    problems += [
        Problem(None, c, f"unknown column; expected only {', '.join(expected)} (rename or drop it)") for c in raw.columns if c not in expected
    ]
    if problems:
        raise ImportValidationError(path, problems)


def _size_problems(raw: pl.DataFrame, expected: list[str]) -> list[Problem]:
    """Fields over MAX_FIELD_CHARS and rows over MAX_ROW_CHARS (checked before any parsing)."""
    problems: list[Problem] = []
    present = [c for c in expected if c in raw.columns]
    lengths = raw.select(pl.col(c).str.len_chars().fill_null(0) for c in present)
    for name in present:
        problems += [Problem(i + 1, name, f"{lengths[name][i]:,} characters; a field holds at most {MAX_FIELD_CHARS:,}")
                     for i in _indices(lengths[name] > MAX_FIELD_CHARS)[:MAX_SHOWN]]
    if present:
        totals = lengths.select(pl.sum_horizontal(pl.all())).to_series()
        problems += [Problem(i + 1, None, f"the row holds {totals[i]:,} characters; at most {MAX_ROW_CHARS:,}")
                     for i in _indices(totals > MAX_ROW_CHARS)[:MAX_SHOWN]]
    return problems


def _range_problems(name: str, text: pl.Series, parsed: pl.Series) -> list[Problem]:
    """Values outside the column's allowed range, named with the range (never stored as null or clipped)."""
    if name in RANGES:
        low, high = RANGES[name]
        values = text.cast(pl.Float64, strict=False)  # the number as written, before any integer conversion
        word = "a whole number" if isinstance(high, int) else "an amount"
        return ([Problem(i + 1, name, f"{text[i]} is negative; it must be 0 or more") for i in _indices(values < low)]
                + [Problem(i + 1, name, f"{text[i]} is out of range; {word} from 0 to {high:,.0f} is allowed") for i in _indices(values > high)])
    if parsed.dtype == pl.Date or isinstance(parsed.dtype, pl.Datetime):
        day = parsed.cast(pl.Date) if isinstance(parsed.dtype, pl.Datetime) else parsed
        outside = (day < MIN_DATE) | (day > MAX_DATE)
        return [Problem(i + 1, name, f"{text[i]!r} is out of range; dates from {MIN_DATE} to {MAX_DATE} are allowed") for i in _indices(outside)]
    return []


def _parse(path: Path, raw: pl.DataFrame, table: RawTable, kind: str, merchant_id: str) -> ValidatedImport:
    notices: list[str] = []
    columns: dict[str, pl.Series] = {}
    problems = _size_problems(raw, [c for c in table.column_names if c != "merchant_id"])
    if problems:  # parsing megabyte fields would only repeat the same rows' problems
        raise ImportValidationError(path, problems[: MAX_SHOWN * 5], total=len(problems))
    for column in table.columns:
        if column.name == "merchant_id":
            continue
        text = raw[column.name].str.strip_chars() if column.name in raw.columns else pl.Series(column.name, [None] * raw.height, pl.String)
        blank = text.is_null() | (text == "")
        if not column.nullable:
            problems += [Problem(i + 1, column.name, "empty; a value is required") for i in _indices(blank)]
        parsed, bad, note = _convert(text, column.dtype, column.name)
        bad = bad & ~blank
        problems += [Problem(i + 1, column.name, f"{text[i]!r} is not {note}") for i in _indices(bad)]
        problems += [p for p in _range_problems(column.name, text, parsed) if p.row is None or not bad[p.row - 1]]
        if column.dtype == pl.String:
            problems += [Problem(i + 1, column.name, f"{text[i]!r} starts with {text[i][0]!r}, which spreadsheets run as a formula; "
                                 "ids, channels, sources and mediums may not start with = + - or @")
                         for i in _indices(text.str.contains(FORMULA_PATTERN))]
        if column.dtype == pl.Datetime("us", "UTC"):
            naive = (~blank & ~bad & ~text.str.contains(r"(Z|[+-]\d\d:?\d\d)$")).sum()
            if naive:
                notices.append(f"{naive} values in {column.name!r} had no time zone and were read as UTC")
        columns[column.name] = parsed.alias(column.name)
    frame = pl.DataFrame(columns).select(pl.lit(merchant_id).alias("merchant_id"), *[c for c in table.column_names if c != "merchant_id"])
    key = [k for k in table.key if k != "merchant_id"]
    duplicated = frame.select(key).is_duplicated()
    if duplicated.any():
        first_seen: dict[tuple, int] = {}
        for i in _indices(duplicated):
            ident = tuple(frame.row(i, named=True)[k] for k in key)
            if ident in first_seen:
                problems.append(Problem(i + 1, "/".join(key), f"duplicate {'/'.join(key)} {ident if len(ident) > 1 else ident[0]!r} (first at row {first_seen[ident]}); ids must be unique within a file"))
            else:
                first_seen[ident] = i + 1
    if problems:
        problems.sort(key=lambda p: (p.row or 0))
        raise ImportValidationError(path, problems[: MAX_SHOWN * 5], total=len(problems))
    return ValidatedImport(kind, frame, notices)


def _convert(text: pl.Series, dtype: pl.DataType, name: str) -> tuple[pl.Series, pl.Series, str]:
    """Parse a column; returns (values, mask of unparseable rows, what was expected)."""
    if dtype == pl.String:
        return text.replace("", None), pl.Series([False] * len(text)), "text"
    if dtype == pl.Float64:
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() | values.is_nan() | values.is_infinite()
        return values, bad, "a number (use a dot for decimals, no currency signs)"
    if dtype == pl.Int64:
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() | values.is_nan() | values.is_infinite() | (values != values.round(0))
        # out-of-range values are reported by _range_problems; never let them become null silently
        return values.clip(-MAX_COUNT, MAX_COUNT).cast(pl.Int64, strict=False), bad, "a whole number"
    if dtype == pl.Date:
        values = text.str.to_date("%Y-%m-%d", strict=False)
        return values, values.is_null(), "a date in YYYY-MM-DD form"
    if isinstance(dtype, pl.Datetime):
        values = parse_timestamps(text)
        return values, values.is_null(), f"a timestamp; {ISO_HINT}"
    raise TypeError(f"no parser for {name} ({dtype})")


def parse_timestamps(text: pl.Series) -> pl.Series:
    """ISO-8601 strings to UTC timestamps; a value without a zone is taken as UTC."""
    norm = text.str.replace(r"[zZ]$", "+00:00").str.replace(" ", "T", literal=True)
    zoned = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us", time_zone="UTC")
    attempts = [zoned]
    for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"):
        attempts.append(norm.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC"))
    attempts.append(norm.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return pl.select(pl.coalesce(attempts)).to_series().alias(text.name)


def _indices(mask: pl.Series) -> list[int]:
    return mask.fill_null(False).arg_true().to_list()
