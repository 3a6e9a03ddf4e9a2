"""Contact import from CSV and Parquet: normalised, validated whole, upserted without duplicates; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from campaigns.audiences.contact_import import import_contacts
from campaigns.audiences.contacts import consent_history
from campaigns.audiences.suppression import add_suppression
from campaigns.core.audit import entries
from campaigns.core.problems import ImportValidationError
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactConsent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
HEADER = "email,first_name,last_name,timezone,tags,subscribed,consent_source,consented_at,attr_tier\n"


def _csv(tmp_path: Path, body: str, name: str = "contacts.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _import(url: str, path: Path, merchant: str = "acme", **kwargs):
    with session_scope(url) as s:
        return import_contacts(s, merchant, path, now=NOW, **kwargs)


def _contacts(url: str, merchant: str = "acme") -> list[Contact]:
    with session_scope(url) as s:
        return list(s.scalars(select(Contact).where(Contact.merchant_id == merchant).order_by(Contact.id)))


def test_import_normalises_validates_and_records_consent(store_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, " Ana.Lopez@Example.COM ,Ana,López,Europe/Madrid,vip; newsletter ;,true,checkout opt-in,2026-03-01T09:05:00-05:00,gold\n"
                          "bo@example.com,Bo,,,,,,,\n")
    result = _import(store_url, path)
    assert (result.rows, result.created, result.updated, result.unchanged, result.consents) == (2, 2, 0, 0, 1)
    ana, bo = _contacts(store_url)
    assert ana.email == "Ana.Lopez@example.com" and ana.last_name == "López" and ana.timezone == "Europe/Madrid"
    assert ana.tags == ["vip", "newsletter"] and ana.attributes == {"tier": "gold"} and ana.subscribed and ana.status == "active"
    # no consent stated: imported, but never sent marketing email
    assert bo.timezone == "UTC" and not bo.subscribed and bo.attributes == {}
    with session_scope(store_url) as s:
        history = consent_history(s, "acme", ana.id)
        assert [(c.granted, c.source, c.occurred_at) for c in history] == [(True, "checkout opt-in", datetime(2026, 3, 1, 14, 5, tzinfo=UTC))]
        assert "contacts.csv" in history[0].wording
        assert entries(s, "acme")[0].action == "contacts.import"


def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(store_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "ok@example.com,,,,,,,,\n"
                          "not-an-address,,,,,,,,\n"
                          "b@example.com,,,Mars/Olympus,,maybe,,,\n"
                          "c@example.com,,,,,true,,,\n"
                          "d@example.com,,,,,,form,2026-03-01 10:00,\n"
                          "OK@EXAMPLE.com,,,,,,,,\n")
    with pytest.raises(ImportValidationError) as caught:
        _import(store_url, path)
    text = str(caught.value)
    assert "nothing was written" in text
    assert "row 2 (line 3), column 'email': 'not-an-address' is not an email address" in text
    assert "row 3 (line 4), column 'timezone': 'Mars/Olympus' is not an IANA time zone" in text
    assert "row 3 (line 4), column 'subscribed'" in text
    assert "row 4 (line 5), column 'consent_source': subscribed is true but there is no consent source" in text
    assert "row 5 (line 6), column 'consented_at'" in text and "has no time zone" in text
    assert "row 6 (line 7), column 'email': OK@example.com is also on row 1" in text
    assert caught.value.total == 6
    assert _contacts(store_url) == []


def test_file_level_problems(store_url: str, tmp_path: Path) -> None:
    with pytest.raises(ImportValidationError, match="column 'phone': unknown column"):
        _import(store_url, _csv(tmp_path, "a@example.com,1\n", header="email,phone\n"))
    with pytest.raises(ImportValidationError, match="column 'email': the required column is missing"):
        _import(store_url, _csv(tmp_path, "Ana\n", header="first_name\n"))
    with pytest.raises(ImportValidationError, match="column 'attr_2x'"):
        _import(store_url, _csv(tmp_path, "a@example.com,x\n", header="email,attr_2x\n"))
    with pytest.raises(ImportValidationError, match="no contacts"):
        _import(store_url, _csv(tmp_path, "", header="email\n"))
    with pytest.raises(ImportValidationError, match="give a .csv or .parquet"):
        _import(store_url, tmp_path / "contacts.xlsx")
    with pytest.raises(ImportValidationError, match="no such file"):
        _import(store_url, tmp_path / "missing.csv")
    bad = tmp_path / "latin.csv"
    bad.write_bytes("email,first_name\na@example.com,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ImportValidationError, match="UTF-8"):
        _import(store_url, bad)


def test_reimport_upserts_case_insensitively_without_duplicates(store_url: str, tmp_path: Path) -> None:
    _import(store_url, _csv(tmp_path, "ana@example.com,Ana,,,,,,,silver\n"))
    again = _csv(tmp_path, "ANA@Example.com,Anna,Lopez,Europe/Paris,vip,true,phone call,2026-04-01T10:00:00Z,gold\n", name="again.csv")
    skipped = _import(store_url, again)
    assert (skipped.created, skipped.updated, skipped.unchanged) == (0, 0, 1)
    assert _contacts(store_url)[0].first_name == "Ana"
    updated = _import(store_url, again, update_existing=True)
    assert (updated.created, updated.updated, updated.consents) == (0, 1, 1)
    [ana] = _contacts(store_url)
    assert (ana.email, ana.first_name, ana.last_name, ana.timezone, ana.tags, ana.attributes, ana.subscribed) == (
        "ana@example.com", "Anna", "Lopez", "Europe/Paris", ["vip"], {"tier": "gold"}, True)
    # the same file once more: nothing differs, nothing written
    assert _import(store_url, again, update_existing=True).updated == 0
    # withdrawing consent through the file is recorded too
    _import(store_url, _csv(tmp_path, "ana@example.com,,,,,false,,,\n", name="off.csv", header="email,first_name,last_name,timezone,tags,subscribed,"
                                                                                                  "consent_source,consented_at,attr_tier\n"), update_existing=True)
    with session_scope(store_url) as s:
        assert [c.granted for c in consent_history(s, "acme", ana.id)] == [True, False]
    assert not _contacts(store_url)[0].subscribed


def test_suppressed_addresses_stay_suppressed_and_merchants_are_apart(store_url: str, tmp_path: Path) -> None:
    with session_scope(store_url) as s:
        add_suppression(s, "acme", "gone@example.com", "UNSUBSCRIBED", actor="test")
    result = _import(store_url, _csv(tmp_path, "Gone@Example.com,,,,,true,form,,\nnew@example.com,,,,,true,form,,\n"))
    assert result.kept_suppressed == 1 and result.consents == 1
    gone, new = _contacts(store_url)
    assert not gone.subscribed and new.subscribed
    assert _contacts(store_url, "globex") == []
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(ContactConsent).where(ContactConsent.contact_id == gone.id)) == 0


def test_parquet_with_typed_columns(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "contacts.parquet"
    pl.DataFrame({
        "email": ["ana@example.com", "bo@example.com"],
        "tags": [["vip", "a"], []],
        "subscribed": [True, False],
        "consent_source": ["form", None],
        "consented_at": [datetime(2026, 3, 1, 10, tzinfo=UTC), None],
        "attr_orders": [3, None],
    }).write_parquet(path)
    result = _import(store_url, path)
    assert (result.created, result.consents) == (2, 1)
    ana, bo = _contacts(store_url)
    assert ana.tags == ["vip", "a"] and ana.subscribed and ana.attributes == {"orders": "3"} and not bo.subscribed
    naive = tmp_path / "naive.parquet"
    pl.DataFrame({"email": ["c@example.com"], "consent_source": ["form"], "consented_at": [datetime(2026, 3, 1, 10)]}).write_parquet(naive)
    with pytest.raises(ImportValidationError, match="naive.parquet, row 1, column 'consented_at'.*no time zone"):
        _import(store_url, naive)


def test_progress_is_reported(store_url: str, tmp_path: Path) -> None:
    body = "".join(f"p{i}@example.com,,,,,,,,\n" for i in range(10_500))
    seen: list[tuple[str, int, int]] = []
    _import(store_url, _csv(tmp_path, body), progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert ("checking", 10_000, 10_500) in seen and seen[-1] == ("writing", 10_500, 10_500)
    assert len(_contacts(store_url)) == 10_500
