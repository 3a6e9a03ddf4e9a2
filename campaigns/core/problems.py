"""Problems found in an import file, named by row and column with the fix.

Every importer (landing-zone files, contact events) reports the same way: all-or-nothing,
the first problems listed, the count of the rest. Kept apart from the importers so a context
can raise them without loading the data-frame libraries the warehouse importers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_SHOWN = 20


@dataclass(frozen=True)
class Problem:
    row: int | None  # 1-based data row; None for file-level problems
    column: str | None
    message: str

    def describe(self, file: str, csv: bool) -> str:
        where = [file]
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.row + 1})" if csv else ""))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def encoding_problem(path: Path) -> Problem | None:
    """A file-level problem when a text file is UTF-16 (or UTF-32): what spreadsheets often save as "Unicode text"."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None  # the reader reports missing and unreadable files itself
    if head.startswith(_UTF16_BOMS) or (len(head) >= 2 and head.count(0) * 4 >= len(head)):
        return Problem(None, None, "the file is UTF-16 encoded (often saved as \"Unicode text\"); save it as CSV UTF-8 and import again")
    return None


class ImportValidationError(ValueError):
    def __init__(self, file: Path, problems: list[Problem], total: int | None = None):
        self.file = file
        self.problems = problems
        self.total = total if total is not None else len(problems)
        csv = file.suffix.lower() == ".csv"
        lines = [p.describe(file.name, csv) for p in problems[:MAX_SHOWN]]
        if self.total > MAX_SHOWN:
            lines.append(f"... and {self.total - MAX_SHOWN} more problems (showing the first {MAX_SHOWN})")
        super().__init__(f"{file.name} was not imported; nothing was written:\n  " + "\n  ".join(lines))
