"""Importing contacts from CSV or Parquet: validated whole, then upserted in one transaction.

Columns: ``email`` (required), ``first_name``, ``last_name``, ``timezone`` (IANA), ``tags``
(``;``-separated), ``subscribed``, ``consent_source``, ``consented_at`` (ISO 8601 with a zone) and any
``attr_<name>`` custom field. Every problem of the file is collected and reported by row, column and fix
(`ImportValidationError`); nothing is written unless the whole file is valid.

Matching is case-insensitive on the normalised address, so importing a file twice changes nothing
and never duplicates a contact. Existing contacts are left as they are unless ``update_existing``.
An address on the suppression list stays suppressed (its contact is imported unsubscribed); an
address whose person was erased is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from campaigns.audiences.contacts import (
    ACTIVE,
    ERASED,
    EMAIL_MARKETING,
    MAX_NAME,
    ContactError,
    check_attribute_name,
    check_tags,
    normalise_address,
    time_zones,
)
from campaigns.audiences.suppression import erased_addresses, suppressed_emails
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.problems import ImportValidationError, Problem
from campaigns.core.store.bulk import insert_rows
from campaigns.core.store.models import Contact, ContactConsent
from campaigns.core.store.types import utcnow

COLUMNS = ("email", "first_name", "last_name", "timezone", "tags", "subscribed", "consent_source", "consented_at")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}
BATCH = 2_000
ZONE_HINT = "use ISO 8601 with a zone, e.g. 2026-03-01T14:05:00Z or 2026-03-01T09:05:00-05:00"

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class ContactRow:
    row: int
    email: str
    fields: dict[str, Any]  # only the columns the file has (first_name, last_name, timezone, tags)
    attributes: dict[str, str]
    subscribed: bool
    consent_source: str
    consented_at: datetime | None


@dataclass(frozen=True)
class ContactImport:
    rows: int
    created: int
    updated: int
    unchanged: int  # already there (and --update-existing not given, or nothing differed)
    kept_suppressed: int  # addresses on the suppression list: imported unsubscribed whatever the file said
    consents: int = 0
    problems: list[Problem] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------------


def read_frame(path: Path) -> pl.DataFrame:
    """The file as text columns (Parquet values turned into the CSV spellings); ImportValidationError when unreadable."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ImportValidationError(path, [Problem(None, None, "give a .csv or .parquet file of contacts")])
    if path.is_dir() or not path.exists():
        raise ImportValidationError(path, [Problem(None, None, "no such file; give the path of a CSV or Parquet file of contacts")])
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8").fill_null("")
        else:
            frame = _as_text(pl.read_parquet(path))
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        fix = "save it as UTF-8 CSV with a header row" if suffix == ".csv" else "write it again as Parquet"
        raise ImportValidationError(path, [Problem(None, None, f"cannot be read ({str(exc).splitlines()[0]}); {fix}")]) from None
    return frame.rename({c: c.strip().lower() for c in frame.columns})


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f%:z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f"
            column = column.dt.to_string(fmt)
        elif isinstance(dtype, pl.List):
            column = column.cast(pl.List(pl.String)).list.join(";")
        elif dtype == pl.Boolean:
            column = pl.when(column).then(pl.lit("true")).when(~column).then(pl.lit("false")).otherwise(pl.lit(""))
        columns.append(column.cast(pl.String).fill_null("").alias(name))
    return frame.select(columns)


# --- validating ---------------------------------------------------------------------------------


def validate(path: Path, frame: pl.DataFrame, progress: Progress | None = None) -> tuple[list[ContactRow], list[Problem]]:
    problems: list[Problem] = []
    present = list(frame.columns)
    if "email" not in present:
        problems.append(Problem(None, "email", "the required column is missing; the header must name an 'email' column"))
    attributes: dict[str, str] = {}
    for column in present:
        if column in COLUMNS:
            continue
        if column.startswith("attr_"):
            try:
                attributes[column] = check_attribute_name(column.removeprefix("attr_"))
            except ContactError as exc:
                problems.append(Problem(None, column, str(exc)))
            continue
        problems.append(Problem(None, column, f"unknown column; use {', '.join(COLUMNS)} or attr_<name> for a custom field"))
    if len(set(present)) != len(present):
        problems.append(Problem(None, None, "two columns have the same name; keep one"))
    if problems:
        return [], problems
    zones = time_zones()
    rows: list[ContactRow] = []
    first_row: dict[str, int] = {}
    total = frame.height
    for index, values in enumerate(frame.iter_rows(named=True), start=1):
        if progress and index % 10_000 == 0:
            progress("checking", index, total)
        row = _validate_row(index, values, attributes, zones, problems)
        if row is None:
            continue
        key = row.email.lower()
        if key in first_row:
            problems.append(Problem(index, "email", f"{row.email} is also on row {first_row[key]}; keep one row per address (they match case-insensitively)"))
            continue
        first_row[key] = index
        rows.append(row)
    if frame.height == 0:
        problems.append(Problem(None, None, "the file has a header but no contacts; add one row per contact"))
    return rows, problems


