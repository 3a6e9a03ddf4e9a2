"""/marketing/email: create, get with counts, send (recipients snapshotted once, for the worker), templates; another merchant sees none."""

from __future__ import annotations

from campaigns.access.roles import Role
from campaigns.audiences.segments import save_segment
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, EmailSend
from campaigns.email.templates import install_starters
from tests.campaigns.api.conftest import Api


def _audience(api: Api, merchant: str = "acme") -> int:
    with session_scope(api.store_url) as s:
        s.add_all([Contact(merchant_id=merchant, email=f"{n}@example.com", first_name=n) for n in ("ana", "bo")])
        return save_segment(s, merchant, "Everyone", {}, actor="test").id


def test_create_get_send_once(api: Api) -> None:
    campaign = api.create()
    segment = _audience(api)
    body = {"campaign_id": campaign["id"], "segment_id": segment, "subject": "Spring is here"}
    created = api.client.post("/marketing/email/campaigns", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "e1"}))
    assert created.status_code == 201, created.text
    email = created.json()
    assert email["status"] == "DRAFT" and email["counts"]["total"] == 0
    assert api.client.post("/marketing/email/campaigns", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "e1"})).json() == email
    assert api.client.post(f"/marketing/email/campaigns/{email['id']}/send", headers=api.headers(Role.MARKETER)).status_code == 403
    sent = [api.client.post(f"/marketing/email/campaigns/{email['id']}/send", headers=api.headers(Role.APPROVER)) for _ in range(2)]
    assert [s.status_code for s in sent] == [202, 202]
    assert sent[0].json()["status"] == "SENDING" and sent[0].json()["counts"]["pending"] == 2 and sent[1].json()["counts"]["total"] == 2
    with session_scope(api.store_url) as s:
        assert s.query(EmailSend).count() == 2  # sending twice snapshots once
    assert api.client.get(f"/marketing/email/campaigns/{email['id']}", headers=api.headers(Role.VIEWER)).json()["status"] == "SENDING"
    assert api.client.get(f"/marketing/email/campaigns/{email['id']}", headers=api.headers(None)).status_code == 404
    assert api.client.post(f"/marketing/email/campaigns/{email['id']}/send", headers=api.headers(None)).status_code == 404


def test_create_refuses_another_merchants_campaign_and_unknown_segments(api: Api) -> None:
    campaign = api.create()
    segment = _audience(api)
    foreign = api.client.post("/marketing/email/campaigns", json={"campaign_id": campaign["id"], "segment_id": segment, "subject": "x"},
                              headers=api.headers(None))
    assert foreign.status_code == 404
    unknown = api.client.post("/marketing/email/campaigns", json={"campaign_id": campaign["id"], "segment_id": 999, "subject": "x"},
                              headers=api.headers())
    assert unknown.status_code == 422 and "no segment 999" in unknown.json()["detail"]


def test_templates_are_the_merchants_own(api: Api) -> None:
    with session_scope(api.store_url) as s:
        names = sorted(t.name for t in install_starters(s, "acme"))
    listed = api.client.get("/marketing/email/templates", headers=api.headers(Role.VIEWER)).json()
    assert sorted(t["name"] for t in listed) == names and names
    assert api.client.get("/marketing/email/templates", headers=api.headers(None)).json() == []
