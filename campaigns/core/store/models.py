"""Tables of the operational store.

Every tenant-owned table carries ``merchant_id``; the services scope every read and write
to one merchant. Ids of campaigns are short strings (``cmp_...``) because the same id
appears in imported touchpoints and spend files.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from campaigns.core.enums import (
    CampaignStatus,
    CampaignType,
    ContentStatus,
    EmailCampaignStatus,
    QueueStatus,
    WorkflowStepStatus,
)
from campaigns.core.store.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)


def _enum(enum_cls: type) -> Enum:
    # Stored as plain strings with a CHECK, so adding a value is a small migration on both backends.
    return Enum(enum_cls, native_enum=False, length=20, validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Merchant(Base, Timestamped):
    __tablename__ = "merchants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")


class TenantOwned:
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)


class Campaign(Base, TenantOwned, Timestamped):
    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[CampaignType] = mapped_column(_enum(CampaignType))
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.DRAFT)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    budget: Mapped[Decimal | None] = mapped_column(Money)
    spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    target_audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    goals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The list's keyset (newest first): a page reads its rows from the index instead of sorting all the merchant's campaigns.
    __table_args__ = (UniqueConstraint("merchant_id", "name", name="uq_campaigns_merchant_name"),
                      Index("ix_campaigns_merchant_created", "merchant_id", "created_at", "id"))


class CampaignContent(Base, TenantOwned, Timestamped):
    __tablename__ = "campaign_contents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str | None] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(30), default="post")
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[ContentStatus] = mapped_column(_enum(ContentStatus), default=ContentStatus.DRAFT)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    scheduled_at: Mapped[datetime | None]
    media_alt: Mapped[list[Any]] = mapped_column(default=list)  # alt text per image, in the order of media
    # an image chosen from the source post ({"src", "alt", "why"}), fetched and stored when the content is scheduled
    media_choice: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class CampaignMetric(Base, TenantOwned):
    __tablename__ = "campaign_metrics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(30))
    impressions: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)
    conversions: Mapped[int] = mapped_column(default=0)
    spend: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # written daily from the marts by the campaign_metrics asset (campaigns/lifecycle/results.py)
    attribution_model: Mapped[str] = mapped_column(String(40), default="linear")  # conversions and revenue are credited by it
    roas: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))  # revenue / spend; null without spend
    cpa: Mapped[Decimal | None] = mapped_column(Money)  # spend / conversions; null without conversions
    email_sends: Mapped[int] = mapped_column(default=0)
    email_opens: Mapped[int] = mapped_column(default=0)  # unique contacts who opened that day
    email_clicks: Mapped[int] = mapped_column(default=0)  # unique contacts who clicked that day
    social_engagements: Mapped[int] = mapped_column(default=0)  # likes + shares + comments + clicks of the campaign's posts
    __table_args__ = (UniqueConstraint("campaign_id", "date", "channel", name="uq_campaign_metrics_day"),)


class RepurposedContent(Base, TenantOwned, Timestamped):
    __tablename__ = "repurposed_content"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    source_title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    source_hash: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(20))
    variant: Mapped[int] = mapped_column(default=1)
    engine: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[ContentStatus] = mapped_column(_enum(ContentStatus), default=ContentStatus.DRAFT)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class SocialAccount(Base, TenantOwned, Timestamped):
    __tablename__ = "social_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    external_id: Mapped[str | None] = mapped_column(String(200))  # the id the platform API wants (user id, page id, URN)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    reauth_reason: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None]  # when the access token stops working (None: no known expiry)
    refresh_expires_at: Mapped[datetime | None]  # when the refresh token (or Facebook's long-lived user token) does
    scopes: Mapped[str | None] = mapped_column(Text)  # space-separated scopes the platform granted
    __table_args__ = (UniqueConstraint("merchant_id", "platform", "handle", name="uq_social_accounts_handle"),)


class SocialQueueItem(Base, TenantOwned, Timestamped):
    __tablename__ = "social_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id", ondelete="CASCADE"))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    content_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contents.id", ondelete="SET NULL"))
    content_kind: Mapped[str | None] = mapped_column(String(30))  # what the approval was given for
    text: Mapped[str] = mapped_column(Text)
    media: Mapped[list[Any]] = mapped_column(default=list)
    media_alt: Mapped[list[Any]] = mapped_column(default=list)  # alt text per image, in the order of media
    content_hash: Mapped[str] = mapped_column(String(64))
    scheduled_at: Mapped[datetime]
    status: Mapped[QueueStatus] = mapped_column(_enum(QueueStatus), default=QueueStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    __table_args__ = (Index("ix_social_queue_due", "status", "scheduled_at"),)


class PublishReceipt(Base, TenantOwned):
    """One publish attempt of a queue item: what was sent, what came back, what was decided."""

    __tablename__ = "publish_receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_item_id: Mapped[int] = mapped_column(ForeignKey("social_queue.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str] = mapped_column(String(80))
    platform: Mapped[str | None] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10), default="sandbox")
    outcome: Mapped[str] = mapped_column(String(30))
    result_status: Mapped[str] = mapped_column(String(20))
    post_ids: Mapped[list[Any]] = mapped_column(default=list)
    error_kind: Mapped[str | None] = mapped_column(String(30))
    status_code: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Contact(Base, TenantOwned, Timestamped):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subscribed: Mapped[bool] = mapped_column(default=True)
    # active; pending (signed up, confirmation link not clicked yet); erased (a pseudonymous husk keeping its events' counts)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    __table_args__ = (UniqueConstraint("merchant_id", "email", name="uq_contacts_merchant_email"),)


class Segment(Base, TenantOwned, Timestamped):
    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EmailTemplate(Base, TenantOwned, Timestamped):
    __tablename__ = "email_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300), default="")
    html: Mapped[str] = mapped_column(Text, default="")
    # marketing templates must carry an unsubscribe link; transactional ones need not
    category: Mapped[str] = mapped_column(String(20), default="marketing")
    description: Mapped[str] = mapped_column(Text, default="")
    # "base": wrapped in the responsive layout; "none": the html is a whole document
    layout: Mapped[str] = mapped_column(String(20), default="base")
    # gallery key the template started from (None for one written from scratch)
    starter: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (UniqueConstraint("merchant_id", "name", name="uq_email_templates_name"),)


class EmailCampaign(Base, TenantOwned, Timestamped):
    __tablename__ = "email_campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="SET NULL"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    preview_text: Mapped[str] = mapped_column(String(150), default="")
    status: Mapped[EmailCampaignStatus] = mapped_column(_enum(EmailCampaignStatus), default=EmailCampaignStatus.DRAFT)
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # broadcast (the segment), ab_variant / ab_remainder (recipients from ab_test_assignments),
    # automation (rows added one contact at a time by automation steps)
    kind: Mapped[str] = mapped_column(String(20), default="broadcast")
    # no foreign key: ab_tests points back here, and a cycle would complicate SQLite's table rebuilds
    ab_test_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # send-time optimisation: spread each recipient to their best hour within this many hours (None: send now)
    send_window_hours: Mapped[int | None]
    # the body a template prints in its {{ content }} slot (a small Markdown subset), and the approved draft it came from
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    source_content_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contents.id", ondelete="SET NULL"))
    __table_args__ = (Index("uq_email_campaigns_source_content", "merchant_id", "source_content_id", unique=True),)


class BudgetAllocation(Base, TenantOwned, Timestamped):
    __tablename__ = "budget_allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(30))
    allocated: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    roi: Mapped[float | None]
    recommended_allocation: Mapped[Decimal | None] = mapped_column(Money)
    recommendation: Mapped[str] = mapped_column(Text, default="")
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)


class CampaignWorkflow(Base, TenantOwned, Timestamped):
    __tablename__ = "campaign_workflows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    step_order: Mapped[int]
    step_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[WorkflowStepStatus] = mapped_column(_enum(WorkflowStepStatus), default=WorkflowStepStatus.PENDING)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # when the step should run (a scheduled publish, a monitoring check); None: as soon as it is reached
    due_at: Mapped[datetime | None]
    # the shared work queue's lease: which runner holds the step and since when
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("campaign_id", "step_order", name="uq_campaign_workflows_step"),)


class Approval(Base, TenantOwned):
    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_kind: Mapped[str] = mapped_column(String(30))
    content_id: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_approvals_content", "content_kind", "content_id", "content_hash"),)


class AuditLog(Base, TenantOwned):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- email delivery ------------------------------------------------------------------------


class EmailSendStatus(StrEnum):
    """One recipient of one email campaign. SENT, FAILED, SUPPRESSED and NEEDS_REVIEW are terminal for a send run."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    CANCELLED = "CANCELLED"  # its campaign completed or was cancelled before it went out


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    MANUAL = "MANUAL"


