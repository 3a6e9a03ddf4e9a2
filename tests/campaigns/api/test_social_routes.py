"""/marketing/social: schedule (the key's approval recorded), queue, one post, publish now, its fetched metrics; scoped to the key's merchant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from campaigns.access.roles import Role
from campaigns.core.settings import Settings
from campaigns.social.scheduling import cancel, schedule_text
from campaigns.social.worker import publish_due
from publishers import build_publishers
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


def _queued(api: Api, at: datetime, merchant: str = "acme", campaign_id: str | None = None) -> int:
    with session_scope(api.store_url) as s:
        return schedule_text(s, merchant, account_id=_account(api, merchant), text=f"Spring sale {at.isoformat()}", scheduled_at=at, author="test",
                             campaign_id=campaign_id).id


def test_publish_now_makes_the_post_due_and_the_worker_sends_it_once(api: Api) -> None:
    post = _queued(api, datetime.now(UTC) + timedelta(days=30))
    url = f"/marketing/social/posts/{post}/publish"
    assert api.client.post(url, headers=api.headers(Role.MARKETER)).status_code == 403  # sending is an approver's (or owner's) act
    assert api.client.post(url, headers=api.headers(None)).status_code == 404  # another merchant's post is unknown
    first = api.client.post(url, headers=api.headers(Role.APPROVER, **{"Idempotency-Key": "now-1"}))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "QUEUED" and datetime.fromisoformat(first.json()["scheduled_at"]) <= datetime.now(UTC)
    replay = api.client.post(url, headers=api.headers(Role.APPROVER, **{"Idempotency-Key": "now-1"}))
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    again = api.client.post(url, headers=api.headers(Role.APPROVER))  # without a key: still no second move
    assert again.status_code == 202 and again.json()["scheduled_at"] == first.json()["scheduled_at"]
    settings = Settings(home=api.home)
    report = publish_due(api.store_url, build_publishers(settings.publisher_config(), live=False), "w1")
    assert report.counts() == {"PUBLISHED": 1}
    published = api.client.post(url, headers=api.headers(Role.APPROVER))  # after publishing: answered as it is, nothing queued again
    assert published.status_code == 202 and published.json()["status"] == "PUBLISHED"
    assert publish_due(api.store_url, build_publishers(settings.publisher_config(), live=False), "w2").counts() == {}
    with session_scope(api.store_url) as s:
        assert len([e for e in entries(s, "acme") if e.action == "social.publish_now"]) == 1


def test_publish_now_refuses_failed_posts_and_paused_campaigns(api: Api) -> None:
    cancelled = _queued(api, datetime.now(UTC) + timedelta(days=3))
    with session_scope(api.store_url) as s:
        cancel(s, "acme", cancelled, "test")
    refused = api.client.post(f"/marketing/social/posts/{cancelled}/publish", headers=api.headers())
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert "only a QUEUED post" in refused.json()["detail"]
    campaign = api.create("Held")
    api.client.post(f"/marketing/campaigns/{campaign['id']}/launch", headers=api.headers())
    api.client.post(f"/marketing/campaigns/{campaign['id']}/pause", headers=api.headers())
    held = _queued(api, datetime(2027, 3, 10, tzinfo=UTC), campaign_id=campaign["id"])
    paused = api.client.post(f"/marketing/social/posts/{held}/publish", headers=api.headers())
    assert paused.status_code == 409 and "PAUSED" in paused.json()["detail"]
    assert api.client.get(f"/marketing/social/posts/{held}", headers=api.headers()).json()["scheduled_at"].startswith("2027-03-10")


def _post_metrics(api: Api, rows: list[dict]) -> None:
    folder = api.home / "serving"
    folder.mkdir(parents=True, exist_ok=True)
    base = {"platform": "x", "post_id": "1", "published_at": datetime(2026, 11, 1, tzinfo=UTC), "published_date": date(2026, 11, 1),
            "impressions": 1000, "likes": 30, "shares": 5, "comments": 3, "clicks": None, "engagements": 38, "engagement_rate": 0.038,
            "sandbox": False}
    pl.DataFrame([{**base, **row} for row in rows]).write_parquet(folder / "social_post_performance.parquet")


def test_post_analytics_are_the_last_fetched_counters(api: Api) -> None:
    post = _queued(api, datetime(2027, 3, 1, tzinfo=UTC))
    url = f"/marketing/social/posts/{post}/analytics"
    empty = api.client.get(url, headers=api.headers(Role.VIEWER))
    assert empty.status_code == 200 and empty.json()["metrics"] is None  # nothing built yet: not fetched, not an error
    _post_metrics(api, [
        {"merchant_id": "acme", "queue_item_id": post, "fetched_at": datetime(2026, 11, 2, tzinfo=UTC), "impressions": 900, "engagements": 20},
        {"merchant_id": "acme", "queue_item_id": post, "fetched_at": datetime(2026, 11, 3, tzinfo=UTC)},
        {"merchant_id": "globex", "queue_item_id": post + 1, "fetched_at": datetime(2026, 11, 3, tzinfo=UTC), "impressions": 5},
    ])
    body = api.client.get(url, headers=api.headers(Role.VIEWER)).json()
    assert body["id"] == post and body["status"] == "QUEUED"
    assert body["metrics"] == {"impressions": 1000, "likes": 30, "shares": 5, "comments": 3, "clicks": None, "engagements": 38,
                               "engagement_rate": 0.038, "fetched_at": "2026-11-03T00:00:00Z", "sandbox": False}
    other = _queued(api, datetime(2027, 3, 2, tzinfo=UTC))
    assert api.client.get(f"/marketing/social/posts/{other}/analytics", headers=api.headers()).json()["metrics"] is None
    assert api.client.get(url, headers=api.headers(None)).status_code == 404
