"""The recipient snapshot: who gets an email campaign, frozen into ``email_sends`` rows before anything is sent.

`prepare_send` writes one row per address (PENDING, or SUPPRESSED for the suppression list, unsubscribed
contacts and contacts without consent) and moves the email campaign to SENDING, in the caller's transaction.
*Who* the recipients are, and *when* each copy is due, come from a `RecipientSelection`: the
segment by default (`SegmentRecipients`); an A/B test passes its own for its cells and its
remainder (campaigns.email.ab_tests), so this module knows nothing of A/B tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select, text, update
from sqlalchemy.orm import Session

from campaigns.audiences import segments as segment_rules
from campaigns.audiences.suppression import normalise_email, suppressed_emails
from campaigns.core.audit import record
from campaigns.core.enums import EmailCampaignStatus
from campaigns.core.merchants import require_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import dialect_insert as _insert
from campaigns.core.store.models import Contact, EmailCampaign, EmailSend, EmailSendStatus, Segment
from campaigns.core.store.types import utcnow
from campaigns.email import send_times
from campaigns.email import template_engine as email_templates
from campaigns.email.broadcasts import campaign_counts, get_email_campaign, require_approved
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.rendering import render_campaign, template_html
from campaigns.email.throttle import hourly_capacity

BROADCAST = "broadcast"


class RecipientSelection(Protocol):
    """Who an email campaign goes to and when each copy is due; `prepare_send` asks it, then snapshots the answer."""

    def contacts(self, session: Session, ec: EmailCampaign, now: datetime) -> Select:
        """A query over `Contact` (any columns: the snapshot picks its own); raise EmailDeliveryError naming the fix."""
        ...

    def send_times(self, session: Session, ec: EmailCampaign, contacts: list[tuple[int, str | None]], now: datetime,
                   capacity: int | None) -> dict[int, datetime]:
        """Contact id -> when its copy is due (absent: now); `capacity` is the provider's messages per hour."""
        ...


def segment_contacts(session: Session, merchant_id: str, segment_id: int, now: datetime) -> Select:
    """The query over `Contact` of a broadcast's segment (EmailDeliveryError when the segment does not exist)."""
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == segment_id))
    if segment is None:
        raise EmailDeliveryError(f"segment {segment_id} does not exist for merchant {merchant_id!r}; pick a saved segment")
    return segment_rules.contacts_query(merchant_id, segment.rules, now)


class SegmentRecipients:
    """A broadcast: the contacts of the email campaign's segment, each at their best hour when it has a send window."""

    def contacts(self, session: Session, ec: EmailCampaign, now: datetime) -> Select:
        if ec.kind != BROADCAST:
            raise EmailDeliveryError(f"email campaign {ec.id} is {ec.kind}: its recipients come from its A/B test or automation, "
                                     "not its segment; send it from there (`campaigns email ab-...` or `campaigns automations ...`)")
        if ec.segment_id is None:
            raise EmailDeliveryError(f"email campaign {ec.id} has no segment (it was deleted?); create the email campaign again with --segment")
        return segment_contacts(session, ec.merchant_id, ec.segment_id, now)

    def send_times(self, session: Session, ec: EmailCampaign, contacts: list[tuple[int, str | None]], now: datetime,
                   capacity: int | None) -> dict[int, datetime]:
        if ec.send_window_hours:
            return send_times.plan_optimised(session, ec.merchant_id, contacts, now, ec.send_window_hours, capacity)
        return {}


SEGMENT = SegmentRecipients()


ANALYZE_AFTER = 10_000  # rows a snapshot adds before its table's statistics are refreshed


@dataclass(frozen=True)
class PrepareResult:
    email_campaign_id: int
    added: int  # rows written by this call (0 when sending had already started)
    counts: dict[str, int]


_SNAPSHOT_COLUMNS = (Contact.id, Contact.email, Contact.first_name, Contact.last_name, Contact.subscribed, Contact.timezone, Contact.attributes,
                     Contact.status)


def _classified(session: Session, merchant_id: str, query: Select) -> list[tuple[Any, str, tuple[str, str] | None]]:
    """Each distinct mailbox of `query` once: (contact row, normalised address, None or (reason code, reason) it is not sent).

    The one rule of who is reached: not on the suppression list, consent confirmed (status active), subscribed.
    `prepare_send` snapshots it; `audience_size` counts it, so the size the app shows is the size a send would have.
    """
    contacts = session.execute(query.with_only_columns(*_SNAPSHOT_COLUMNS).order_by(Contact.id)).all()
    suppressed = suppressed_emails(session, merchant_id, (c.email for c in contacts))
    out, seen = [], set()
    for contact in contacts:
        address = normalise_email(contact.email)
        if address in seen:
            continue  # two contacts spelling one mailbox differently get one copy
        seen.add(address)
        excluded = None
        if address in suppressed:
            excluded = (suppressed[address].value.lower(), f"on the suppression list ({suppressed[address].value})")
        elif contact.status != "active":
            excluded = ("no_consent", "the contact has not confirmed their sign-up" if contact.status == "pending" else "the contact was erased")
        elif not contact.subscribed:
            excluded = ("unsubscribed", "the contact is unsubscribed")
        out.append((contact, address, excluded))
    return out


