"""Campaigns being built: a DRAFT campaign saved step by step with its draft contents and channel allocations.

A builder (the app's campaign builder) saves whatever it has so far: a name and a type are enough, and
fields that fail validation on their own are saved empty until they are fixed, so a half-built campaign
survives and can be reopened. Each save is one transaction with one audit entry (`campaign.draft_saved`,
beside the create or update entry of the campaign itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaigns.content.approvals import content_hash
from campaigns.core.audit import record
from campaigns.core.enums import MARKETING_CHANNELS, CampaignStatus, Channel, ContentStatus
from campaigns.core.store.models import BudgetAllocation, CampaignContent
from campaigns.lifecycle.service import CampaignInput, CampaignUpdate, create_campaign, get_campaign, update_campaign

# fields left empty (None) rather than given their default when they fail validation
_EMPTY_WHEN_INVALID = ("budget", "start_date", "end_date")


class DraftNotEditable(ValueError):
    """The campaign has left DRAFT: it is changed through the lifecycle service, not the builder."""


@dataclass(frozen=True)
class Draft:
    """A campaign as a builder holds it, in store terms.

    `fields` are `CampaignInput` fields (UTC datetimes, `Decimal` budget); `contents` the draft text by
    channel (empty texts are not stored); `more` a channel's further drafts after that one (several posts
    of a flight, Leo's other variations: a row each, approved and scheduled on their own); `allocations`
    the amount by channel for the flight; `step` names where the builder was (kept in the audit entry).
    """

    fields: dict[str, Any]
    contents: dict[str, str] = field(default_factory=dict)
    allocations: dict[str, Decimal] = field(default_factory=dict)
    campaign_id: str | None = None
    step: str = ""
    more: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedDraft:
    """A DRAFT campaign read back: its fields, draft contents (a channel's first, `more` its others, in the order
    saved) and allocations, and when it was last saved."""

    campaign_id: str
    fields: dict[str, Any]
    contents: dict[str, str]
    allocations: dict[str, Decimal]
    saved_at: datetime | None
    more: dict[str, list[str]] = field(default_factory=dict)


def save_draft(session: Session, merchant_id: str, draft: Draft, actor: str) -> str:
    """Create or update the DRAFT campaign with its contents and allocations; returns its id.

    Raises `DraftNotEditable` when the campaign is no longer a draft, and `ValueError` (a duplicate name,
    a missing name or type) with the message to show next to the field.
    """
    data = draft.fields
    if draft.campaign_id:
        campaign = get_campaign(session, merchant_id, draft.campaign_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise DraftNotEditable(
                f"{campaign.name} is {campaign.status.value} now; only drafts are edited in the builder. Change it from Campaigns."
            )
        update_campaign(session, merchant_id, campaign.id, CampaignUpdate(**valid_part(data)), actor)
    else:
        campaign = create_campaign(session, merchant_id, CampaignInput(**valid_part(data)), actor)
    channels = list(data.get("channels") or [])
    _sync_contents(session, merchant_id, campaign.id, channels, draft.contents, draft.more, str(data.get("name") or ""))
    _sync_allocations(session, merchant_id, campaign.id, channels, draft.allocations, data.get("start_date"), data.get("end_date"))
    record(session, merchant_id, actor, "campaign.draft_saved", "campaign", campaign.id, step=draft.step)
    return campaign.id


def load_draft(session: Session, merchant_id: str, campaign_id: str) -> SavedDraft:
    """A saved DRAFT campaign with its draft contents and allocations; `DraftNotEditable` once it has left DRAFT."""
    c = get_campaign(session, merchant_id, campaign_id)
    if c.status is not CampaignStatus.DRAFT:
        raise DraftNotEditable(f"{c.name} is {c.status.value}; only drafts open in the builder")
    contents = session.scalars(
        select(CampaignContent).where(CampaignContent.merchant_id == merchant_id, CampaignContent.campaign_id == campaign_id,
                                      CampaignContent.status == ContentStatus.DRAFT).order_by(CampaignContent.id)
    ).all()
    by_channel: dict[str, list[str]] = {}
    for x in contents:
        by_channel.setdefault(x.channel, []).append(x.body)
    allocations = session.scalars(
        select(BudgetAllocation).where(BudgetAllocation.merchant_id == merchant_id, BudgetAllocation.campaign_id == campaign_id)
    ).all()
    return SavedDraft(
        campaign_id=c.id,
        fields={
            "name": c.name,
            "type": c.type,
            "description": c.description or "",
            "channels": [str(ch) for ch in (c.channels or [])],
            "budget": c.budget,
            "start_date": c.start_date,
            "end_date": c.end_date,
            "target_audience": dict(c.target_audience or {}),
            "goals": dict(c.goals or {}),
        },
        contents={channel: bodies[0] for channel, bodies in by_channel.items()},
        allocations={a.channel: a.allocated or Decimal(0) for a in allocations},
        saved_at=c.updated_at,
        more={channel: bodies[1:] for channel, bodies in by_channel.items() if len(bodies) > 1},
    )


def valid_part(data: dict[str, Any]) -> dict[str, Any]:
    """The fields minus those that fail validation on their own, so a builder's early steps can save.

    A bad name or type is not dropped: it raises pydantic's `ValidationError` (a `ValueError`). Fields are
    dropped until the rest validates: the date-order check runs only once every field is valid on its own.
    """
    out = dict(data)
    for _ in range(len(CampaignInput.model_fields) + 1):
        try:
            CampaignInput.model_validate(out)
            return out
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            if any(not e.get("loc") for e in exc.errors()):
                bad.add("end_date")  # the model-level check is the date order
        if bad & {"name", "type"}:
            CampaignInput.model_validate(out)  # raises with the name/type message
        for name in bad:
            out[name] = None if name in _EMPTY_WHEN_INVALID else CampaignInput.model_fields[name].get_default(call_default_factory=True)
    return out


def _sync_contents(session: Session, merchant_id: str, campaign_id: str, channels: list[str], texts: dict[str, str],
                   more: dict[str, list[str]], name: str) -> None:
    rows = session.scalars(
        select(CampaignContent).where(CampaignContent.merchant_id == merchant_id, CampaignContent.campaign_id == campaign_id)
        .order_by(CampaignContent.id)
    ).all()
    by_channel: dict[str, list[CampaignContent]] = {}
    for r in rows:
        if r.status is ContentStatus.DRAFT:  # approved or scheduled content has left the builder
            by_channel.setdefault(r.channel, []).append(r)
    for channel in channels:
        # the channel's drafts in order, paired with its DRAFT rows in the order they were made; an emptied further draft goes
        wanted = [texts.get(channel, ""), *(t for t in more.get(channel, []) if t.strip())]
        existing = by_channel.pop(channel, [])
        for position, text in enumerate(wanted):
            row = existing[position] if position < len(existing) else None
            if row is None:
                if not text.strip():
                    continue
                rollup = MARKETING_CHANNELS.get(channel)
                row = CampaignContent(
                    merchant_id=merchant_id, campaign_id=campaign_id, channel=channel,
                    platform=channel if rollup is Channel.SOCIAL else None,
                    content_type={Channel.EMAIL: "email", Channel.ADS: "ad"}.get(rollup, "post"),
                    status=ContentStatus.DRAFT,
                )
                session.add(row)
            row.title = _title(name, channel, text, position + 1)
            row.body = text
            row.content_hash = content_hash(text)
        for row in existing[len(wanted):]:  # further drafts removed in the builder
            session.delete(row)
    for dropped in by_channel.values():  # channels dropped from the draft
        for row in dropped:
            session.delete(row)
    session.flush()


def _title(name: str, channel: str, text: str, number: int = 1) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip()[:300]
    return (f"{name} · {channel}" + (f" · {number}" if number > 1 else ""))[:300]


def _sync_allocations(session: Session, merchant_id: str, campaign_id: str, channels: list[str], amounts: dict[str, Decimal],
                      start: datetime | None, end: datetime | None) -> None:
    # A draft has no spend and no optimizer recommendation yet, so its allocations are simply replaced.
    session.execute(delete(BudgetAllocation).where(BudgetAllocation.merchant_id == merchant_id, BudgetAllocation.campaign_id == campaign_id))
    period_start: date | None = start.date() if start else None
    period_end: date | None = end.date() if end else None
    for channel in channels:
        session.add(
            BudgetAllocation(
                merchant_id=merchant_id, campaign_id=campaign_id, channel=channel, allocated=amounts.get(channel) or Decimal(0),
                period_start=period_start, period_end=period_end,
            )
        )
    session.flush()
