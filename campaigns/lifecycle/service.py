"""Campaign create/list/get/update/delete/launch/pause, scoped to one merchant and audited."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from campaigns.core.enums import MARKETING_CHANNELS, CampaignStatus, CampaignType, Channel
from campaigns.lifecycle.states import CampaignFacts, TransitionError, check_transition, explain_edit_refusal
from campaigns.core.audit import record
from campaigns.core.outbox import emit
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Campaign
from campaigns.core.store.types import utcnow


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
    """Newest first (ties by id, also descending). `after` (created_at, id) of the last row seen and `limit` page through them
    (keyset pagination, served in that order by `ix_campaigns_merchant_created`)."""
    return list(session.scalars(_listing(select(Campaign), Campaign, merchant_id, status, type, search, after, limit)))


def campaign_rows(
    session: Session,
    merchant_id: str,
    status: CampaignStatus | None = None,
    type: CampaignType | None = None,
    search: str | None = None,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """`list_campaigns` as plain rows of every column (no ORM objects to build and track): for readers that only render them."""
    result = session.execute(_listing(select(Campaign.__table__), Campaign.__table__.c, merchant_id, status, type, search, after, limit))
    keys = tuple(result.keys())
    return [dict(zip(keys, row)) for row in result.all()]  # a third cheaper than one RowMapping per row


def _listing(query: Select, c: Any, merchant_id: str, status: CampaignStatus | None, type: CampaignType | None,  # noqa: ANN401
             search: str | None, after: tuple[datetime, str] | None, limit: int | None) -> Select:
    query = query.where(c.merchant_id == merchant_id)
    if after is not None:
        created, last_id = after
        query = query.where(or_(c.created_at < created, and_(c.created_at == created, c.id < last_id)))
    if limit is not None:
        query = query.limit(limit)
    if status is not None:
        query = query.where(c.status == status)
    if type is not None:
        query = query.where(c.type == type)
    if search:
        query = query.where(func.lower(c.name).contains(search.lower()))
    return query.order_by(c.created_at.desc(), c.id.desc())  # one direction: the index is read backwards, nothing sorted


def get_campaign(session: Session, merchant_id: str, campaign_id: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id))
    if campaign is None:
        raise _not_found(merchant_id, campaign_id)
    return campaign


def check_campaign(session: Session, merchant_id: str, campaign_id: str) -> None:
    """CampaignNotFoundError unless the merchant has this campaign (one indexed lookup, nothing loaded)."""
    columns = Campaign.__table__.c
    if session.execute(select(columns.id).where(columns.merchant_id == merchant_id, columns.id == campaign_id)).first() is None:
        raise _not_found(merchant_id, campaign_id)


def _not_found(merchant_id: str, campaign_id: str) -> CampaignNotFoundError:
    # Same message whether the id is absent or another merchant's: ids must not leak across tenants.
    return CampaignNotFoundError(f"no campaign {campaign_id!r} for merchant {merchant_id!r}; list them with `campaigns campaigns list`")


class StaleCampaignError(TransitionError):
    """The campaign changed since the version the caller read (its `updated_at` moved on): nothing was written."""


def update_campaign(session: Session, merchant_id: str, campaign_id: str, changes: CampaignUpdate, actor: str,
                    *, if_updated_at: datetime | None = None) -> Campaign:
    """Apply `changes` (audited). With `if_updated_at`, the write is a compare-and-set on that version: an edit committed
    by someone else since it was read makes this one raise StaleCampaignError and write nothing."""
    campaign = get_campaign(session, merchant_id, campaign_id)
    if if_updated_at is not None and campaign.updated_at != if_updated_at:
        raise StaleCampaignError(f"campaign {campaign_id} changed since you read it; read it again and re-apply your change")
    fields = changes.model_dump(exclude_unset=True)
    refusals = [reason for key in fields if fields[key] != getattr(campaign, key)
                and (reason := explain_edit_refusal(CampaignStatus(campaign.status), key)) is not None]
    if refusals:
        raise TransitionError(refusals[0])
    if "name" in fields and fields["name"] != campaign.name:
        _refuse_duplicate_name(session, merchant_id, fields["name"])
    start = fields.get("start_date", campaign.start_date)
    end = fields.get("end_date", campaign.end_date)
    if start and end and end <= start:
        raise ValueError("end_date must be after start_date")
    if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE, CampaignStatus.PAUSED) and any(
        fields.get(k, 1) is None for k in ("budget", "start_date", "end_date")
    ):
        raise TransitionError(f"a {campaign.status.value} campaign keeps its dates and budget; only a DRAFT (unschedule a SCHEDULED one) can have them cleared")
    if not fields:
        return campaign
    before = {k: getattr(campaign, k) for k in fields}
    read_version = campaign.updated_at
    # a new version strictly after the one read, even on a clock that stands still (a frozen test clock) or steps back
    version = max(utcnow(), read_version + timedelta(microseconds=1))
    done = session.execute(update(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id,
                                                  Campaign.updated_at == read_version)
                           .values(**fields, updated_at=version).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise StaleCampaignError(f"campaign {campaign_id} changed since you read it; read it again and re-apply your change")
    for key, value in {**fields, "updated_at": version}.items():
        set_committed_value(campaign, key, value)
    record(session, merchant_id, actor, "campaign.update", "campaign", campaign.id, before=before, after=fields)
    return campaign


def duplicate_campaign(session: Session, merchant_id: str, campaign_id: str, actor: str, name: str | None = None) -> Campaign:
    """A DRAFT copy of any campaign (type, description, channels, budget, audience, goals; no dates, no queued items).

    The copy gets dates of its own: a finished campaign's dates have passed, and a running one's belong to it.
    """
    source = get_campaign(session, merchant_id, campaign_id)
    if name is None:
        taken = set(session.scalars(select(Campaign.name).where(Campaign.merchant_id == merchant_id)))
        base = f"{source.name} (copy)"[:200]
        name = next(candidate for n in range(1, len(taken) + 2) if (candidate := base if n == 1 else f"{base[:195]} {n}") not in taken)
    data = CampaignInput(name=name, type=source.type, description=source.description or "", channels=list(source.channels or []),
                         budget=source.budget, target_audience=dict(source.target_audience or {}), goals=dict(source.goals or {}))
    copy = create_campaign(session, merchant_id, data, actor)
    record(session, merchant_id, actor, "campaign.duplicate", "campaign", copy.id, source=source.id)
    return copy


def delete_campaign(session: Session, merchant_id: str, campaign_id: str, actor: str) -> None:
    campaign = get_campaign(session, merchant_id, campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise TransitionError(
            f"cannot delete a {campaign.status.value} campaign: only drafts can be deleted; complete it instead to keep its history"
        )
    session.delete(campaign)
    record(session, merchant_id, actor, "campaign.delete", "campaign", campaign_id, name=campaign.name)


class ConcurrentChangeError(TransitionError):
    """Another person or scheduler tick changed the campaign's status between reading and writing it."""


