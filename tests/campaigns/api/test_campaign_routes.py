"""/marketing/campaigns: CRUD, transitions, pagination, preconditions, idempotency and problem+json errors."""

from __future__ import annotations

import threading

from campaigns.access.roles import Role
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from tests.campaigns.api.conftest import Api, make_api

PROBLEM = "application/problem+json"


def test_create_get_update_launch_pause_delete(api: Api) -> None:
    created = api.create(goals={"revenue": 1000})
    assert created["status"] == "DRAFT" and created["budget"] == "100.00"
    got = api.client.get(f"/marketing/campaigns/{created['id']}", headers=api.headers(Role.VIEWER))
    assert got.status_code == 200 and got.json() == created and got.headers["etag"]
    launched = api.client.post(f"/marketing/campaigns/{created['id']}/launch", headers=api.headers(Role.APPROVER))
    assert launched.status_code == 200 and launched.json()["status"] == "ACTIVE"
    paused = api.client.post(f"/marketing/campaigns/{created['id']}/pause", headers=api.headers(Role.APPROVER))
    assert paused.json()["status"] == "PAUSED"
    refused = api.client.delete(f"/marketing/campaigns/{created['id']}", headers=api.headers(Role.MARKETER))
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM and "only drafts" in refused.json()["detail"]
    draft = api.create("Draft")
    assert api.client.delete(f"/marketing/campaigns/{draft['id']}", headers=api.headers(Role.MARKETER)).status_code == 204
    assert api.client.get(f"/marketing/campaigns/{draft['id']}", headers=api.headers()).status_code == 404
    with session_scope(api.store_url) as s:  # the audit log names the key that acted
        actors = {(e.action, e.actor) for e in entries(s, "acme")}
    assert ("campaign.launch", "api-key:approver key") in actors and ("campaign.delete", "api-key:marketer key") in actors