class EmailSend(Base, TenantOwned, Timestamped):
    """One row per (email campaign, recipient), snapshotted when sending starts; the unit of exactly-once delivery."""

    __tablename__ = "email_sends"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_campaign_id: Mapped[int] = mapped_column(ForeignKey("email_campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    # sha256 of (email campaign, lower-cased address): one copy per address even if two contacts share it
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[EmailSendStatus] = mapped_column(_enum(EmailSendStatus), default=EmailSendStatus.PENDING)
    merge_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    reason_code: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    # set (and committed) just before the request leaves: a crash before it proves nothing was sent
    handed_off_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    __table_args__ = (
        # no (campaign, contact) uniqueness: an automation email reaches a contact once per enrollment;
        # idempotency_key is the one-copy guarantee for every kind of email campaign
        Index("ix_email_sends_recipient", "email_campaign_id", "contact_id"),
        Index("ix_email_sends_claim", "email_campaign_id", "status", "next_attempt_at"),
        Index("ix_email_sends_claim_order", "email_campaign_id", "status", "id"),  # claims take the lowest PENDING ids
    )


class Suppression(Base, TenantOwned):
    """An address the merchant must not email again: unsubscribed, bounced, complained or added by hand."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason))
    source: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("merchant_id", "email", name="uq_suppressions_merchant_email"),)


# --- email campaigns: events, A/B tests, automations -------------------------------------------


class ContactEvent(Base, TenantOwned):
    """Something a contact did: opened, clicked, purchased, signed_up, tag_added, ... (segments, RFM, A/B metrics, send times).

    ``event_key`` makes imports and provider webhooks idempotent: one row per key per merchant.
    """

    __tablename__ = "contact_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    email_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("email_campaigns.id", ondelete="SET NULL"), index=True)
    value: Mapped[Decimal | None] = mapped_column(Money)  # revenue of a purchase
    event_key: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (
        Index("ix_contact_events_contact_kind_time", "contact_id", "kind", "occurred_at"),
        UniqueConstraint("merchant_id", "event_key", name="uq_contact_events_key"),
    )


class AbTest(Base, TenantOwned, Timestamped):
    """An email A/B test: variants sent to test cells, a stated decision rule, the winner sent to the rest.

    status: DRAFT, TESTING, DECIDED, WINNER_SENT, CANCELLED.
    """

    __tablename__ = "ab_tests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    variable: Mapped[str] = mapped_column(String(20))  # subject, content, send_time
    metric: Mapped[str] = mapped_column(String(20))  # open, click, conversion, revenue
    cell_size: Mapped[int]  # recipients per variant
    decision_rule: Mapped[str] = mapped_column(String(20), default="bayesian")  # bayesian, sequential
    threshold: Mapped[float] = mapped_column(default=0.95)
    min_hours: Mapped[int] = mapped_column(default=4)  # wait at least this long after the cells were sent
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    winner_position: Mapped[int | None]
    decided_at: Mapped[datetime | None]
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remainder_email_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("email_campaigns.id", ondelete="SET NULL"))


class AbTestVariant(Base, TenantOwned):
    __tablename__ = "ab_test_variants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ab_test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"))
    position: Mapped[int]  # 0 is the control
    label: Mapped[str] = mapped_column(String(100))
    email_campaign_id: Mapped[int] = mapped_column(ForeignKey("email_campaigns.id", ondelete="CASCADE"), unique=True)
    send_hour: Mapped[int | None]  # local hour of day, for send_time tests
    __table_args__ = (UniqueConstraint("ab_test_id", "position", name="uq_ab_test_variants_position"),)


class AbTestAssignment(Base, TenantOwned):
    """Which cell a contact of the test's audience is in; position NULL is the remainder (gets the winner)."""

    __tablename__ = "ab_test_assignments"
    ab_test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int | None]
    __table_args__ = (Index("ix_ab_test_assignments_cell", "ab_test_id", "position"),)


class Automation(Base, TenantOwned, Timestamped):
    """An automation workflow: a trigger and a graph of steps (JSON, validated by the automation service).

    status: DRAFT, ACTIVE, PAUSED, ARCHIVED.
    """

    __tablename__ = "automations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    trigger: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    # only contacts whose trigger happened at or after this time are enrolled (no surprise back-fill)
    active_since: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("merchant_id", "name", name="uq_automations_name"),)


