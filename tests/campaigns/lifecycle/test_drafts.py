"""Draft campaigns saved step by step and read back, on SQLite and PostgreSQL: contents, allocations, the audit log."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from campaigns.core.audit import entries
from campaigns.core.enums import CampaignStatus, CampaignType, ContentStatus
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import BudgetAllocation, CampaignContent
from campaigns.lifecycle import service as svc
from campaigns.lifecycle.drafts import Draft, DraftNotEditable, load_draft, save_draft, valid_part

START, END = datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 31, 8, tzinfo=UTC)


def _fields(**overrides) -> dict:
    base = dict(
        name="Winter boots", type="CONVERSION", description="Boots for the cold months", channels=["email", "x", "google_ads"],
        budget=Decimal("3000.00"), start_date=START, end_date=END,
        target_audience={"mode": "everyone"}, goals={"goal": "seasonal_sale", "kpi": "roas", "target": 3.0},
    )
    return {**base, **overrides}


def _draft(**overrides) -> Draft:
    base = dict(
        fields=_fields(),
        contents={"email": "Subject: Warm feet, big savings\n\nOur winter boots are 20% off.", "x": "Boots, 20% off.", "google_ads": ""},
        allocations={"email": Decimal("500.00"), "x": Decimal("500.00"), "google_ads": Decimal("2000.00")},
        step="Review",
    )
    return Draft(**{**base, **overrides})


def _contents(s, campaign_id: str) -> dict[str, CampaignContent]:
    rows = s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id))
    return {r.channel: r for r in rows}


def _allocations(s, campaign_id: str) -> dict[str, BudgetAllocation]:
    return {a.channel: a for a in s.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id == campaign_id))}


def test_save_creates_a_draft_with_its_contents_allocations_and_audit(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", _draft(), actor="ana")
    with session_scope(store_url) as s:
        campaign = svc.get_campaign(s, "acme", cid)
        assert campaign.status is CampaignStatus.DRAFT and campaign.budget == Decimal("3000.00")
        contents = _contents(s, cid)
        assert sorted(contents) == ["email", "x"]  # an empty text is not stored
        assert contents["email"].title == "Warm feet, big savings" and contents["email"].content_type == "email"
        assert contents["x"].title == "Winter boots · x" and contents["x"].platform == "x" and contents["x"].content_type == "post"
        assert all(c.status is ContentStatus.DRAFT and len(c.content_hash) == 64 for c in contents.values())
        allocations = _allocations(s, cid)
        assert {c: a.allocated for c, a in allocations.items()} == {"email": 500, "x": 500, "google_ads": 2000}
        assert {(a.period_start, a.period_end) for a in allocations.values()} == {(date(2026, 12, 1), date(2026, 12, 31))}
        audit = [(e.action, e.actor) for e in reversed(entries(s, "acme", cid))]
        assert audit == [("campaign.create", "ana"), ("campaign.draft_saved", "ana")]
        assert entries(s, "acme", cid)[0].details == {"step": "Review"}


def test_saving_again_updates_the_draft_and_replaces_what_was_dropped(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", _draft(), actor="ana")
    changed = _draft(
        campaign_id=cid, fields=_fields(channels=["email", "google_ads"], budget=Decimal("2500.00")),
        contents={"email": "Subject: Last days\n\nBoots still 20% off.", "google_ads": "Winter boots 20% off"},
        allocations={"email": Decimal("500.00"), "google_ads": Decimal("2000.00")}, step="Content",
    )
    with session_scope(store_url) as s:
        assert save_draft(s, "acme", changed, actor="ana") == cid
    with session_scope(store_url) as s:
        contents = _contents(s, cid)
        assert sorted(contents) == ["email", "google_ads"]  # the dropped channel's draft is gone
        assert contents["email"].title == "Last days" and contents["google_ads"].content_type == "ad"
        assert {c: a.allocated for c, a in _allocations(s, cid).items()} == {"email": 500, "google_ads": 2000}
        assert [e.action for e in reversed(entries(s, "acme", cid))] == [
            "campaign.create", "campaign.draft_saved", "campaign.update", "campaign.draft_saved",
        ]


def test_an_early_step_saves_with_invalid_fields_left_empty(store_url: str) -> None:
    early = _draft(fields=_fields(budget=Decimal("-1"), end_date=datetime(2026, 11, 1, tzinfo=UTC)), contents={}, allocations={})
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", early, actor="ana")
    with session_scope(store_url) as s:
        campaign = svc.get_campaign(s, "acme", cid)
        assert campaign.budget is None and campaign.end_date is None and campaign.start_date is not None
        assert {c: a.allocated for c, a in _allocations(s, cid).items()} == {"email": 0, "x": 0, "google_ads": 0}


def test_valid_part_keeps_valid_fields_and_refuses_a_missing_name() -> None:
    assert valid_part(_fields()) == _fields()
    assert valid_part(_fields(channels=["fax"]))["channels"] == []
    with pytest.raises(ValidationError, match="name"):
        valid_part(_fields(name=""))


def test_a_duplicate_name_or_a_campaign_past_draft_writes_nothing(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", _draft(), actor="ana")
    with pytest.raises(ValueError, match="already exists"), session_scope(store_url) as s:
        save_draft(s, "acme", _draft(), actor="ana")
    with session_scope(store_url) as s:
        svc.launch_campaign(s, "acme", cid, actor="ana")
    with pytest.raises(DraftNotEditable, match="ACTIVE"), session_scope(store_url) as s:
        save_draft(s, "acme", _draft(campaign_id=cid, fields=_fields(name="Renamed")), actor="ana")
    with pytest.raises(DraftNotEditable, match="only drafts open"), session_scope(store_url) as s:
        load_draft(s, "acme", cid)
    with session_scope(store_url) as s:
        assert [c.name for c in svc.list_campaigns(s, "acme")] == ["Winter boots"]
        assert [e.action for e in entries(s, "acme", cid)].count("campaign.draft_saved") == 1


def test_load_reads_the_draft_back_for_its_merchant_only(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", _draft(), actor="ana")
    with session_scope(store_url) as s:
        saved = load_draft(s, "acme", cid)
        with pytest.raises(svc.CampaignNotFoundError):
            load_draft(s, "globex", cid)
    assert saved.campaign_id == cid and saved.saved_at is not None
    assert saved.fields["type"] is CampaignType.CONVERSION and saved.fields["budget"] == Decimal("3000.00")
    assert saved.fields["start_date"] == START and saved.fields["end_date"] == END
    assert saved.fields["goals"] == {"goal": "seasonal_sale", "kpi": "roas", "target": 3.0}
    assert saved.contents == {k: v for k, v in _draft().contents.items() if v}
    assert saved.allocations == _draft().allocations


def test_a_channels_further_drafts_are_rows_of_their_own_kept_in_order(store_url: str) -> None:
    with session_scope(store_url) as s:
        cid = save_draft(s, "acme", _draft(more={"x": ["Second post.", "", "Third post."]}), actor="ana")
    with session_scope(store_url) as s:
        rows = s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == cid, CampaignContent.channel == "x")
                         .order_by(CampaignContent.id)).all()
        assert [(r.body, r.title) for r in rows] == [("Boots, 20% off.", "Winter boots · x"), ("Second post.", "Winter boots · x · 2"),
                                                     ("Third post.", "Winter boots · x · 3")]  # an empty one is not stored
        first_ids = [r.id for r in rows]
        saved = load_draft(s, "acme", cid)
    assert saved.contents["x"] == "Boots, 20% off." and saved.more == {"x": ["Second post.", "Third post."]}
    # edited and one removed: the rows are updated in place, the surplus deleted
    with session_scope(store_url) as s:
        save_draft(s, "acme", _draft(campaign_id=cid, more={"x": ["Second post, edited."]}), actor="ana")
    with session_scope(store_url) as s:
        rows = s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == cid, CampaignContent.channel == "x")
                         .order_by(CampaignContent.id)).all()
        assert [(r.id, r.body) for r in rows] == [(first_ids[0], "Boots, 20% off."), (first_ids[1], "Second post, edited.")]
        assert load_draft(s, "acme", cid).more == {"x": ["Second post, edited."]}
