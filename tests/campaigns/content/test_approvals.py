"""Approvals on SQLite and PostgreSQL: exact-hash approvals, edits voiding them, author approvals, scoping."""

import pytest

from campaigns.core.enums import ContentStatus
from campaigns.content import approvals as svc
from campaigns.core.audit import entries
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent


def _content(url: str, merchant: str = "acme", body: str = "Winter is here: https://shop.example.com/w", media=()) -> int:
    with session_scope(url) as s:
        content = CampaignContent(merchant_id=merchant, channel="SOCIAL", platform="x", body=body, media=list(media))
        s.add(content)
        s.flush()
        return content.id


def test_hash_ignores_invisible_differences_and_sees_every_visible_one() -> None:
    base = svc.content_hash("Café day\nsee you", ["https://cdn.example.com/a.jpg"])
    assert len(base) == 64 and int(base, 16) >= 0
    assert svc.content_hash("Cafe\u0301 day  \r\nsee you\n", [" https://cdn.example.com/a.jpg "]) == base
    assert svc.content_hash("Café day\nsee you!", ["https://cdn.example.com/a.jpg"]) != base
    assert svc.content_hash("Café day\nsee you", []) != base
    assert svc.content_hash("Café day\nsee you", ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"]) != base
    assert svc.content_hash("a", ["1", "2"]) != svc.content_hash("a", ["2", "1"])  # carousel order is content


def test_approval_covers_the_exact_version_and_an_edit_voids_it(store_url: str) -> None:
    cid = _content(store_url)
    with session_scope(store_url) as s:
        approval = svc.approve_content(s, "acme", cid, actor="ana", note="looks good")
        assert svc.approve_content(s, "acme", cid, actor="ben").id == approval.id  # same version: nothing new
        content = svc.get_content(s, "acme", cid)
        assert content.status is ContentStatus.APPROVED and svc.content_is_approved(s, "acme", content)
        assert approval.approved_by == "ana" and approval.content_hash == svc.hash_of_content(content)
    with session_scope(store_url) as s:
        svc.get_content(s, "acme", cid).body = "Winter is here! https://shop.example.com/w"
    with session_scope(store_url) as s:
        content = svc.get_content(s, "acme", cid)
        assert not svc.content_is_approved(s, "acme", content)
        with pytest.raises(svc.NotApprovedError, match="was edited since"):
            svc.require_approval(s, "acme", svc.KIND_CONTENT, cid, svc.hash_of_content(content))
        assert svc.sync_content_status(s, "acme", cid, actor="ana").status is ContentStatus.DRAFT
    with session_scope(store_url) as s:
        actions = [e.action for e in reversed(entries(s, "acme", str(cid)))]
        assert actions == ["content.approve", "content.approval_voided"]
        svc.approve_content(s, "acme", cid, actor="ana")
        assert svc.content_is_approved(s, "acme", svc.get_content(s, "acme", cid))


def test_approvals_are_scoped_to_one_merchant(store_url: str) -> None:
    cid = _content(store_url)
    with session_scope(store_url) as s:
        approval = svc.approve_content(s, "acme", cid, actor="ana")
        assert not svc.is_approved(s, "globex", svc.KIND_CONTENT, cid, approval.content_hash)
        with pytest.raises(svc.ContentNotFoundError):
            svc.approve_content(s, "globex", cid, actor="gus")


def test_text_a_person_writes_and_schedules_counts_as_their_approval(store_url: str) -> None:
    text_hash = svc.content_hash("My own words")
    with session_scope(store_url) as s:
        approval = svc.record_author_approval(s, "acme", svc.KIND_QUEUE_TEXT, 41, text_hash, "ana")
        assert approval.approved_by == "ana" and approval.note == svc.AUTHOR_NOTE
        assert svc.is_approved(s, "acme", svc.KIND_QUEUE_TEXT, 41, text_hash)
        assert not svc.is_approved(s, "acme", svc.KIND_QUEUE_TEXT, 41, svc.content_hash("My own words, edited"))
        (entry,) = [e for e in entries(s, "acme", "41") if e.action == "content.approve"]
        assert entry.actor == "ana" and entry.details["note"] == svc.AUTHOR_NOTE
        with pytest.raises(ValueError, match="64-character sha256"):
            svc.approve(s, "acme", svc.KIND_CONTENT, 1, "abc", "ana")
