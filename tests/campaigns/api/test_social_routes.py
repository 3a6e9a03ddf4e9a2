"""/marketing/social: schedule (the key's approval recorded), queue and one post, scoped to the key's merchant."""

from __future__ import annotations

from campaigns.access.roles import Role
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.social.accounts import add_account
from tests.campaigns.api.conftest import Api


def _account(api: Api, merchant: str = "acme") -> int:
    with session_scope(api.store_url) as s:
        return add_account(s, merchant, "x", "acme_shop", actor="test").id


def test_schedule_list_and_get(api: Api) -> None:
    account = _account(api)
    campaign = api.create()
    body = {"account_id": account, "text": "Spring sale from today", "scheduled_at": "2027-03-01T09:00:00+01:00", "campaign_id": campaign["id"]}
    posted = api.client.post("/marketing/social/posts", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "p1"}))
    assert posted.status_code == 201, posted.text
    post = posted.json()
    assert post["status"] == "QUEUED" and post["scheduled_at"].startswith("2027-03-01T08:00:00")
    again = api.client.post("/marketing/social/posts", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "p1"}))
    assert again.json() == post
    assert [p["id"] for p in api.client.get("/marketing/social/queue", headers=api.headers(Role.VIEWER)).json()] == [post["id"]]
    assert api.client.get("/marketing/social/queue", params={"status": "FAILED"}, headers=api.headers()).json() == []
    assert api.client.get(f"/marketing/social/posts/{post['id']}", headers=api.headers()).json() == post
    with session_scope(api.store_url) as s:
        assert any(e.action == "social.schedule" and e.actor == "api-key:marketer key" for e in entries(s, "acme"))
    # another merchant: neither the post, nor acme's account or campaign
    assert api.client.get(f"/marketing/social/posts/{post['id']}", headers=api.headers(None)).status_code == 404
    assert api.client.get("/marketing/social/queue", headers=api.headers(None)).json() == []
    foreign = api.client.post("/marketing/social/posts", json={**body, "campaign_id": None}, headers=api.headers(None))
    assert foreign.status_code == 404
    globex_account = _account(api, "globex")
    borrowed = api.client.post("/marketing/social/posts", json={**body, "account_id": globex_account}, headers=api.headers(None))
    unknown = api.client.post("/marketing/social/posts", json={**body, "account_id": globex_account, "campaign_id": "cmp_nosuch"},
                              headers=api.headers(None))
    assert borrowed.status_code == unknown.status_code == 404
    assert borrowed.json()["detail"].replace(campaign["id"], "cmp_nosuch") == unknown.json()["detail"]  # acme's id reads as unknown


def test_bad_posts_name_the_field(api: Api) -> None:
    account = _account(api)
    naive = api.client.post("/marketing/social/posts", json={"account_id": account, "text": "hi", "scheduled_at": "2027-03-01T09:00:00"},
                            headers=api.headers())
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "scheduled_at"
    too_long = api.client.post("/marketing/social/posts", json={"account_id": account, "text": "x" * 400, "scheduled_at": "2027-03-01T09:00:00Z"},
                               headers=api.headers())
    assert too_long.status_code == 422 and "cannot schedule this x post" in too_long.json()["detail"]
    assert api.client.post("/marketing/social/posts", json={"account_id": account, "text": "hi", "scheduled_at": "2027-03-01T09:00:00Z"},
                           headers=api.headers(Role.VIEWER)).status_code == 403
