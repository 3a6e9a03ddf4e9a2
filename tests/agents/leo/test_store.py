"""Leo's drafts in the store: DRAFT rows, approvals bound to the content hash, edits void them, saves are idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agents.leo.repurpose import repurpose
from agents.leo.store import approve_campaign_content, approve_repurposed, edit_repurposed, output_hash, save_result
from agents.source import read_post
from campaigns.core.enums import ContentStatus
from campaigns.content.approvals import KIND_CONTENT, KIND_REPURPOSED, content_hash, is_approved
from campaigns.core.audit import entries
from campaigns.lifecycle.service import CampaignInput, CampaignNotFoundError, create_campaign
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent, RepurposedContent


@pytest.fixture
def result(posts_dir, offline_settings):
    return repurpose(read_post(posts_dir / "short.md"), ["x", "email", "ads"], 2, settings=offline_settings)


def test_drafts_are_stored_with_their_campaign_contents(store_url, result) -> None:
    with session_scope(store_url) as session:
        campaign = create_campaign(session, "acme", CampaignInput(name="Zips", type="ENGAGEMENT"), "test")
        saved = save_result(session, "acme", result, actor="test", campaign_id=campaign.id)
        rows = session.scalars(select(RepurposedContent).where(RepurposedContent.merchant_id == "acme")).all()
        contents = session.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign.id)).all()
        assert len(saved) == len(rows) == len(contents) == 6
        assert {r.status for r in rows} == {ContentStatus.DRAFT} and {c.status for c in contents} == {ContentStatus.DRAFT}
        x_content = next(c for c in contents if c.platform == "x")
        assert x_content.body == next(o for o in result.outputs if o.format == "x").text
        assert x_content.content_hash == content_hash(x_content.body, [])
        email_row = next(r for r in rows if r.format == "email")
        assert email_row.payload["subject"] and email_row.payload["html"].startswith("<!doctype html>")
        assert entries(session, "acme", campaign.id)[0].action == "content.repurpose"
        again = save_result(session, "acme", result, actor="test", campaign_id=campaign.id)
        assert [s.repurposed_id for s in again] == [s.repurposed_id for s in saved]
        assert session.scalar(select(CampaignContent.id).where(CampaignContent.id > max(c.id for c in contents))) is None


def test_approval_covers_exactly_one_version_and_an_edit_voids_it(store_url, result) -> None:
    with session_scope(store_url) as session:
        campaign = create_campaign(session, "acme", CampaignInput(name="Zips", type="ENGAGEMENT"), "test")
        saved = save_result(session, "acme", result, actor="test", campaign_id=campaign.id)
        x = next(s for s in saved if s.format == "x")
        done = approve_repurposed(session, "acme", x.repurposed_id, "boss")
        assert done["campaign_content_id"] == x.content_id
        content = session.get(CampaignContent, x.content_id)
        assert content.status is ContentStatus.APPROVED
        assert is_approved(session, "acme", KIND_CONTENT, x.content_id, content.content_hash)
        row = edit_repurposed(session, "acme", x.repurposed_id, {"text": "Rub a little wax along the teeth once in autumn."}, "editor")
        assert row.status is ContentStatus.DRAFT and row.content_hash != x.content_hash
        content = session.get(CampaignContent, x.content_id)
        assert content.status is ContentStatus.DRAFT and content.body == "Rub a little wax along the teeth once in autumn."
        assert not is_approved(session, "acme", KIND_REPURPOSED, x.repurposed_id, row.content_hash)
        actions = [e.action for e in entries(session, "acme", limit=50)]
        assert actions.count("content.approval_voided") == 2
        back = approve_campaign_content(session, "acme", x.content_id, "boss")
        assert back["repurposed_id"] == x.repurposed_id
        assert session.get(RepurposedContent, x.repurposed_id).status is ContentStatus.APPROVED


def test_edits_that_break_limits_are_refused(store_url, result) -> None:
    with session_scope(store_url) as session:
        saved = save_result(session, "acme", result, actor="test")
        x = next(s for s in saved if s.format == "x")
        with pytest.raises(ValueError, match="limits"):
            edit_repurposed(session, "acme", x.repurposed_id, {"text": "word " * 100}, "editor")
        with pytest.raises(ValueError, match="editable"):
            edit_repurposed(session, "acme", x.repurposed_id, {"engine": "me"}, "editor")


def test_rows_stay_with_their_merchant(store_url, result) -> None:
    with session_scope(store_url) as session:
        campaign = create_campaign(session, "globex", CampaignInput(name="Other", type="AWARENESS"), "test")
        with pytest.raises(CampaignNotFoundError):
            save_result(session, "acme", result, actor="test", campaign_id=campaign.id)
    with session_scope(store_url) as session:
        saved = save_result(session, "acme", result, actor="test")
        with pytest.raises(LookupError):
            approve_repurposed(session, "globex", saved[0].repurposed_id, "intruder")


def test_the_hash_covers_every_field_of_an_email(result) -> None:
    email = next(o for o in result.outputs if o.format == "email")
    assert output_hash(email) != output_hash(email.model_copy(update={"subject": email.subject + " now"}))
    assert output_hash(email) != output_hash(email.model_copy(update={"html": email.html.replace("<p>", "<p> ", 1)}))


def test_rejecting_either_row_rejects_the_pair_and_is_audited(store_url, result) -> None:
    from agents.leo.store import reject_campaign_content, reject_repurposed

    with session_scope(store_url) as session:
        campaign = create_campaign(session, "acme", CampaignInput(name="Zips", type="ENGAGEMENT"), "test")
        saved = save_result(session, "acme", result, actor="test", campaign_id=campaign.id)
        first, second = saved[0], saved[1]
        done = reject_campaign_content(session, "acme", first.content_id, "boss", "off brand")
        assert done == {"kind": KIND_CONTENT, "id": first.content_id, "repurposed_id": first.repurposed_id}
        assert session.get(CampaignContent, first.content_id).status is ContentStatus.REJECTED
        assert session.get(RepurposedContent, first.repurposed_id).status is ContentStatus.REJECTED
        assert reject_repurposed(session, "acme", second.repurposed_id, "boss")["campaign_content_id"] == second.content_id
        assert session.get(CampaignContent, second.content_id).status is ContentStatus.REJECTED
        actions = [(e.action, e.entity_type) for e in entries(session, "acme", str(first.content_id))]
        assert ("content.reject", KIND_CONTENT) in actions
        session.get(CampaignContent, saved[2].content_id).status = ContentStatus.PUBLISHED
        with pytest.raises(ValueError, match="already published"):
            reject_campaign_content(session, "acme", saved[2].content_id, "boss")
        with pytest.raises(LookupError):
            reject_campaign_content(session, "globex", saved[3].content_id, "boss")


def test_under_four_eyes_who_asked_leo_for_drafts_cannot_approve_them(store_url, result) -> None:
    from campaigns.access import users
    from campaigns.content.approvals import FourEyesError

    with session_scope(store_url) as session:
        users.set_four_eyes(session, "acme", True, "boss")
        campaign = create_campaign(session, "acme", CampaignInput(name="Zips", type="ENGAGEMENT"), "test")
        saved = save_result(session, "acme", result, actor="ana@example.com", campaign_id=campaign.id)
        x = next(s for s in saved if s.format == "x")
        with pytest.raises(FourEyesError, match="four-eyes"):
            approve_repurposed(session, "acme", x.repurposed_id, "ana@example.com")
        with pytest.raises(FourEyesError):
            approve_campaign_content(session, "acme", x.content_id, "ana@example.com")
        assert approve_repurposed(session, "acme", x.repurposed_id, "bo@example.com")["campaign_content_id"] == x.content_id
        assert is_approved(session, "acme", KIND_CONTENT, x.content_id, session.get(CampaignContent, x.content_id).content_hash)