def test_errors_name_the_field_and_the_fix(api: Api) -> None:
    bad = api.client.post("/marketing/campaigns", json={"name": "", "type": "LOUD", "channels": ["fax"]}, headers=api.headers())
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"name", "type", "channels"} <= fields and "fix these fields" in bad.json()["detail"]
    assert "unknown channel 'fax'" in bad.text
    api.create("Twin")
    twin = api.client.post("/marketing/campaigns", json={"name": "Twin", "type": "AWARENESS"}, headers=api.headers())
    assert twin.status_code == 422 and "already exists" in twin.json()["detail"]
    not_json = api.client.post("/marketing/campaigns", content=b"{", headers={**api.headers(), "Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.headers["content-type"] == PROBLEM
    cannot = api.client.post(f"/marketing/campaigns/{api.create('No dates', start_date=None, end_date=None)['id']}/launch", headers=api.headers())
    assert cannot.status_code == 409 and cannot.json()["title"] == "Conflict"


def test_keys_missing_bad_revoked_or_expired_get_401(api: Api, store_url: str, tmp_path) -> None:
    from datetime import timedelta

    from campaigns.access.api_keys import create_key, revoke_key

    missing = api.client.get("/marketing/campaigns")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"  # RFC 6750: no error code without a credential
    for key in ("nope", "co_123_abc", api.keys[Role.VIEWER] + "x"):
        answer = api.client.get("/marketing/campaigns", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
        assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    with session_scope(store_url) as s:
        soon = create_key(s, "acme", "short", Role.VIEWER, actor="t", expires_in=timedelta(seconds=1))
        gone = create_key(s, "acme", "gone", Role.VIEWER, actor="t")
        revoke_key(s, "acme", gone.id, actor="t")
    assert "revoked" in api.client.get("/marketing/campaigns", headers={"Authorization": f"Bearer {gone.key}"}).json()["detail"]
    import time_machine
    from datetime import UTC, datetime

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        assert "expired" in api.client.get("/marketing/campaigns", headers={"Authorization": f"Bearer {soon.key}"}).json()["detail"]


def test_cursor_pagination_walks_every_campaign_once_with_filters(api: Api) -> None:
    made = {api.create(f"C{i:02}")["id"] for i in range(7)}
    api.create("Awareness one", type="AWARENESS")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, "type": "CONVERSION", **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/marketing/campaigns", params=params, headers=api.headers(Role.VIEWER)).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        if not (cursor := page["next_cursor"]):
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7 and set(seen) == made
    searched = api.client.get("/marketing/campaigns", params={"search": "awareness"}, headers=api.headers()).json()["items"]
    assert [c["name"] for c in searched] == ["Awareness one"]
    bad = api.client.get("/marketing/campaigns", params={"cursor": "not-a-cursor"}, headers=api.headers())
    assert bad.status_code == 422 and bad.json()["detail"].startswith("cursor:")
    too_many = api.client.get("/marketing/campaigns", params={"limit": 1000}, headers=api.headers())
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "query.limit"


def test_patch_needs_the_current_etag(api: Api) -> None:
    created = api.create()
    url = f"/marketing/campaigns/{created['id']}"
    etag = api.client.get(url, headers=api.headers()).headers["etag"]
    missing = api.client.patch(url, json={"budget": "200.00"}, headers=api.headers(Role.MARKETER))
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    first = api.client.patch(url, json={"budget": "200.00"}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))
    assert first.status_code == 200 and first.json()["budget"] == "200.00" and first.headers["etag"] != etag
    # a second editor who read the campaign before the first edit is refused, not silently overwriting it
    stale = api.client.patch(url, json={"budget": "300.00"}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))
    assert stale.status_code == 412 and "changed since you read it" in stale.json()["detail"]
    again = api.client.patch(url, json={"name": "Renamed"}, headers=api.headers(Role.MARKETER, **{"If-Match": first.headers["etag"]}))
    assert again.status_code == 200 and again.json()["budget"] == "200.00" and again.json()["name"] == "Renamed"
    extra = api.client.patch(url, json={"colour": "red"}, headers=api.headers(Role.MARKETER, **{"If-Match": "*"}))
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "colour"


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(api: Api) -> None:
    body = {"name": "Once", "type": "AWARENESS"}
    headers = api.headers(Role.MARKETER, **{"Idempotency-Key": "k-1"})
    first = api.client.post("/marketing/campaigns", json=body, headers=headers)
    again = api.client.post("/marketing/campaigns", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    other = api.client.post("/marketing/campaigns", json={**body, "name": "Twice"}, headers=headers)
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    listed = api.client.get("/marketing/campaigns", headers=api.headers()).json()["items"]
    assert [c["name"] for c in listed] == ["Once"]
    # keys belong to the API key that used them: the same key string from another API key is a new request
    mine = api.client.post("/marketing/campaigns", json={"name": "Owner's", "type": "AWARENESS"}, headers=api.headers(**{"Idempotency-Key": "k-1"}))
    assert mine.status_code == 201
    launch = api.create("Go")
    go = [api.client.post(f"/marketing/campaigns/{launch['id']}/launch", headers=api.headers(**{"Idempotency-Key": "go-1"})) for _ in range(2)]
    assert [g.status_code for g in go] == [200, 200] and go[1].headers["idempotent-replayed"] == "true"  # not a 409 "already active"


def test_concurrent_retries_with_one_key_create_one_campaign(api: Api) -> None:
    body = {"name": "Raced", "type": "AWARENESS"}
    headers = api.headers(**{"Idempotency-Key": "race"})
    results: list[int] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        results.append(api.client.post("/marketing/campaigns", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    names = [c["name"] for c in api.client.get("/marketing/campaigns", headers=api.headers()).json()["items"]]
    assert names == ["Raced"]
    assert set(results) <= {201, 422}, results  # a loser of the name race that had not yet seen the record may say "already exists"


def test_rate_limit_answers_429_with_retry_after(store_url: str, tmp_path) -> None:
    api = make_api(store_url, tmp_path / "home", api_rate_limit_per_minute=3)
    answers = [api.client.get("/marketing/campaigns", headers=api.headers(Role.VIEWER)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["retry-after"] == "20" and answers[3].headers["content-type"] == PROBLEM
    assert api.client.get("/marketing/campaigns", headers=api.headers(Role.OWNER)).status_code == 200  # per key


def test_cors_is_off_unless_configured(store_url: str, tmp_path) -> None:
    off = make_api(store_url, tmp_path / "a")
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in off.client.options("/marketing/campaigns", headers=preflight).headers
    on = make_api(store_url, tmp_path / "b", api_cors_origins=["https://shop.example"])
    assert on.client.options("/marketing/campaigns", headers=preflight).headers["access-control-allow-origin"] == "https://shop.example"


def test_openapi_and_docs(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    create = spec["paths"]["/marketing/campaigns"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]["spring"]["value"]["name"] == "Spring sale"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert api.client.get("/docs").status_code == 200


def test_two_patches_with_one_etag_one_wins_one_gets_412(api: Api, monkeypatch) -> None:
    """Both requests read the campaign (and match the ETag) before either writes: only the compare-and-set on
    updated_at can tell them apart. On PostgreSQL the second UPDATE waits for the first to commit, then matches no row."""
    from campaigns.lifecycle import service

    created = api.create()
    url = f"/marketing/campaigns/{created['id']}"
    etag = api.client.get(url, headers=api.headers()).headers["etag"]
    both_read = threading.Barrier(2, timeout=20)
    real_get = service.get_campaign

    def get_then_wait(*args, **kwargs):  # noqa: ANN002, ANN003
        campaign = real_get(*args, **kwargs)
        both_read.wait()  # each request reads twice (route, then service): both reads happen before either write
        return campaign

    monkeypatch.setattr(service, "get_campaign", get_then_wait)
    results: dict[str, object] = {}

    def patch(budget: str) -> None:
        results[budget] = api.client.patch(url, json={"budget": budget}, headers=api.headers(Role.MARKETER, **{"If-Match": etag}))

    threads = [threading.Thread(target=patch, args=(b,)) for b in ("200.00", "300.00")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    monkeypatch.setattr(service, "get_campaign", real_get)
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 412], [r.text for r in results.values()]
    winner = next(b for b, r in results.items() if r.status_code == 200)
    loser = next(r for r in results.values() if r.status_code == 412)
    assert loser.headers["content-type"] == PROBLEM and "changed since you read it" in loser.json()["detail"]
    now = api.client.get(url, headers=api.headers())
    assert now.json()["budget"] == winner and now.headers["etag"] == results[winner].headers["etag"]
    with session_scope(api.store_url) as s:
        assert len([e for e in entries(s, "acme") if e.action == "campaign.update" and e.entity_id == created["id"]]) == 1


def test_update_is_a_compare_and_set_on_the_version_read(api: Api) -> None:
    """A session that read the campaign before another committed an edit writes nothing (service level, both stores)."""
    import pytest

    from campaigns.lifecycle import service

    created = api.create()
    with session_scope(api.store_url) as first:
        read = service.get_campaign(first, "acme", created["id"]).updated_at
    with session_scope(api.store_url) as other:
        service.update_campaign(other, "acme", created["id"], service.CampaignUpdate(description="theirs"), "test", if_updated_at=read)
    with pytest.raises(service.StaleCampaignError), session_scope(api.store_url) as late:
        service.update_campaign(late, "acme", created["id"], service.CampaignUpdate(description="mine"), "test", if_updated_at=read)
    with session_scope(api.store_url) as s:
        campaign = service.get_campaign(s, "acme", created["id"])
        assert campaign.description == "theirs" and campaign.updated_at > read
