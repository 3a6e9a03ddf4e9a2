"""Send-time optimisation in prepare_send, on SQLite and PostgreSQL: each contact's best local hour, hand-worked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.email import ab_tests
from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, delivery, recipients
from campaigns.email import send_times
from campaigns.audiences.segments import save_segment
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, ContactEvent, EmailSend

NOW = datetime(2026, 11, 24, 6, 20, tzinfo=UTC)  # Paris UTC+1, New York UTC-5, Tokyo UTC+9 (no DST changes near this date)


def _seed(url: str) -> tuple[str, int, dict[str, int]]:
    """ana (Paris) opens at 20h local x4; ben (New York) clicks at 7h local x3; cat (Tokyo) has no history; dan (UTC) opened at 9h once."""
    with session_scope(url) as s:
        people = {"ana": "Europe/Paris", "ben": "America/New_York", "cat": "Asia/Tokyo", "dan": "UTC"}
        contacts = {name: Contact(merchant_id="acme", email=f"{name}@example.com", first_name=name, timezone=tz) for name, tz in people.items()}
        s.add_all(contacts.values())
        s.flush()
        events = [("ana", "opened", datetime(2026, 11, d, 19, 5, tzinfo=UTC)) for d in (1, 2, 3, 4)]  # 19h UTC = 20h Paris
        events += [("ben", "clicked", datetime(2026, 11, d, 12, 40, tzinfo=UTC)) for d in (5, 6, 7)]  # 12h UTC = 7h New York
        events += [("dan", "opened", datetime(2026, 11, 8, 9, 0, tzinfo=UTC)), ("dan", "purchased", datetime(2026, 11, 8, 3, 0, tzinfo=UTC))]
        events += [("ana", "opened", datetime(2024, 1, 1, 3, 0, tzinfo=UTC))]  # older than a year: ignored
        for k, (name, kind, at) in enumerate(events):
            s.add(ContactEvent(merchant_id="acme", contact_id=contacts[name].id, kind=kind, occurred_at=at, event_key=f"e{k}"))
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return campaign.id, segment.id, {n: c.id for n, c in contacts.items()}


def test_prepare_send_schedules_each_contact_at_their_shrunk_best_hour(store_url: str) -> None:
    campaign_id, segment_id, ids = _seed(store_url)
    with session_scope(store_url) as s:
        scores, prior = send_times.hour_scores(s, "acme", [(ids["ana"], "Europe/Paris"), (ids["ben"], "America/New_York"),
                                                          (ids["cat"], "Asia/Tokyo"), (ids["dan"], "UTC")], NOW)
    # segment prior by hand: local hours 20 x4, 7 x3, 9 x1 (purchases and old events excluded), add-one over 24 hours -> /32
    assert prior[20] == pytest.approx(5 / 32) and prior[7] == pytest.approx(4 / 32) and prior[9] == pytest.approx(2 / 32)
    # dan, one open at 9h, k = 8: 9h -> (1 + 8*2/32)/9 = 1.5/9; 20h -> (8*5/32)/9 = 1.25/9: his own hour wins
    assert scores[ids["dan"]][9] == pytest.approx(1.5 / 9) and scores[ids["dan"]][20] == pytest.approx(1.25 / 9)

    with session_scope(store_url) as s:
        ec = broadcasts.create_email_campaign(s, "acme", campaign_id=campaign_id, segment_id=segment_id, subject="Hi", actor="ana")
        ec.send_window_hours = 24
        s.flush()
        recipients.prepare_send(s, "acme", ec.id, "ana", now=NOW, provider="sandbox")
        due = {r.contact_id: r.next_attempt_at for r in s.scalars(select(EmailSend).where(EmailSend.email_campaign_id == ec.id))}
    due = {cid: (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)) for cid, at in due.items()}
    assert due[ids["ana"]] == datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # 20h Paris
    assert due[ids["ben"]] == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 7h New York
    assert due[ids["cat"]] == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # no history: the segment's best hour, 20h Tokyo
    assert due[ids["dan"]] == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 9h UTC

    # nothing is claimed before its hour: a delivery run at 10:00 UTC sends dan only
    from campaigns.core.settings import Settings
    from cryptography.fernet import Fernet

    settings = Settings(token_key=Fernet.generate_key().decode())
    report = delivery.deliver(store_url, settings, ec.id, "w1", NOW.replace(hour=10, minute=0), provider="sandbox")
    assert report.outcomes == {"SENT": 1} and report.campaign_status == "SENDING"


def test_send_time_variants_go_at_their_local_hour(store_url: str) -> None:
    campaign_id, segment_id, ids = _seed(store_url)
    with session_scope(store_url) as s:
        test = ab_tests.create_ab_test(s, "acme", {
            "name": "When", "campaign_id": campaign_id, "segment_id": segment_id, "variable": "send_time", "subject": "Hi",
            "variants": [{"send_hour": 8}, {"send_hour": 18}], "cell_size": 2, "min_hours": 24}, actor="ana", now=NOW)
        ab_tests.start_ab_test(s, "acme", test.id, "ana", now=NOW, provider="sandbox")
        rows = s.execute(select(EmailSend.contact_id, EmailSend.next_attempt_at, EmailSend.email_campaign_id)).all()
        hours = {v.email_campaign_id: v.send_hour for v in ab_tests.variants_of(s, test)}
        zones = dict(s.execute(select(Contact.id, Contact.timezone)).all())
        started = datetime.fromisoformat(ab_tests.get_test(s, "acme", test.id).decision["started_at"])
    assert len(rows) == 4
    for contact_id, at, ec_id in rows:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        from zoneinfo import ZoneInfo

        local = at.astimezone(ZoneInfo(zones[contact_id]))
        assert (local.hour, local.minute) == (hours[ec_id], 0) and NOW <= at < NOW + timedelta(hours=24)
    assert started == max(r[1].replace(tzinfo=UTC) if r[1].tzinfo is None else r[1] for r in rows)  # the clock starts when the last cell is due
