"""The Audiences page's contact helpers: an uploaded file through the same import as the CLI, and edits parsed from widgets.

Kept out of the page script so they can be tested directly (AppTest cannot drive a file upload).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaigns.audiences.contact_import import ContactImport, import_contacts
from campaigns.audiences.contacts import ContactChanges
from campaigns.core.problems import ImportValidationError
from dashboards import ui

SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class UploadOutcome:
    result: ContactImport | None
    problems: list[dict[str, Any]]  # one row per problem: Row, Line, Column, Problem (empty when imported)
    total: int = 0  # problems in the file


def import_upload(merchant_id: str, name: str, data: bytes, update_existing: bool = False) -> UploadOutcome:
    """Import an uploaded file (all or nothing, as `campaigns contacts import`); its problems come back as table rows."""
    safe = Path(name).name or "contacts.csv"
    if Path(safe).suffix.lower() not in SUFFIXES:
        return UploadOutcome(None, [{"Row": None, "Line": None, "Column": None, "Problem": f"{safe}: upload a .csv or .parquet file of contacts"}], 1)
    with tempfile.TemporaryDirectory(prefix="contacts-upload-") as folder:
        path = Path(folder) / safe  # the file's own name, so problems name it as the person knows it
        path.write_bytes(data)
        try:
            result = ui.write("contact.import", import_contacts, merchant_id, path, update_existing=update_existing, actor=ui.actor())
        except ImportValidationError as exc:
            csv = path.suffix.lower() == ".csv"
            rows = [{"Row": p.row, "Line": p.row + 1 if csv and p.row is not None else None, "Column": p.column, "Problem": p.message}
                    for p in exc.problems]
            return UploadOutcome(None, rows, exc.total)
    return UploadOutcome(result, [], 0)


def parse_attributes(text: str) -> tuple[dict[str, str | None], list[str]]:
    """`name=value` lines to custom fields (`name=` removes one); the lines that are not of that form come back as problems."""
    values: dict[str, str | None] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            problems.append(f"line {number} ({line.strip()!r}): write name=value, or name= to remove the field")
            continue
        values[name.strip()] = value.strip() or None
    return values, problems


def edit_changes(current: dict[str, Any], first_name: str, last_name: str, timezone: str, tags: str, attributes: str, subscribed: bool,
                 consent_source: str) -> tuple[ContactChanges, list[str]]:
    """The edit the widgets ask for, relative to `current` (the contact page); custom fields absent from the text are removed."""
    wanted, problems = parse_attributes(attributes)
    removed = {name: None for name in current["attributes"] if name not in wanted}
    changes = ContactChanges(first_name=first_name, last_name=last_name, timezone=timezone, tags=tags.split(";"),
                             attributes={**removed, **wanted} or None, subscribed=subscribed, consent_source=consent_source)
    return changes, problems


def attributes_text(attributes: dict[str, Any]) -> str:
    return "\n".join(f"{name}={value}" for name, value in sorted(attributes.items()))