class AutomationEnrollment(Base, TenantOwned, Timestamped):
    """One contact's run through one automation: the persisted state machine.

    status: ACTIVE (a step is due), WAITING (until wake_at), COMPLETED, EXITED, FAILED.
    """

    __tablename__ = "automation_enrollments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    trigger_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    current_step: Mapped[str | None] = mapped_column(String(60))
    step_seq: Mapped[int] = mapped_column(default=0)  # steps taken so far; the next step run gets this number
    wake_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (
        UniqueConstraint("automation_id", "contact_id", "trigger_key", name="uq_automation_enrollments_trigger"),
        Index("ix_automation_enrollments_due", "status", "wake_at"),
    )


class AutomationStepRun(Base, TenantOwned):
    """A step an enrollment took; (enrollment, seq) is unique, so a step can never run twice."""

    __tablename__ = "automation_step_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("automation_enrollments.id", ondelete="CASCADE"))
    seq: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(60))
    step_type: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(40), default="")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("enrollment_id", "seq", name="uq_automation_step_runs_seq"),)


# --- agents and budgets -------------------------------------------------------------------------


class LlmUsage(Base, TenantOwned):
    """One LLM call's tokens and cost (None when the model has no price), per campaign where there is one."""

    __tablename__ = "llm_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(80))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cache_creation_input_tokens: Mapped[int] = mapped_column(default=0)
    cache_read_input_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BudgetRebalance(Base, TenantOwned):
    """An applied budget recommendation: what each channel's allocation was and became, so it can be undone."""

    __tablename__ = "budget_rebalances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    changes: Mapped[list[Any]] = mapped_column(default=list)  # [{"channel", "before", "after"}]
    predicted_gain: Mapped[Decimal | None] = mapped_column(Money)
    applied_by: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None]