@dataclass(frozen=True)
class AudienceSize:
    """Who a broadcast to a segment would reach if it were sent now."""

    reachable: int  # distinct mailboxes that would get a copy
    excluded: dict[str, int]  # reason code -> distinct mailboxes left out (suppressed, unsubscribed, no consent)

    @property
    def total(self) -> int:
        return self.reachable + sum(self.excluded.values())


def audience_size(session: Session, merchant_id: str, segment_id: int, now: datetime | None = None) -> AudienceSize:
    """The live size of a segment as a broadcast would snapshot it now (the same rule as `prepare_send`)."""
    snapshot = _classified(session, merchant_id, segment_contacts(session, merchant_id, segment_id, now or utcnow()))
    excluded: dict[str, int] = {}
    for _, _, reason in snapshot:
        if reason is not None:
            excluded[reason[0]] = excluded.get(reason[0], 0) + 1
    return AudienceSize(sum(1 for *_, reason in snapshot if reason is None), excluded)


def idempotency_key(email_campaign_id: int, email: str) -> str:
    return "es_" + hashlib.sha256(f"{email_campaign_id}|{normalise_email(email)}".encode()).hexdigest()[:60]


def prepare_send(session: Session, merchant_id: str, email_campaign_id: int, actor: str, now: datetime | None = None,
                 provider: str | None = None, recipients: RecipientSelection = SEGMENT) -> PrepareResult:
    """Snapshot the recipients into PENDING/SUPPRESSED rows and move the email campaign to SENDING (audited).

    Recipients and their due times come from `recipients` (the segment by default, see `RecipientSelection`);
    the due times are spread within `provider`'s hourly capacity (default: the configured provider).
    One transaction (the caller's). Already SENDING: nothing is added, the counts come back.
    """
    now = now or utcnow()
    ec = get_email_campaign(session, merchant_id, email_campaign_id)
    if ec.status is EmailCampaignStatus.SENDING:
        return PrepareResult(ec.id, 0, campaign_counts(session, merchant_id, ec.id))
    if ec.status not in (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED):
        raise EmailDeliveryError(f"email campaign {ec.id} is {ec.status.value}; only DRAFT or SCHEDULED ones can be sent (create a new one to send again)")
    query = recipients.contacts(session, ec, now)
    merchant = require_merchant(session, merchant_id)
    rendered = render_campaign(ec.subject, ec.preview_text, template_html(session, ec), merchant.name)
    require_approved(session, ec)
    # claim the transition first: a second prepare running at the same moment waits here, then finds SENDING
    before = ec.status
    moved = session.execute(update(EmailCampaign).where(EmailCampaign.id == ec.id, EmailCampaign.status.in_(
        (EmailCampaignStatus.DRAFT, EmailCampaignStatus.SCHEDULED))).values(status=EmailCampaignStatus.SENDING, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(ec)
    if moved != 1:
        return PrepareResult(ec.id, 0, campaign_counts(session, merchant_id, ec.id))
    snapshot = _classified(session, merchant_id, query)
    send_at = recipients.send_times(session, ec, [(c.id, c.timezone) for c, _, _ in snapshot], now,
                                    hourly_capacity(provider or get_settings().email_provider))
    rows = []
    for contact, address, excluded in snapshot:
        row: dict[str, Any] = {
            "merchant_id": merchant_id, "email_campaign_id": ec.id, "contact_id": contact.id, "email": contact.email.strip(),
            "idempotency_key": idempotency_key(ec.id, address), "status": EmailSendStatus.PENDING, "attempts": 0,
            # contact fields plus the custom fields the email prints, as they are now (defaults apply when filled)
            "merge_values": email_templates.merge_snapshot(contact.first_name, contact.last_name, contact.email, contact.attributes, rendered),
            "reason_code": None, "reason": None, "finished_at": None, "created_at": now, "updated_at": now,
            "next_attempt_at": send_at.get(contact.id),
        }
        if excluded is not None:
            row.update(status=EmailSendStatus.SUPPRESSED, reason_code=excluded[0], finished_at=now, reason=excluded[1])
        rows.append(row)
    added = 0
    for start in range(0, len(rows), 500):
        result = session.execute(_insert(session)(EmailSend).on_conflict_do_nothing().returning(EmailSend.id), rows[start : start + 500])
        added += len(result.all())
    if added >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # fresh statistics before the workers' first claims: without them PostgreSQL scanned every PENDING row per
        # claim until autovacuum came by (747 ms per claim at 190k recipients)
        session.execute(text("ANALYZE email_sends"))
    counts = campaign_counts(session, merchant_id, ec.id)
    ec.stats = counts
    record(session, merchant_id, actor, "email.prepare", "email_campaign", str(ec.id), before=before.value, after=EmailCampaignStatus.SENDING.value,
           segment_id=ec.segment_id, kind=ec.kind, recipients=len(rows), scheduled=len(send_at),
           **{k: v for k, v in counts.items() if k in ("pending", "suppressed")})
    session.flush()
    return PrepareResult(ec.id, added, counts)
