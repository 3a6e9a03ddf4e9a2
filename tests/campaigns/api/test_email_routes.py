"""/marketing/email: create, get with counts, change targeting (If-Match; refused once sending started), send (recipients snapshotted once, for the worker), templates; another merchant sees none."""

from __future__ import annotations

from campaigns.access.roles import Role
from campaigns.audiences.segments import save_segment
from campaigns.core.audit import entries
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


def _draft(api: Api) -> tuple[dict, int]:
    campaign = api.create()
    segment = _audience(api)
    created = api.client.post("/marketing/email/campaigns", json={"campaign_id": campaign["id"], "segment_id": segment, "subject": "Spring is here"},
                              headers=api.headers(Role.MARKETER))
    assert created.status_code == 201, created.text
    return created.json(), segment


def test_patch_changes_targeting_with_the_current_etag(api: Api) -> None:
    email, _ = _draft(api)
    url = f"/marketing/email/campaigns/{email['id']}"
    with session_scope(api.store_url) as s:
        other_segment = save_segment(s, "acme", "VIPs", {}, actor="test").id
        globex_segment = save_segment(s, "globex", "Theirs", {}, actor="test").id
    etag = api.client.get(url, headers=api.headers()).headers["etag"]
    assert api.client.patch(url, json={"segment_id": other_segment}, headers=api.headers(Role.MARKETER)).status_code == 428
    assert api.client.patch(url, json={"segment_id": other_segment}, headers=api.headers(Role.VIEWER, **{"If-Match": etag})).status_code == 403
    assert api.client.patch(url, json={"segment_id": other_segment}, headers=api.headers(None, **{"If-Match": etag})).status_code == 404
    changed = api.client.patch(url, json={"segment_id": other_segment, "send_window_hours": 12, "subject": " Spring is here: 20% off "},
                               headers=api.headers(Role.MARKETER, **{"If-Match": etag}))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["segment_id"], body["send_window_hours"], body["subject"], body["status"]) == (other_segment, 12, "Spring is here: 20% off", "DRAFT")
    assert changed.headers["etag"] != etag and api.client.get(url, headers=api.headers()).headers["etag"] == changed.headers["etag"]
    stale = api.client.patch(url, json={"send_window_hours": None}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))
    assert stale.status_code == 412 and "changed since you read it" in stale.json()["detail"]
    borrowed = api.client.patch(url, json={"segment_id": globex_segment}, headers=api.headers(Role.MARKETER, **{"If-Match": "*"}))
    assert borrowed.status_code == 422 and f"no segment {globex_segment}" in borrowed.json()["detail"]
    unknown = api.client.patch(url, json={"template_id": 3}, headers=api.headers(Role.MARKETER, **{"If-Match": "*"}))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "template_id"
    cleared = api.client.patch(url, json={"send_window_hours": None}, headers=api.headers(Role.MARKETER, **{"If-Match": changed.headers["etag"]}))
    assert cleared.status_code == 200 and cleared.json()["send_window_hours"] is None
    with session_scope(api.store_url) as s:
        updates = [e for e in entries(s, "acme") if e.action == "email.update"]
        assert len(updates) == 2 and updates[-1].actor == "api-key:marketer key"
    # the edited subject counts as approved by its editor, as the first version did: it can be sent
    assert api.client.post(f"{url}/send", headers=api.headers(Role.APPROVER)).status_code == 202


def test_patch_is_refused_once_sending_started(api: Api) -> None:
    email, _ = _draft(api)
    url = f"/marketing/email/campaigns/{email['id']}"
    assert api.client.post(f"{url}/send", headers=api.headers(Role.APPROVER)).status_code == 202
    etag = api.client.get(url, headers=api.headers()).headers["etag"]
    refused = api.client.patch(url, json={"subject": "Too late"}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert "SENDING" in refused.json()["detail"] and "create a new email campaign" in refused.json()["detail"]
    assert api.client.get(url, headers=api.headers()).json()["subject"] == "Spring is here"


def test_a_send_that_starts_between_read_and_write_wins(api: Api) -> None:
    """Service level: an edit that read a DRAFT writes nothing once a send moved it to SENDING (the write compares status and version)."""
    import pytest

    from campaigns.email.broadcasts import get_email_campaign, update_email_campaign
    from campaigns.email.errors import EmailCampaignLockedError
    from campaigns.email.recipients import prepare_send

    email, segment = _draft(api)
    with session_scope(api.store_url) as s:
        read = get_email_campaign(s, "acme", email["id"]).updated_at
    with session_scope(api.store_url) as s:
        prepare_send(s, "acme", email["id"], "test")
    with pytest.raises(EmailCampaignLockedError), session_scope(api.store_url) as s:
        update_email_campaign(s, "acme", email["id"], {"subject": "Late"}, actor="test", if_updated_at=read)


def test_update_refuses_unknown_fields_and_emails_of_an_ab_test(api: Api) -> None:
    import pytest

    from campaigns.email.broadcasts import get_email_campaign, update_email_campaign
    from campaigns.email.errors import EmailDeliveryError

    email, _ = _draft(api)
    with pytest.raises(EmailDeliveryError, match="cannot change template_id"), session_scope(api.store_url) as s:
        update_email_campaign(s, "acme", email["id"], {"template_id": 1}, actor="test")
    with session_scope(api.store_url) as s:
        get_email_campaign(s, "acme", email["id"]).kind = "ab_variant"
    refused = api.client.patch(f"/marketing/email/campaigns/{email['id']}", json={"subject": "B"}, headers=api.headers(**{"If-Match": "*"}))
    assert refused.status_code == 422 and "A/B test" in refused.json()["detail"]


def test_two_patches_with_one_etag_one_wins_one_gets_412(api: Api, monkeypatch) -> None:
    """Both requests read the email (route and service) before either writes; the compare-and-set tells them apart."""
    import threading

    from campaigns.email import broadcasts

    email, _ = _draft(api)
    url = f"/marketing/email/campaigns/{email['id']}"
    etag = api.client.get(url, headers=api.headers()).headers["etag"]
    both_read = threading.Barrier(2, timeout=20)
    reads = threading.local()
    real_get = broadcasts.get_email_campaign

    def get_then_wait(*args, **kwargs):  # noqa: ANN002, ANN003
        found = real_get(*args, **kwargs)
        reads.n = getattr(reads, "n", 0) + 1
        if reads.n <= 3:  # the route's two reads and the service's one: all before any write
            both_read.wait()
        return found

    monkeypatch.setattr(broadcasts, "get_email_campaign", get_then_wait)
    results: dict[int, object] = {}

    def patch(hours: int) -> None:
        results[hours] = api.client.patch(url, json={"send_window_hours": hours}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))

    threads = [threading.Thread(target=patch, args=(h,)) for h in (6, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    monkeypatch.setattr(broadcasts, "get_email_campaign", real_get)
    assert sorted(r.status_code for r in results.values()) == [200, 412], [r.text for r in results.values()]
    winner = next(h for h, r in results.items() if r.status_code == 200)
    assert api.client.get(url, headers=api.headers()).json()["send_window_hours"] == winner
    with session_scope(api.store_url) as s:
        assert len([e for e in entries(s, "acme") if e.action == "email.update"]) == 1
