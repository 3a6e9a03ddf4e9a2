"""/marketing/contacts: create with consent, list with search and cursor, get, update, delete, erase (owners only);
suppressed addresses stay unsubscribed, erased people stay out, another merchant sees none of acme's contacts."""

from __future__ import annotations

from campaigns.access.roles import Role
from campaigns.audiences.contacts import consent_history
from campaigns.audiences.suppression import add_suppression
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, SuppressionReason
from tests.campaigns.api.conftest import Api

PROBLEM = "application/problem+json"
ANA = {"email": "Ana.Lopez@Example.COM", "first_name": "Ana", "timezone": "Europe/Madrid", "tags": ["vip"], "subscribed": True,
       "consent_source": "checkout opt-in", "consented_at": "2026-11-02T10:15:00Z", "attributes": {"loyalty_tier": "gold"}}


def _create(api: Api, body: dict, role: Role = Role.MARKETER, **headers: str) -> dict:
    response = api.client.post("/marketing/contacts", json=body, headers=api.headers(role, **headers))
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_update_delete(api: Api) -> None:
    ana = _create(api, ANA, **{"Idempotency-Key": "ana-1"})
    assert ana["email"] == "Ana.Lopez@example.com" and ana["subscribed"] is True and ana["status"] == "active"
    assert api.client.post("/marketing/contacts", json=ANA, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "ana-1"})).json() == ana
    with session_scope(api.store_url) as s:
        (consent,) = consent_history(s, "acme", ana["id"])
        assert consent.source == "checkout opt-in" and consent.occurred_at.isoformat().startswith("2026-11-02T10:15")
        assert consent.recorded_by == "api-key:marketer key"
    again = api.client.post("/marketing/contacts", json={**ANA, "email": "ana.lopez@EXAMPLE.com"}, headers=api.headers())
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM and "edit it instead" in again.json()["detail"]
    url = f"/marketing/contacts/{ana['id']}"
    assert api.client.get(url, headers=api.headers(Role.VIEWER)).json() == ana
    changed = api.client.patch(url, json={"tags": ["vip", "trail-runner"], "attributes": {"loyalty_tier": None, "size": "M"}, "last_name": "López"},
                               headers=api.headers(Role.MARKETER))
    assert changed.status_code == 200, changed.text
    assert changed.json()["tags"] == ["vip", "trail-runner"] and changed.json()["attributes"] == {"size": "M"} and changed.json()["last_name"] == "López"
    withdrawn = api.client.patch(url, json={"subscribed": False, "consent_source": "phone call"}, headers=api.headers(Role.MARKETER))
    assert withdrawn.json()["subscribed"] is False
    resubscribe = api.client.patch(url, json={"subscribed": True}, headers=api.headers(Role.MARKETER))
    assert resubscribe.status_code == 422 and "consent" in resubscribe.json()["detail"]
    assert api.client.delete(url, headers=api.headers(Role.VIEWER)).status_code == 403
    assert api.client.delete(url, headers=api.headers(Role.MARKETER)).status_code == 204
    assert api.client.get(url, headers=api.headers()).status_code == 404
    with session_scope(api.store_url) as s:
        actions = [e.action for e in entries(s, "acme") if e.entity_type == "contact"]
    assert {"contact.create", "contact.consent", "contact.update", "contact.consent_withdrawn", "contact.delete"} <= set(actions)


def test_bad_input_names_the_field(api: Api) -> None:
    no_consent = api.client.post("/marketing/contacts", json={"email": "bo@example.com", "subscribed": True}, headers=api.headers())
    assert no_consent.status_code == 422 and "consent_source" in no_consent.json()["detail"]
    naive = api.client.post("/marketing/contacts", json={**ANA, "consented_at": "2026-11-02T10:15:00"}, headers=api.headers())
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "consented_at"
    not_an_address = api.client.post("/marketing/contacts", json={"email": "ana at example"}, headers=api.headers())
    assert not_an_address.status_code == 422 and "not an email address" in not_an_address.json()["detail"]
    zone = api.client.post("/marketing/contacts", json={"email": "bo@example.com", "timezone": "Mars/Olympus"}, headers=api.headers())
    assert zone.status_code == 422 and "IANA" in zone.json()["detail"]
    field = api.client.post("/marketing/contacts", json={"email": "bo@example.com", "attributes": {"Loyalty Tier": "x"}}, headers=api.headers())
    assert field.status_code == 422 and "custom field" in field.json()["detail"]
    assert api.client.post("/marketing/contacts", json={"email": "bo@example.com"}, headers=api.headers(Role.VIEWER)).status_code == 403
    assert api.client.get("/marketing/contacts", params={"cursor": "nonsense"}, headers=api.headers()).status_code == 422
    with session_scope(api.store_url) as s:
        assert s.query(Contact).count() == 0  # nothing was written by any of these


