"""A/B tests on SQLite and PostgreSQL: disjoint cells, a decision from real events, the winner sent once to the rest only."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import comb, factorial

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from campaigns.email import ab_tests
from campaigns.lifecycle import service as campaign_service
from campaigns.email import delivery, recipients
from campaigns.core.audit import entries
from campaigns.audiences.segments import save_segment
from campaigns.audiences.suppression import add_suppression
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AbTest, AbTestAssignment, Contact, ContactEvent, EmailCampaign, EmailSend
from publishers.sandbox import read_outbox

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = Fernet.generate_key().decode()


def _seed(url: str, n: int = 40) -> tuple[str, int]:
    with session_scope(url) as s:
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com", first_name=f"P{i}") for i in range(n)])
        s.add(Contact(merchant_id="acme", email="gone@example.com", subscribed=False))
        s.add(Contact(merchant_id="acme", email="blocked@example.com"))
        add_suppression(s, "acme", "blocked@example.com", "MANUAL", actor="ana")
        s.add(Contact(merchant_id="globex", email="other@example.com"))
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return campaign.id, segment.id


def _spec(campaign_id: str, segment_id: int, **overrides) -> dict:
    spec = {"name": "Subject test", "campaign_id": campaign_id, "segment_id": segment_id, "variable": "subject",
            "variants": [{"subject": "Winter is here"}, {"subject": "Save 20% on jackets"}, {"subject": "Last chance"}],
            "cell_size": 8, "metric": "open", "min_hours": 4}
    return spec | overrides


def _create(url: str, **overrides) -> int:
    campaign_id, segment_id = _seed(url)
    with session_scope(url) as s:
        return ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, **overrides), actor="ana", now=T0).id


def _settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", token_key=KEY)


def _outbox(settings: Settings) -> list[str]:
    return [r["email"] for entry in read_outbox(settings.home_path / "outbox" / "email.jsonl") for r in entry["recipients"]]


def test_cells_are_disjoint_seeded_and_only_emailable_contacts(store_url: str) -> None:
    test_id = _create(store_url)
    with session_scope(store_url) as s:
        rows = s.execute(select(AbTestAssignment.contact_id, AbTestAssignment.position, Contact.email)
                         .join(Contact, Contact.id == AbTestAssignment.contact_id).where(AbTestAssignment.ab_test_id == test_id)).all()
        ids = list(s.scalars(select(Contact.id).where(Contact.merchant_id == "acme", Contact.email.like("p%")).order_by(Contact.id)))
    assert len(rows) == 40 and len({r.contact_id for r in rows}) == 40  # every emailable contact once
    assert not {"gone@example.com", "blocked@example.com", "other@example.com"} & {r.email for r in rows}
    assert Counter(r.position for r in rows) == {0: 8, 1: 8, 2: 8, None: 16}
    # independent recomputation of the seeded order: sha256("ab-test:<test>:<contact>")
    order = sorted(ids, key=lambda cid: hashlib.sha256(f"ab-test:{test_id}:{cid}".encode()).hexdigest())
    expected = {cid: (i // 8 if i < 24 else None) for i, cid in enumerate(order)}
    assert {r.contact_id: r.position for r in rows} == expected

    with session_scope(store_url) as s:
        ab_tests.start_ab_test(s, "acme", test_id, "ana", now=T0)
        ab_tests.start_ab_test(s, "acme", test_id, "ana", now=T0)  # a second start adds nothing
        test = ab_tests.get_test(s, "acme", test_id)
        cells = {v.position: set(s.scalars(select(EmailSend.contact_id).where(EmailSend.email_campaign_id == v.email_campaign_id)))
                 for v in ab_tests.variants_of(s, test)}
        kinds = set(s.scalars(select(EmailCampaign.kind).where(EmailCampaign.ab_test_id == test_id)))
    assert test.status == "TESTING" and kinds == {"ab_variant"}
    assert all(cells[p] == {c for c, pos in expected.items() if pos == p} for p in range(3))
    assert not (cells[0] & cells[1]) and not (cells[1] & cells[2]) and not (cells[0] & cells[2])


def test_invalid_tests_name_the_field(store_url: str) -> None:
    campaign_id, segment_id = _seed(store_url)
    with session_scope(store_url) as s:
        with pytest.raises(ab_tests.AbTestError, match="lower the cell size to at most 13"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, cell_size=20), actor="ana")
        with pytest.raises(ab_tests.AbTestError, match="subjects must all differ"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, variants=[{"subject": "x"}, {"subject": "x"}]), actor="ana")
        with pytest.raises(ab_tests.AbTestError, match="variants: List should have at most 8"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, variants=[{"subject": str(i)} for i in range(9)]), actor="ana")
        with pytest.raises(ab_tests.AbTestError, match="metric: Value error, must be one of"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, metric="likes"), actor="ana")
        with pytest.raises(ab_tests.AbTestError, match="min_hours >= 24"):
            ab_tests.create_ab_test(s, "acme", _spec(campaign_id, segment_id, variable="send_time", subject="Hi",
                                                     variants=[{"send_hour": 9}, {"send_hour": 18}]), actor="ana")


def _beta_fn(p: int, q: int) -> Fraction:
    return Fraction(factorial(p - 1) * factorial(q - 1), factorial(p + q - 1))


def _exact(a: tuple[int, int], b: tuple[int, int]) -> float:
    (aa, ba), (ab, bb) = a, b
    n = aa + ba - 1
    return float(sum(comb(n, j) * _beta_fn(ab + j, bb + n - j) / _beta_fn(ab, bb) for j in range(aa, n + 1)))


def _opens(url: str, test_id: int, per_cell: dict[int, int], at: datetime) -> None:
    """`per_cell[position]` recipients of that cell open it (twice, to check contacts count once), plus a stray open of another campaign."""
    with session_scope(url) as s:
        test = ab_tests.get_test(s, "acme", test_id)
        for v in ab_tests.variants_of(s, test):
            sent = list(s.scalars(select(EmailSend.contact_id).where(EmailSend.email_campaign_id == v.email_campaign_id).order_by(EmailSend.contact_id)))
            for cid in sent[: per_cell.get(v.position, 0)]:
                for k in range(2):
                    s.add(ContactEvent(merchant_id="acme", contact_id=cid, kind="opened", occurred_at=at, email_campaign_id=v.email_campaign_id,
                                       event_key=f"o-{v.email_campaign_id}-{cid}-{k}"))
            s.add(ContactEvent(merchant_id="acme", contact_id=sent[-1], kind="opened", occurred_at=at, email_campaign_id=None, event_key=f"x-{v.position}"))


def test_decide_then_send_the_winner_once_to_the_remainder_only(store_url: str, tmp_path, monkeypatch) -> None:
    settings = _settings(tmp_path)
    test_id = _create(store_url)
    with session_scope(store_url) as s:
        ab_tests.start_ab_test(s, "acme", test_id, "ana", now=T0)
    ab_tests.deliver_cells(store_url, settings, "acme", test_id, "w1", T0)
    assert len(_outbox(settings)) == 24
    _opens(store_url, test_id, {0: 1, 1: 7, 2: 2}, T0 + timedelta(hours=1))

    with session_scope(store_url) as s:
        early = ab_tests.decide(s, "acme", test_id, "dagster", now=T0 + timedelta(hours=3))
        assert early.outcome == "wait" and "minimum wait of 4 h" in early.reason
        decision = ab_tests.decide(s, "acme", test_id, "dagster", now=T0 + timedelta(hours=5))
    # hand-computed posteriors: A 1/8 -> Beta(2, 8), B 7/8 -> Beta(8, 2), C 2/8 -> Beta(3, 7)
    assert decision.outcome == "winner" and decision.winner_position == 1
    a, b, c = decision.variants
    assert (a.successes, b.successes, c.successes, a.n) == (1, 7, 2, 8)
    assert b.p_beat_control == pytest.approx(_exact((2, 8), (8, 2)), abs=1e-12)
    assert c.p_beat_control == pytest.approx(_exact((2, 8), (3, 7)), abs=1e-12)
    assert b.posterior_mean == pytest.approx(0.8)
    with session_scope(store_url) as s:
        test = ab_tests.get_test(s, "acme", test_id)
        assert test.status == "DECIDED" and test.winner_position == 1
        assert test.decision["result"]["variants"][1]["p_beat_control"] == pytest.approx(b.p_beat_control)
        assert ab_tests.decide(s, "acme", test_id, "again", now=T0 + timedelta(hours=9)).winner_position == 1  # stored, not re-decided
        assert [e.action for e in entries(s, "acme", str(test_id))].count("ab.decide") == 1
        remainder_ids = set(s.scalars(select(Contact.email).join(AbTestAssignment, AbTestAssignment.contact_id == Contact.id)
                                      .where(AbTestAssignment.ab_test_id == test_id, AbTestAssignment.position.is_(None))))

    # crash 1: inside the preparing transaction -> rolled back, no remainder campaign
    real_prepare = recipients.prepare_send

    def boom_prepare(*args, **kwargs):
        real_prepare(*args, **kwargs)
        raise RuntimeError("crash while preparing")

    monkeypatch.setattr(recipients, "prepare_send", boom_prepare)
    with pytest.raises(RuntimeError):
        ab_tests.send_winner(store_url, settings, "acme", test_id, "w2", T0 + timedelta(hours=6))
    monkeypatch.setattr(recipients, "prepare_send", real_prepare)
    with session_scope(store_url) as s:
        assert ab_tests.get_test(s, "acme", test_id).remainder_email_campaign_id is None
        assert s.scalar(select(func.count()).select_from(EmailCampaign).where(EmailCampaign.kind == "ab_remainder")) == 0

    # crash 2: after the remainder was prepared and committed, before delivery
    real_deliver = delivery.deliver
    monkeypatch.setattr(delivery, "deliver", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash before delivering")))
    with pytest.raises(RuntimeError):
        ab_tests.send_winner(store_url, settings, "acme", test_id, "w2", T0 + timedelta(hours=6))
    monkeypatch.setattr(delivery, "deliver", real_deliver)

    first = ab_tests.send_winner(store_url, settings, "acme", test_id, "w3", T0 + timedelta(hours=7))
    second = ab_tests.send_winner(store_url, settings, "acme", test_id, "w4", T0 + timedelta(hours=8))
    assert first.status == second.status == "WINNER_SENT" and first.email_campaign_id == second.email_campaign_id
    assert first.report.outcomes == {"SENT": 16} and second.report.outcomes == {}
    sent = _outbox(settings)
    assert len(sent) == 40 and len(set(sent)) == 40  # every audience contact exactly once: 24 in cells, 16 remainder
    assert set(sent[24:]) == remainder_ids
    with session_scope(store_url) as s:
        remainder = s.get(EmailCampaign, first.email_campaign_id)
        assert remainder.kind == "ab_remainder" and remainder.subject == "Save 20% on jackets"
        assert s.scalar(select(func.count()).select_from(EmailCampaign).where(EmailCampaign.kind == "ab_remainder")) == 1
        assert s.get(AbTest, test_id).remainder_email_campaign_id == remainder.id


def test_revenue_and_report(store_url: str, tmp_path) -> None:
    settings = _settings(tmp_path)
    test_id = _create(store_url, metric="revenue", variants=[{"subject": "A"}, {"subject": "B"}], cell_size=5)
    with session_scope(store_url) as s:
        ab_tests.start_ab_test(s, "acme", test_id, "ana", now=T0)
    ab_tests.deliver_cells(store_url, settings, "acme", test_id, "w1", T0)
    with session_scope(store_url) as s:
        for v in ab_tests.variants_of(s, ab_tests.get_test(s, "acme", test_id)):
            buyer = s.scalar(select(EmailSend.contact_id).where(EmailSend.email_campaign_id == v.email_campaign_id).order_by(EmailSend.contact_id))
            for k, value in enumerate((10, 30) if v.position == 1 else (10,)):  # B's buyer spends 40 in two purchases
                s.add(ContactEvent(merchant_id="acme", contact_id=buyer, kind="purchased", occurred_at=T0, email_campaign_id=v.email_campaign_id,
                                   value=value, event_key=f"buy-{v.position}-{k}"))
    with session_scope(store_url) as s:
        rep = ab_tests.report(s, "acme", test_id, now=T0 + timedelta(hours=1))
    a, b = rep.decision.variants
    # A: five recipients, revenue (10, 0, 0, 0, 0) -> mean 2; B: (40, 0, 0, 0, 0) -> mean 8
    assert (a.estimate, b.estimate, a.successes, b.successes) == (2.0, 8.0, 1, 1)
    assert not rep.decided and rep.decision.outcome == "wait" and "minimum wait" in rep.decision.reason
    assert "normal approximation" in rep.rule and rep.remainder_size == 30
    assert rep.to_json()["decision"]["variants"][1]["estimate"] == 8.0


def test_launch_creates_and_starts_in_one_go_or_not_at_all(store_url: str) -> None:
    campaign_id, segment_id = _seed(store_url)
    with session_scope(store_url) as s:
        test = ab_tests.launch_ab_test(s, "acme", _spec(campaign_id, segment_id), actor="ana", now=T0)
        assert test.status == "TESTING"
        assert {e.action for e in entries(s, "acme")} >= {"ab.create", "ab.start"}
    with pytest.raises(ab_tests.AbTestError, match="lower the cell size"):
        with session_scope(store_url) as s:
            ab_tests.launch_ab_test(s, "acme", _spec(campaign_id, segment_id, name="Too big", cell_size=20), actor="ana", now=T0)
    with session_scope(store_url) as s:
        assert [t.name for t in ab_tests.list_tests(s, "acme")] == ["Subject test"]