def transition(session: Session, merchant_id: str, campaign_id: str, action: str, actor: str, **detail: Any) -> Campaign:
    """Apply a lifecycle action (schedule, launch, pause, resume, complete, cancel, unschedule).

    The write is a compare-and-set on the status read, so of two concurrent changes (two scheduler
    ticks, a tick and a person) one wins and the other gets ConcurrentChangeError: never two audit entries.
    """
    campaign = get_campaign(session, merchant_id, campaign_id)
    before = campaign.status
    after = check_transition(action, facts_of(campaign))
    done = session.execute(update(Campaign).where(Campaign.merchant_id == merchant_id, Campaign.id == campaign_id, Campaign.status == before)
                           .values(status=after).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ConcurrentChangeError(f"campaign {campaign_id} changed meanwhile (it is no longer {before.value}); reload it and try again")
    set_committed_value(campaign, "status", after)
    record(session, merchant_id, actor, f"campaign.{action}", "campaign", campaign.id, before=before.value, after=after.value, **detail)
    if after is not before:
        emit(session, merchant_id, "campaign.status_changed",
             {"campaign_id": campaign.id, "name": campaign.name, "action": action, "from": before.value, "to": after.value})
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


def due_changes(session: Session, now: datetime, merchant_id: str | None = None) -> list[tuple[str, str, str]]:
    """(merchant id, campaign id, action) for every campaign whose start or end instant has come at `now`.

    A SCHEDULED campaign launches at its start; an ACTIVE one completes at its end. Dates are instants (the
    wizard, the planner and the CLI turn the merchant's local dates into them), so comparing with `now`
    is the same as comparing in the merchant's time zone. A PAUSED campaign waits for a person.
    """
    query = select(Campaign.merchant_id, Campaign.id, Campaign.status).where(
        ((Campaign.status == CampaignStatus.SCHEDULED) & (Campaign.start_date <= now))
        | ((Campaign.status == CampaignStatus.ACTIVE) & (Campaign.end_date <= now)))
    if merchant_id is not None:
        query = query.where(Campaign.merchant_id == merchant_id)
    rows = session.execute(query.order_by(Campaign.merchant_id, Campaign.start_date, Campaign.id)).all()
    return [(m, c, "launch" if s is CampaignStatus.SCHEDULED else "complete") for m, c, s in rows]