class WorkAttempt(Base, TenantOwned):
    """One attempt at one item of a work queue (an email send, a post, an automation step, a workflow step).

    Written in the transaction that records the attempt's outcome, so the log and the item never disagree.
    """

    __tablename__ = "work_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[int]
    attempt: Mapped[int]
    worker_id: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_work_attempts_item", "queue", "item_id"),)


# --- outbound webhooks: subscriptions, the outbox, deliveries -------------------------------------


class WebhookEndpoint(Base, TenantOwned, Timestamped):
    """A URL a merchant subscribed to events; signed with its own secret (Standard Webhooks).

    During a rotation the previous secret also signs until `previous_secret_expires_at`, so the
    receiver can switch keys without dropping a message.
    """

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)  # event types, or ["*"]
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(400))
    failing_since: Mapped[datetime | None]  # first failure since the last success; a day of it disables the endpoint


class OutboxEvent(Base, TenantOwned):
    """An event, written in the transaction of the change it reports; fanned out to endpoints afterwards."""

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # the `webhook-id`: stable across retries
    type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class WebhookDelivery(Base, TenantOwned):
    """One event to one endpoint: a work-queue item (claimed, retried with backoff, logged in work_attempts)."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.event_id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="PENDING")  # PENDING, DELIVERED, FAILED (gave up)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )


# --- OAuth connection of social accounts -------------------------------------------------


class OAuthConnection(Base, TenantOwned, Timestamped):
    """A connection started (authorization URL handed out) and waiting for the platform's callback.

    Only a hash of ``state`` is kept, so a copy of the store cannot answer a callback; the PKCE
    verifier is encrypted like the tokens. A connection is completed once, before ``expires_at``.
    """

    __tablename__ = "oauth_connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_verifier_enc: Mapped[str | None] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    target: Mapped[str | None] = mapped_column(String(200))  # only this page / organization, when given
    started_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    error: Mapped[str | None] = mapped_column(Text)
    account_ids: Mapped[list[Any]] = mapped_column(default=list)
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


# --- contacts: consent and data protection ------------------------------------------------------


class ContactConsent(Base, TenantOwned):
    """One consent decision of one contact, never updated: the latest row per (contact, purpose) is the current state.

    ``granted`` False records a withdrawal (unsubscribe, complaint, an edit). ``ip`` and ``user_agent``
    are kept only for consent given through a web form, as evidence of the opt-in.
    """

    __tablename__ = "contact_consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(40), default="email_marketing")
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(200))  # where: "import:customers.csv", "signup form", "cli"
    wording: Mapped[str] = mapped_column(Text, default="")  # what the person agreed to, as shown to them
    occurred_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_contact_consents_contact", "contact_id", "purpose", "occurred_at"),)


class PrivacySalt(Base):
    """The merchant's random salt for hashing erased addresses on the suppression list (one row per merchant)."""

    __tablename__ = "privacy_salts"
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- HTTP API: API keys and idempotency records -------------------------------------------------