def test_a_suppressed_address_is_created_unsubscribed(api: Api) -> None:
    with session_scope(api.store_url) as s:
        add_suppression(s, "acme", "bounced@example.com", SuppressionReason.BOUNCED, actor="test")
    created = _create(api, {"email": "bounced@example.com", "subscribed": True, "consent_source": "form"})
    assert created["subscribed"] is False
    with session_scope(api.store_url) as s:
        assert consent_history(s, "acme", created["id"]) == []
    globex = api.client.post("/marketing/contacts", json={"email": "bounced@example.com", "subscribed": True, "consent_source": "form"},
                             headers=api.headers(None))
    assert globex.status_code == 201 and globex.json()["subscribed"] is True  # acme's suppression list is acme's


def test_list_searches_and_pages_with_a_cursor(api: Api) -> None:
    made = [_create(api, {"email": f"runner{n:02d}@example.com", "tags": ["trail"] if n % 2 else []}) for n in range(7)]
    _create(api, {"email": "walker@example.com", "first_name": "Trail"})
    api.client.post("/marketing/contacts", json={"email": "globex-runner@example.com", "tags": ["trail"]}, headers=api.headers(None))
    seen: list[int] = []
    cursor = None
    while True:
        page = api.client.get("/marketing/contacts", params={"search": "TRAIL", "limit": 2, **({"cursor": cursor} if cursor else {})},
                              headers=api.headers(Role.VIEWER)).json()
        assert page["total"] == 4
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 4
    assert set(seen) == {c["id"] for c in made if c["tags"]} | {max(c["id"] for c in made) + 1}
    everyone = api.client.get("/marketing/contacts", params={"limit": 200}, headers=api.headers()).json()
    assert everyone["total"] == 8 and "globex-runner@example.com" not in str(everyone)
    theirs = api.client.get("/marketing/contacts", headers=api.headers(None)).json()
    assert [c["email"] for c in theirs["items"]] == ["globex-runner@example.com"]
    assert api.client.get(f"/marketing/contacts/{made[0]['id']}", headers=api.headers(None)).status_code == 404
    assert api.client.patch(f"/marketing/contacts/{made[0]['id']}", json={"first_name": "X"}, headers=api.headers(None)).status_code == 404
    assert api.client.delete(f"/marketing/contacts/{made[0]['id']}", headers=api.headers(None)).status_code == 404


def test_erase_is_for_owners_and_leaves_nobody_to_find(api: Api) -> None:
    ana = _create(api, ANA)
    url = f"/marketing/contacts/{ana['id']}/erase"
    for role in (Role.MARKETER, Role.APPROVER, Role.VIEWER):
        assert api.client.post(url, headers=api.headers(role)).status_code == 403
    assert api.client.post(url, headers=api.headers(None)).status_code == 404
    done = api.client.post(url, headers=api.headers(Role.OWNER, **{"Idempotency-Key": "erase-ana"}))
    assert done.status_code == 200, done.text
    assert done.json()["contacts"] == 1
    replay = api.client.post(url, headers=api.headers(Role.OWNER, **{"Idempotency-Key": "erase-ana"}))
    assert replay.json() == done.json() and replay.headers["idempotent-replayed"] == "true"
    assert api.client.post(url, headers=api.headers()).status_code == 404  # the husk is nobody: nothing left to erase by this id
    assert api.client.get(f"/marketing/contacts/{ana['id']}", headers=api.headers()).status_code == 404
    listed = api.client.get("/marketing/contacts", headers=api.headers()).json()
    assert listed["items"] == [] and listed["total"] == 0
    refused = api.client.post("/marketing/contacts", json={"email": ANA["email"]}, headers=api.headers())
    assert refused.status_code == 422 and "erased at their request" in refused.json()["detail"]
    with session_scope(api.store_url) as s:
        assert "ana" not in s.get(Contact, ana["id"]).email.lower()


def test_concurrent_adds_of_one_address_make_one_contact(api: Api) -> None:
    import threading

    barrier = threading.Barrier(3, timeout=20)
    codes: list[int] = []

    def add() -> None:
        barrier.wait()
        codes.append(api.client.post("/marketing/contacts", json={"email": "raced@example.com"}, headers=api.headers()).status_code)

    threads = [threading.Thread(target=add) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [201, 409, 409], codes  # never a 500, never two contacts
    with session_scope(api.store_url) as s:
        assert s.query(Contact).filter(Contact.merchant_id == "acme").count() == 1
