"""`campaigns segments preview|save|list` and `campaigns contacts import-events`; bad input exits 2 naming the path."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from campaigns.cli.contact_commands import contacts_app
from campaigns.cli.segment_commands import segments_app
from campaigns.audiences.events import record_event
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact, ContactEvent, Segment
from campaigns.core.store.types import utcnow

# registered by the main app as `campaigns segments` / `campaigns contacts`; a local app keeps this test independent
app = typer.Typer()
app.add_typer(segments_app, name="segments")
app.add_typer(contacts_app, name="contacts")
runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "postgres":
        monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    now = utcnow()
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        ensure_merchant(s, "globex", name="Globex")
        people = [Contact(merchant_id="acme", email="ana@example.com", first_name="Ana", tags=["customer"]),
                  Contact(merchant_id="acme", email="ben@example.com", first_name="Ben"),
                  Contact(merchant_id="acme", email="cat@example.com", first_name="Cat", subscribed=False),
                  Contact(merchant_id="globex", email="gus@example.com", first_name="Gus")]
        s.add_all(people)
        s.flush()
        ana, ben, cat, gus = people
        record_event(s, "acme", ana.id, "opened", now - timedelta(days=2))
        record_event(s, "acme", cat.id, "opened", now - timedelta(days=3))
        record_event(s, "acme", ben.id, "opened", now - timedelta(days=60))
        record_event(s, "acme", ana.id, "purchased", now - timedelta(days=1), value=80)
        record_event(s, "globex", gus.id, "opened", now - timedelta(days=1))
    return url


def _rules(tmp_path: Path, rules, name: str = "rules.json") -> str:
    path = tmp_path / name
    path.write_text(rules if isinstance(rules, str) else json.dumps(rules), encoding="utf-8")
    return str(path)


def test_preview_counts_describes_and_samples(store: str, tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"all": [{"event": "opened", "op": "within_days", "days": 7}]})
    out = _run("segments", "preview", "--rules", rules, "--merchant", "acme")
    assert "Who: opened an email in the last 7 days" in out
    assert "2 contacts of acme match (1 subscribed to email)" in out
    assert "ana@example.com" in out and "cat@example.com" in out and "ben@example.com" not in out and "gus@" not in out
    assert "lost (111)" in out and "ben" not in out  # ana, the only buyer: rank 1 of 1 everywhere, so R1 F1 M1


def test_preview_sample_size_and_rfm(store: str, tmp_path: Path) -> None:
    out = _run("segments", "preview", "--rules", _rules(tmp_path, {"all": [{"rfm": "lost"}]}), "--merchant", "acme", "--sample", "1")
    # a single buyer has rank 1 of 1 on every metric: scores 1, 1, 1, the "lost" bucket
    assert "1 contacts of acme match" in out and "ana@example.com" in out and "lost (111)" in out
    out = _run("segments", "preview", "--rules", _rules(tmp_path, {}), "--merchant", "acme", "--sample", "1")
    assert "3 contacts of acme match" in out and "ana@example.com" in out and "ben@example.com" not in out


@pytest.mark.parametrize(("content", "words"), [
    ({"all": [{"event": "opened", "op": "within_days"}]}, "rules.json: rules.all[0].days: is missing"),
    ({"any": [{"field": "tags", "op": "contains", "value": "x"}, {"rfm": "vips"}]}, "rules.json: rules.any[1].rfm: unknown RFM bucket 'vips'"),
    ('{"all": [', "rules.json: not valid JSON"),
    ([1], "rules.json: rules: must be an object"),
])
def test_bad_rules_exit_2_naming_the_path(store: str, tmp_path: Path, content, words: str) -> None:
    result = runner.invoke(app, ["segments", "preview", "--rules", _rules(tmp_path, content), "--merchant", "acme"])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split()), result.output


def test_missing_file_and_unknown_merchant_exit_2(store: str, tmp_path: Path) -> None:
    assert "file not found" in _run("segments", "preview", "--rules", str(tmp_path / "nope.json"), code=2)
    assert "unknown merchant 'nobody'" in _run("segments", "preview", "--rules", _rules(tmp_path, {}), "--merchant", "nobody", code=2)


def test_save_then_list(store: str, tmp_path: Path) -> None:
    rules = {"all": [{"event": "opened", "op": "within_days", "days": 7}, {"field": "subscribed", "op": "eq", "value": True}]}
    out = _run("segments", "save", "--name", "Fresh openers", "--rules", _rules(tmp_path, rules), "--merchant", "acme")
    assert "saved segment" in out and "(1 contacts now)" in out
    _run("segments", "save", "--name", "Fresh openers", "--rules", _rules(tmp_path, {"all": [{"rfm": "lost"}]}), "--merchant", "acme")
    with session_scope(store) as s:
        saved = s.scalars(select(Segment).where(Segment.merchant_id == "acme")).all()
        assert [(g.name, g.rules) for g in saved] == [("Fresh openers", {"all": [{"rfm": "lost"}]})]
    listed = _run("segments", "list", "--merchant", "acme")
    assert "Fresh openers" in listed and "RFM bucket Lost" in listed
    assert "no segments yet" in _run("segments", "list", "--merchant", "globex")
    assert "name: give the segment a name" in _run("segments", "save", "--name", " ", "--rules", _rules(tmp_path, {}), "--merchant", "acme", code=2)


def test_import_events_twice_and_a_bad_file(store: str, tmp_path: Path) -> None:
    good = tmp_path / "events.csv"
    good.write_text("email,kind,occurred_at,value,event_key\nben@example.com,purchased,2026-01-05T10:00:00+01:00,25.50,o-1\n"
                    "BEN@example.com,clicked,2026-01-05T09:55:00Z,,\n", encoding="utf-8")
    assert "2 rows, 2 new events for acme, 0 already imported" in _run("contacts", "import-events", str(good), "--merchant", "acme")
    assert "2 rows, 0 new events for acme, 2 already imported" in _run("contacts", "import-events", str(good), "--merchant", "acme")
    bad = tmp_path / "bad.csv"
    bad.write_text("email,kind,occurred_at\nben@example.com,opened,2026-01-05T10:00:00Z\nzed@example.com,opened,2026-01-05\n", encoding="utf-8")
    out = " ".join(_run("contacts", "import-events", str(bad), "--merchant", "acme", code=2).split())
    assert "bad.csv, row 2 (line 3), column 'email': 'zed@example.com' is not a contact" in out
    assert "row 2 (line 3), column 'occurred_at'" in out and "nothing was written" in out
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(ContactEvent).where(ContactEvent.merchant_id == "acme")) == 6