class ApiKey(Base, TenantOwned):
    """A per-merchant API key: only a hash of the secret is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(20), unique=True)  # the public part of the key, to find its row
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole key (the key is 256 random bits)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class IdempotencyRecord(Base, TenantOwned):
    """The response given to a POST carrying an Idempotency-Key, replayed when the same key comes again."""

    __tablename__ = "idempotency_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))  # the caller: an API key,
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # or a person with an OIDC token
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_records_api_key_id_key"),
                      UniqueConstraint("merchant_id", "user_id", "key", name="uq_idempotency_records_merchant_id_user_id_key"))


# --- brand voice (Leo's copy rules per merchant) --------------------------------------------------


class MerchantBrandVoice(Base, Timestamped):
    """How a merchant's copy sounds: words to avoid, emoji on or off, hashtags per post, a sign-off; read by both of Leo's engines."""

    __tablename__ = "merchant_brand_voices"
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    words_to_avoid: Mapped[list[Any]] = mapped_column(default=list)
    emoji: Mapped[bool] = mapped_column(default=False)
    hashtag_count: Mapped[int | None]
    sign_off: Mapped[str] = mapped_column(String(200), default="")


# --- access: users, memberships, sign-in --------------------------------------------------------


class User(Base, Timestamped):
    """A person who signs in: by a local password (argon2id hash) or through the identity provider (no hash)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased; the OIDC `email` claim matches it
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


class Membership(Base, TenantOwned):
    """A user's role on one merchant; no row, no access."""

    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # campaigns.access.roles.Role
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "merchant_id", name="uq_memberships_user_merchant"),)


class LoginAttempt(Base):
    """Every sign-in attempt, kept for the lockout and for investigation (no password, ever)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(40), default="")
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    """A signed-in session of the app; only the sha256 of its token is stored."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # "password" or "oidc"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class MerchantPolicy(Base):
    """Per-merchant access rules; `four_eyes`: the author of content may not approve it."""

    __tablename__ = "merchant_policies"
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignAlert(Base, TenantOwned, Timestamped):
    """Something the campaign monitor found wrong (pacing, KPI behind, ROAS drop, ...), shown on the Overview and the campaign page.

    One active alert per campaign × kind: ``open_key`` is ``<campaign_id>:<kind>`` while the alert is OPEN or
    ACKNOWLEDGED and null once it is DISMISSED or RESOLVED, so the unique constraint allows one active alert
    and any number of closed ones. A monitor run that finds the same problem again updates it.
    """

    __tablename__ = "campaign_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))  # warning, critical
    status: Mapped[str] = mapped_column(String(20), default="OPEN")  # OPEN, ACKNOWLEDGED, DISMISSED, RESOLVED
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # value, threshold, the contingency's response
    open_key: Mapped[str | None] = mapped_column(String(120))
    first_raised_at: Mapped[datetime]
    last_raised_at: Mapped[datetime]
    times_raised: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("merchant_id", "open_key", name="uq_campaign_alerts_open"),)