def _validate_row(index: int, values: dict[str, Any], attributes: dict[str, str], zones: frozenset[str], problems: list[Problem]) -> ContactRow | None:
    found = len(problems)
    cell = lambda name: (values.get(name) or "").strip()  # noqa: E731
    email = ""
    try:
        email = normalise_address(cell("email"))
    except ContactError as exc:
        problems.append(Problem(index, "email", str(exc)))
    fields: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in values:
            fields[name] = cell(name)
            if len(fields[name]) > MAX_NAME:
                problems.append(Problem(index, name, f"{len(fields[name])} characters; shorten it to at most {MAX_NAME}"))
    if "timezone" in values:
        zone = cell("timezone") or "UTC"
        if zone not in zones:
            problems.append(Problem(index, "timezone", f"{zone!r} is not an IANA time zone; use a name like Europe/Paris or America/New_York"))
        fields["timezone"] = zone
    if "tags" in values:
        try:
            fields["tags"] = check_tags(cell("tags").split(";"))
        except ContactError as exc:
            problems.append(Problem(index, "tags", str(exc)))
    source = cell("consent_source")
    consented_at = None
    if cell("consented_at"):
        try:
            consented_at = datetime.fromisoformat(cell("consented_at"))
            if consented_at.tzinfo is None:
                problems.append(Problem(index, "consented_at", f"{cell('consented_at')!r} has no time zone; {ZONE_HINT}"))
        except ValueError:
            problems.append(Problem(index, "consented_at", f"{cell('consented_at')!r} is not a date and time; {ZONE_HINT}"))
        if not source:
            problems.append(Problem(index, "consent_source", "consented_at is given but not where the person agreed; fill consent_source (e.g. 'checkout opt-in')"))
    flag = cell("subscribed").lower()
    if flag in TRUE:
        subscribed = True
    elif flag in FALSE:
        subscribed = False
    elif flag == "":
        subscribed = bool(source)  # consent stated: subscribed; no consent: imported without marketing email
    else:
        problems.append(Problem(index, "subscribed", f"{cell('subscribed')!r} is not true or false; write true, false (or yes, no, 1, 0), or leave it empty"))
        subscribed = False
    if subscribed and not source:
        problems.append(Problem(index, "consent_source", "subscribed is true but there is no consent source; say where the person agreed "
                                                          "(e.g. 'newsletter form 2025'), or set subscribed to false"))
    custom = {name: cell(column) for column, name in attributes.items() if cell(column)}
    if len(problems) > found:
        return None
    return ContactRow(index, email, fields, custom, subscribed, source, consented_at)


# --- writing ------------------------------------------------------------------------------------


