"""/marketing/content: repurpose a post into stored drafts (offline engine without a model), variations of a stored
draft, platform previews; scoped to the key's merchant and role."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from campaigns.access.roles import Role
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent, RepurposedContent
from tests.campaigns.api.conftest import Api

POSTS = Path(__file__).parents[2] / "agents" / "posts"
POST = (POSTS / "list-heavy.md").read_text(encoding="utf-8")


def _rows(api: Api, merchant: str = "acme") -> int:
    with session_scope(api.store_url) as s:
        return s.scalar(select(func.count()).select_from(RepurposedContent).where(RepurposedContent.merchant_id == merchant)) or 0


def test_repurpose_stores_drafts_with_ids_text_angle_and_checks(api: Api) -> None:
    body = {"text": POST, "filename": "winter-car-kit.md", "formats": ["x", "linkedin"], "variations": 2}
    response = api.client.post("/marketing/content/repurpose", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "rp-1"}))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "offline" and result["saved"] is True
    assert result["source"]["title"] == "The winter car kit: what to keep in the boot"
    assert [(d["format"], d["variant"]) for d in result["drafts"]] == [("x", 1), ("x", 2), ("linkedin", 1), ("linkedin", 2)]
    for draft in result["drafts"]:
        assert draft["id"] == f"rc-{draft['repurposed_id']}" and draft["content_id"] is None
        assert draft["angle"] and "winter-car-kit" in draft["text"]  # the tracked link to the post
        assert {c["check"] for c in draft["checks"]} >= {"limits", "tracked_link", "no_invented_numbers"}
        assert all(c["ok"] for c in draft["checks"]), draft["checks"]
    assert set(result["distinct"]) == {"x", "linkedin"} and result["passed"] is True
    with session_scope(api.store_url) as s:
        stored = {r.id: r for r in s.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == "acme"))}
        assert set(stored) == {d["repurposed_id"] for d in result["drafts"]}
        assert {r.status.value for r in stored.values()} == {"DRAFT"}
        assert any(e.action == "content.repurpose" and e.actor == "api-key:marketer key" for e in entries(s, "acme"))
    replay = api.client.post("/marketing/content/repurpose", json=body, headers=api.headers(Role.MARKETER, **{"Idempotency-Key": "rp-1"}))
    assert replay.json() == result and replay.headers["idempotent-replayed"] == "true"
    assert _rows(api) == 4
    dry = api.client.post("/marketing/content/repurpose", json={**body, "save": False}, headers=api.headers(Role.MARKETER)).json()
    assert [d["id"] for d in dry["drafts"]] == [None] * 4 and dry["saved"] is False and _rows(api) == 4
    assert api.client.post("/marketing/content/repurpose", json=body, headers=api.headers(Role.VIEWER)).status_code == 403
    assert api.client.post("/marketing/content/repurpose", json=body, headers=api.headers(Role.APPROVER)).status_code == 403


def test_repurpose_for_a_campaign_makes_its_contents_and_never_anothers(api: Api) -> None:
    campaign = api.create()
    body = {"text": POST, "filename": "kit.md", "formats": ["email"], "variations": 1, "campaign_id": campaign["id"]}
    result = api.client.post("/marketing/content/repurpose", json=body, headers=api.headers()).json()
    (draft,) = result["drafts"]
    assert draft["format"] == "email" and draft["text"].startswith("Subject: ") and draft["fields"]["subject"]
    with session_scope(api.store_url) as s:
        content = s.get(CampaignContent, draft["content_id"])
        assert content.campaign_id == campaign["id"] and content.body == draft["text"]
    foreign = api.client.post("/marketing/content/repurpose", json=body, headers=api.headers(None))
    assert foreign.status_code == 404 and campaign["name"] not in foreign.text
    assert _rows(api, "globex") == 0


def test_variations_of_a_stored_draft(api: Api) -> None:
    first = api.client.post("/marketing/content/repurpose", json={"text": POST, "filename": "kit.md", "formats": ["linkedin"], "variations": 1},
                            headers=api.headers()).json()
    rc = first["drafts"][0]["repurposed_id"]
    more = api.client.post("/marketing/content/variations", json={"repurposed_id": rc, "format": "x", "count": 2}, headers=api.headers(Role.MARKETER))
    assert more.status_code == 200, more.text
    drafts = more.json()["drafts"]
    assert drafts and {d["format"] for d in drafts} == {"x"} and all(d["id"] for d in drafts)
    assert len({d["text"] for d in drafts}) == len(drafts)
    assert "winter-car-kit" in drafts[0]["text"]  # still links to the post the draft came from
    text = api.client.post("/marketing/content/variations", json={"text": POST, "filename": "kit.md", "format": "facebook", "count": 1, "save": False},
                           headers=api.headers())
    assert text.status_code == 200 and [d["format"] for d in text.json()["drafts"]] == ["facebook"]
    assert api.client.post("/marketing/content/variations", json={"repurposed_id": rc, "format": "x"}, headers=api.headers(None)).status_code == 404
    both = api.client.post("/marketing/content/variations", json={"repurposed_id": rc, "text": POST, "format": "x"}, headers=api.headers())
    assert both.status_code == 422 and "one of them" in both.json()["detail"]
    unknown = api.client.post("/marketing/content/variations", json={"text": POST, "format": "tiktok"}, headers=api.headers())
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "format"


def test_preview_looks_like_the_platform_and_lists_what_it_would_refuse(api: Api) -> None:
    ok = api.client.post("/marketing/content/preview", json={"platform": "x", "text": "Spring sale <b>today</b> #spring https://example.com/sale"},
                         headers=api.headers(Role.VIEWER))
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["issues"] == [] and "preview-x" in body["html"]
    assert "&lt;b&gt;today&lt;/b&gt;" in body["html"] and "<b>today</b>" not in body["html"]  # user text is escaped
    long = api.client.post("/marketing/content/preview", json={"platform": "x", "text": "word " * 80}, headers=api.headers()).json()
    assert long["issues"] and long["issues"][0]["field"]
    instagram = api.client.post("/marketing/content/preview", json={"platform": "instagram", "text": "A caption"}, headers=api.headers()).json()
    assert "Instagram needs an image" in instagram["html"] and any("image" in i["message"].lower() for i in instagram["issues"])
    assert api.client.post("/marketing/content/preview", json={"platform": "email", "text": "x"}, headers=api.headers()).status_code == 422
