"""Approved campaign drafts onto the social queue: at a time inside the campaign's dates, or its best slot; the approval gates each item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.content.approvals import NotApprovedError, approve_content
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent
from campaigns.lifecycle import service
from campaigns.social import scheduling
from campaigns.social.accounts import QueueError, add_account
from campaigns.social.campaign_content import schedule_draft

START, END = datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 4, 8, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _setup(url: str, platform: str = "x") -> tuple[int, int, int]:
    """(x content id, linkedin content id, x account id); the x draft is approved."""
    with session_scope(url) as s:
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["x"], budget=Decimal("100"),
                                                                     start_date=START, end_date=END), actor="ana")
        drafts = [CampaignContent(merchant_id="acme", campaign_id=c.id, channel="SOCIAL", platform=p, body=f"Winter is here on {p}") for p in ("x", "linkedin")]
        s.add_all(drafts)
        s.flush()
        approve_content(s, "acme", drafts[0].id, "ana")
        account = add_account(s, "acme", platform, "@acme", actor="ana", timezone="Europe/Berlin")
        return drafts[0].id, drafts[1].id, account.id


def test_best_slot_falls_inside_the_campaign_and_the_approval_gates_it(store_url: str, tmp_path) -> None:
    x_draft, linkedin_draft, account = _setup(store_url)
    settings = Settings(home=tmp_path / "home")
    with session_scope(store_url) as s:
        item, note = schedule_draft(settings, s, "acme", x_draft, account, actor="ana", now=NOW)
        assert START <= item.scheduled_at < END and item.campaign_id is not None and item.content_id == x_draft
        assert note.startswith("best slot ") and "default curve" in note  # no warehouse yet: the platform's prior
        first = item.id
    with session_scope(store_url) as s, pytest.raises(QueueError, match="outside campaign .*'s dates"):
        schedule_draft(settings, s, "acme", x_draft, account, actor="ana", at=END + timedelta(hours=1), now=NOW)
    with session_scope(store_url) as s:
        scheduling.cancel(s, "acme", first, "ana", "another time")
        item, note = schedule_draft(settings, s, "acme", x_draft, account, actor="ana", at=START + timedelta(hours=4), now=NOW)
        assert item.scheduled_at == START + timedelta(hours=4) and note == "at the time given"
    with session_scope(store_url) as s, pytest.raises(QueueError, match="written for linkedin, account .* is x"):
        schedule_draft(settings, s, "acme", linkedin_draft, account, actor="ana", now=NOW)
    with session_scope(store_url) as s:
        s.get(CampaignContent, x_draft).body = "Edited after approval"
    with session_scope(store_url) as s, pytest.raises(NotApprovedError):
        schedule_draft(settings, s, "acme", x_draft, account, actor="ana", at=START + timedelta(hours=5), now=NOW)


def test_an_email_draft_is_not_a_post(store_url: str, tmp_path) -> None:
    _, _, account = _setup(store_url)
    with session_scope(store_url) as s:
        email = CampaignContent(merchant_id="acme", channel="EMAIL", platform="email", body="Hi")
        s.add(email)
        s.flush()
        with pytest.raises(QueueError, match="not a social post; email drafts go out as email campaigns"):
            schedule_draft(Settings(home=tmp_path / "home"), s, "acme", email.id, account, actor="ana", now=NOW)


def test_a_draft_goes_out_once_per_account_however_it_is_scheduled(store_url: str, tmp_path) -> None:
    """By hand (the app or the CLI) and then by Ava's workflow, at other times: one queue item, never a second post."""
    x_draft, _, account = _setup(store_url)
    settings = Settings(home=tmp_path / "home")
    with session_scope(store_url) as s:
        by_hand, _ = schedule_draft(settings, s, "acme", x_draft, account, actor="ana", at=START + timedelta(hours=2), now=NOW)
    with session_scope(store_url) as s:
        by_ava = scheduling.enqueue_content(s, "acme", x_draft, account_id=account, scheduled_at=START + timedelta(hours=6), actor="ava",
                                            idempotency_key=f"wf-campaign-{x_draft}")
        again, note = schedule_draft(settings, s, "acme", x_draft, account, actor="bo", now=NOW)
        assert not by_ava.created and by_ava.item.id == again.id == by_hand.id and by_ava.item.scheduled_at == START + timedelta(hours=2)
        assert note.startswith(f"already on the queue as item {by_hand.id} (QUEUED")
        # asked again for the very time it is queued at: still the existing item, and the note says so
        same, note = schedule_draft(settings, s, "acme", x_draft, account, actor="bo", at=START + timedelta(hours=2), now=NOW)
        assert same.id == by_hand.id and note.startswith(f"already on the queue as item {by_hand.id} (QUEUED, 2026-12-01 10:00 UTC)")
        assert len(scheduling.list_queue(s, "acme")) == 1
        scheduling.cancel(s, "acme", by_hand.id, "ana", "not now")
    with session_scope(store_url) as s:  # a cancelled item no longer stands in the way
        later = scheduling.enqueue_content(s, "acme", x_draft, account_id=account, scheduled_at=START + timedelta(hours=6), actor="ava")
        assert later.created and later.item.id != by_hand.id and len(scheduling.list_queue(s, "acme")) == 2
