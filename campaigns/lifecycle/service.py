"""Campaign create/list/get/update/delete/launch/pause, scoped to one merchant and audited."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from campaigns.core.enums import MARKETING_CHANNELS, CampaignStatus, CampaignType, Channel
from campaigns.lifecycle.states import CampaignFacts, TransitionError, check_transition
from campaigns.core.audit import record
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Campaign


class CampaignNotFoundError(LookupError):
    pass


def _valid_channel(value: str) -> str:
    """Seed channels (EMAIL, SOCIAL, ADS) or marketing channels (email, x, google_ads, ...)."""
    value = value.strip()
    if value in Channel.__members__ or value in MARKETING_CHANNELS:
        return value
    if value.lower() in MARKETING_CHANNELS:
        return value.lower()
    allowed = ", ".join([*Channel.__members__, *MARKETING_CHANNELS])
    raise ValueError(f"unknown channel {value!r}; use one of {allowed}")


def _valid_channels(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(_valid_channel(v) for v in values))


def _aware_datetime(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-12-01T00:00:00+00:00")
    return value


class CampaignInput(BaseModel):
    """Fields a person sets; validated before anything touches the store."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: CampaignType
    description: str = ""
    channels: list[str] = Field(default_factory=list)
    budget: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    start_date: datetime | None = None
    end_date: datetime | None = None
    target_audience: dict[str, Any] = Field(default_factory=dict)
    goals: dict[str, Any] = Field(default_factory=dict)

    _channels = field_validator("channels")(classmethod(lambda cls, v: _valid_channels(v)))
    _aware = field_validator("start_date", "end_date")(classmethod(lambda cls, v: _aware_datetime(v)))

    @model_validator(mode="after")
    def _dates_in_order(self) -> CampaignInput:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: CampaignType | None = None
    description: str | None = None
    channels: list[str] | None = None
    budget: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    start_date: datetime | None = None
    end_date: datetime | None = None
    target_audience: dict[str, Any] | None = None
    goals: dict[str, Any] | None = None

    _channels = field_validator("channels")(classmethod(lambda cls, v: _valid_channels(v)))
    _aware = field_validator("start_date", "end_date")(classmethod(lambda cls, v: _aware_datetime(v)))


def new_campaign_id() -> str:
    return f"cmp_{secrets.token_hex(4)}"


def create_campaign(session: Session, merchant_id: str, data: CampaignInput, actor: str, campaign_id: str | None = None) -> Campaign:
    require_merchant(session, merchant_id)
    _refuse_duplicate_name(session, merchant_id, data.name)
    campaign = Campaign(id=campaign_id or new_campaign_id(), merchant_id=merchant_id, status=CampaignStatus.DRAFT, **data.model_dump())
    session.add(campaign)
    session.flush()
    record(session, merchant_id, actor, "campaign.create", "campaign", campaign.id, name=campaign.name)
    return campaign


def list_campaigns(
    session: Session,
    merchant_id: str,
    status: CampaignStatus | None = None,
    type: CampaignType | None = None,
    search: str | None = None,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Campaign]:
    """Newest first (then by id). `after` (created_at, id) of the last row seen and `limit` page through them (keyset pagination)."""
    query = select(Campaign).where(Campaign.merchant_id == merchant_id)
    if after is not None:
        created, last_id = after
        query = query.where(or_(Campaign.created_at < created, and_(Campaign.created_at == created, Campaign.id > last_id)))
    if limit is not None:
        query = query.limit(limit)
    if status is not None:
        query = query.where(Campaign.status == status)
    if type is not None:
        query = query.where(Campaign.type == type)
    if search:
        query = query.where(func.lower(Campaign.name).contains(search.lower()))
    return list(session.scalars(query.order_by(Campaign.created_at.desc(), Campaign.id)))


def get_campaign(session: Session, merchant_id: str, campaign_id: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id))
    if campaign is None:
        # Same message whether the id is absent or another merchant's: ids must not leak across tenants.
        raise CampaignNotFoundError(f"no campaign {campaign_id!r} for merchant {merchant_id!r}; list them with `campaigns campaigns list`")
    return campaign


def update_campaign(session: Session, merchant_id: str, campaign_id: str, changes: CampaignUpdate, actor: str) -> Campaign:
    campaign = get_campaign(session, merchant_id, campaign_id)
    if campaign.status is CampaignStatus.COMPLETED:
        raise TransitionError("cannot edit a COMPLETED campaign: completed campaigns are final; duplicate it to run again")
    fields = changes.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] != campaign.name:
        _refuse_duplicate_name(session, merchant_id, fields["name"])
    start = fields.get("start_date", campaign.start_date)
    end = fields.get("end_date", campaign.end_date)
    if start and end and end <= start:
        raise ValueError("end_date must be after start_date")
    if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE) and any(
        fields.get(k, 1) is None for k in ("budget", "start_date", "end_date")
    ):
        raise TransitionError(f"a {campaign.status.value} campaign needs its dates and budget; pause or unschedule it first")
    before = {k: getattr(campaign, k) for k in fields}
    for key, value in fields.items():
        setattr(campaign, key, value)
    session.flush()
    record(session, merchant_id, actor, "campaign.update", "campaign", campaign.id, before=before, after=fields)
    return campaign


def delete_campaign(session: Session, merchant_id: str, campaign_id: str, actor: str) -> None:
    campaign = get_campaign(session, merchant_id, campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise TransitionError(
            f"cannot delete a {campaign.status.value} campaign: only drafts can be deleted; complete it instead to keep its history"
        )
    session.delete(campaign)
    record(session, merchant_id, actor, "campaign.delete", "campaign", campaign_id, name=campaign.name)


def transition(session: Session, merchant_id: str, campaign_id: str, action: str, actor: str) -> Campaign:
    """Apply a lifecycle action (schedule, launch, pause, resume, complete, unschedule)."""
    campaign = get_campaign(session, merchant_id, campaign_id)
    before = campaign.status
    campaign.status = check_transition(action, facts_of(campaign))
    session.flush()
    record(session, merchant_id, actor, f"campaign.{action}", "campaign", campaign.id, before=before.value, after=campaign.status.value)
    return campaign


def launch_campaign(session: Session, merchant_id: str, campaign_id: str, actor: str) -> Campaign:
    return transition(session, merchant_id, campaign_id, "launch", actor)


def pause_campaign(session: Session, merchant_id: str, campaign_id: str, actor: str) -> Campaign:
    return transition(session, merchant_id, campaign_id, "pause", actor)


def facts_of(campaign: Campaign) -> CampaignFacts:
    return CampaignFacts(
        status=CampaignStatus(campaign.status),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        budget=campaign.budget,
        has_channels=bool(campaign.channels),
    )


def _refuse_duplicate_name(session: Session, merchant_id: str, name: str) -> None:
    exists = session.scalar(select(Campaign.id).where(Campaign.merchant_id == merchant_id, Campaign.name == name))
    if exists:
        raise ValueError(f"a campaign named {name!r} already exists ({exists}); pick another name")