def import_contacts(session: Session, merchant_id: str, path: Path, *, update_existing: bool = False, actor: str = "cli",
                    progress: Progress | None = None, now: datetime | None = None) -> ContactImport:
    """Validate `path` whole, then create (and with `update_existing`, update) the merchant's contacts in the caller's transaction."""
    require_merchant(session, merchant_id)
    now = now or utcnow()
    frame = read_frame(path)
    rows, problems = validate(path, frame, progress)
    if not problems:
        erased = erased_addresses(session, merchant_id, (r.email for r in rows))
        problems += [Problem(r.row, "email", "this person's data was erased at their request and the address is suppressed; remove the row")
                     for r in rows if r.email.lower() in erased]
    if problems:
        raise ImportValidationError(path, problems)
    suppressed = suppressed_emails(session, merchant_id, (r.email for r in rows))
    existing = _existing(session, merchant_id)
    new = [r for r in rows if r.email.lower() not in existing]
    known = [r for r in rows if r.email.lower() in existing]
    source_note = f"import:{path.name}"
    total, done = len(rows), 0
    consents: list[dict[str, Any]] = []
    created = 0
    postgres = session.get_bind().dialect.name == "postgresql"
    new_ids: dict[str, int] = {}
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        values = [{"merchant_id": merchant_id, "email": r.email, "first_name": r.fields.get("first_name", ""), "last_name": r.fields.get("last_name", ""),
                   "timezone": r.fields.get("timezone", "UTC"), "tags": r.fields.get("tags", []), "attributes": r.attributes,
                   "subscribed": r.subscribed and r.email.lower() not in suppressed, "status": ACTIVE, "created_at": now, "updated_at": now}
                  for r in batch]
        if postgres:  # COPY; the new ids are read back once, below
            insert_rows(session, Contact.__table__, values)
        else:
            ids = session.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), values).all()
            new_ids.update(zip((r.email for r in batch), ids, strict=True))
        done += len(batch)
        if progress:
            progress("writing", done, total)
    if postgres and new:  # one read of the merchant's addresses (a lookup per batch would scan the growing table each time)
        new_ids = dict(session.execute(select(Contact.email, Contact.id).where(Contact.merchant_id == merchant_id, Contact.created_at == now)).all())
    created = len(new)
    consents += [_consent(merchant_id, new_ids[r.email], r, source_note, actor, now) for r in new if r.subscribed and r.email.lower() not in suppressed]
    updated = 0
    if update_existing and known:
        changes, consents_known = _updates(known, existing, suppressed, merchant_id, source_note, actor, now)
        for start in range(0, len(changes), BATCH):
            session.execute(update(Contact), changes[start : start + BATCH])
        updated = len(changes)
        consents += consents_known
    done += len(known)
    if progress:
        progress("writing", done, total)
    insert_rows(session, ContactConsent.__table__, consents)
    kept = sum(1 for r in rows if r.subscribed and r.email.lower() in suppressed)
    result = ContactImport(rows=len(rows), created=created, updated=updated, unchanged=len(known) - updated, kept_suppressed=kept, consents=len(consents))
    record(session, merchant_id, actor, "contacts.import", "merchant", merchant_id, file=path.name, rows=result.rows, created=created, updated=updated,
           unchanged=result.unchanged, kept_suppressed=kept, consents=len(consents), update_existing=update_existing)
    session.flush()
    return result


def _existing(session: Session, merchant_id: str) -> dict[str, tuple[int, bool, str, str, str, list[Any], dict[str, Any]]]:
    rows = session.execute(select(func.lower(Contact.email), Contact.id, Contact.subscribed, Contact.first_name, Contact.last_name, Contact.timezone,
                                  Contact.tags, Contact.attributes)
                           .where(Contact.merchant_id == merchant_id, Contact.status != ERASED).order_by(Contact.id.desc()))
    # two spellings of one mailbox stored before normalisation: the oldest contact wins (the last one written here)
    return {row[0]: tuple(row[1:]) for row in rows}  # type: ignore[misc]


def _updates(known: list[ContactRow], existing: dict[str, tuple], suppressed: dict, merchant_id: str, source: str, actor: str,
             now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    changes, consents = [], []
    for r in known:
        contact_id, subscribed, first_name, last_name, timezone, tags, attributes = existing[r.email.lower()]
        current = {"first_name": first_name, "last_name": last_name, "timezone": timezone, "tags": list(tags or [])}
        change = {name: value for name, value in r.fields.items() if current[name] != value}
        merged = {**(attributes or {}), **r.attributes}
        if merged != (attributes or {}):
            change["attributes"] = merged
        wanted = r.subscribed and r.email.lower() not in suppressed
        if wanted != subscribed and (r.consent_source or not wanted):
            change["subscribed"] = wanted
            if wanted:
                consents.append(_consent(merchant_id, contact_id, r, source, actor, now))
            else:
                consents.append({"merchant_id": merchant_id, "contact_id": contact_id, "purpose": EMAIL_MARKETING, "granted": False,
                                 "source": source[:200], "wording": "", "occurred_at": now, "ip": None, "user_agent": None,
                                 "recorded_by": actor[:200], "created_at": now})
        if change:
            changes.append({"id": contact_id, "updated_at": now, **change})
    return changes, consents


def _consent(merchant_id: str, contact_id: int, r: ContactRow, source: str, actor: str, now: datetime) -> dict[str, Any]:
    return {"merchant_id": merchant_id, "contact_id": contact_id, "purpose": EMAIL_MARKETING, "granted": True, "source": r.consent_source[:200],
            "wording": f"email marketing; imported from {source.removeprefix('import:')}", "occurred_at": r.consented_at or now, "ip": None,
            "user_agent": None, "recorded_by": actor[:200], "created_at": now}
