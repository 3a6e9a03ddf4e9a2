"""A campaign's status runs its channels: the scheduler's tick, and what pause, resume, complete and cancel do to
the campaign's queued posts, email sends and workflow steps.

* **tick**: a SCHEDULED campaign becomes ACTIVE at its start instant and an ACTIVE one COMPLETED at its end;
  each change is its own audited transaction and a compare-and-set, so two ticks at once change a campaign once.
* **pause** changes no item: every queue's claim skips the items of a PAUSED campaign (the one rule
  `campaigns.core.queue.not_held`), so they keep their place and show "held: campaign paused".
* **resume** releases what is still in its window; what passed its moment while paused is not sent
  (cancelled with that reason) unless the person chooses to reschedule it.
* **complete** and **cancel** cancel everything still waiting, with the reason.

This lives with the workflow engine, the context that executes a campaign: it composes the lifecycle's
transition with the social, email and workflow queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.enums import WorkflowStepStatus as S
from campaigns.core.merchants import require_merchant
from campaigns.core.queue import QueuedItem
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignWorkflow
from campaigns.email import campaign_sends
from campaigns.lifecycle import service as lifecycle
from campaigns.lifecycle.service import ConcurrentChangeError
from campaigns.lifecycle.states import TransitionError
from campaigns.social import scheduling

TICK_ACTOR = "scheduler"
ENDING = {"complete": "completed", "cancel": "cancelled"}


@dataclass
class StatusChange:
    """What a status change did to the campaign's channels, for the person (or the log) to read."""

    campaign_id: str
    action: str
    before: str
    after: str
    held: list[QueuedItem] = field(default_factory=list)  # pause: what now waits
    released: list[QueuedItem] = field(default_factory=list)  # resume: what will still go out
    passed: list[QueuedItem] = field(default_factory=list)  # resume: what missed its moment while paused
    rescheduled_to: datetime | None = None  # resume: the passed items were moved here instead of dropped
    cancelled: list[QueuedItem] = field(default_factory=list)  # complete, cancel, and a resume's passed items

    def summary(self) -> str:
        return "; ".join([f"{self.campaign_id} is now {self.after}", *self.effects()])

    def effects(self) -> list[str]:
        """What happened to the campaign's queued items, one phrase each."""
        parts: list[str] = []
        if self.action == "pause":
            parts.append(f"{len(self.held)} queued items held ({queue.HELD}): they keep their place until you resume")
        if self.action == "resume":
            parts.append(f"{len(self.released)} queued items released")
            if self.passed and self.rescheduled_to is not None:
                parts.append(f"{len(self.passed)} whose moment passed while paused rescheduled to {self.rescheduled_to:%Y-%m-%d %H:%M} UTC")
            elif self.passed:
                parts.append(f"{len(self.passed)} not sent because their moment passed while paused "
                             f"({'; '.join(i.label for i in self.passed[:5])})")
        if self.action in ENDING:
            parts.append(f"{len(self.cancelled)} queued items cancelled")
        return parts


def workflow_steps(session: Session, merchant_id: str, campaign_id: str) -> list[QueuedItem]:
    rows = session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id,
                                                          CampaignWorkflow.status.in_((S.PENDING, S.WAITING)), CampaignWorkflow.step_order > 0)
                           .order_by(CampaignWorkflow.step_order))
    return [QueuedItem("workflow", r.id, r.due_at, f"step {r.step_order}: {r.step_type}") for r in rows]


def _cancel_steps(session: Session, merchant_id: str, campaign_id: str, reason: str, actor: str, now: datetime) -> None:
    rows = session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id,
                                                          CampaignWorkflow.status.in_((S.PENDING, S.WAITING)), CampaignWorkflow.claimed_by.is_(None),
                                                          CampaignWorkflow.step_order > 0)).all()
    for row in rows:
        row.status, row.error, row.finished_at = S.CANCELLED, reason, now
    if rows:
        record(session, merchant_id, actor, "workflow.cancel_steps", "campaign_workflow", campaign_id, steps=[r.step_order for r in rows], reason=reason)


def waiting_items(session: Session, merchant_id: str, campaign_id: str) -> list[QueuedItem]:
    """Every item of the campaign still to go out on any channel: posts, email campaigns, workflow steps."""
    return [*scheduling.campaign_posts(session, merchant_id, campaign_id), *campaign_sends.campaign_emails(session, merchant_id, campaign_id),
            *workflow_steps(session, merchant_id, campaign_id)]


def _cancel(session: Session, merchant_id: str, campaign_id: str, items: list[QueuedItem], reason: str, actor: str, now: datetime,
            everything: bool) -> None:
    ids = {channel: [i.id for i in items if i.channel == channel] for channel in ("social", "email")}
    scheduling.cancel_campaign_posts(session, merchant_id, campaign_id, reason, actor, ids=None if everything else ids["social"])
    campaign_sends.cancel_campaign_emails(session, merchant_id, campaign_id, reason, actor, ids=None if everything else ids["email"])
    if everything:
        _cancel_steps(session, merchant_id, campaign_id, reason, actor, now)


def change_status(session: Session, merchant_id: str, campaign_id: str, action: str, actor: str, *, now: datetime | None = None,
                  reschedule_to: datetime | None = None) -> StatusChange:
    """Apply `action` to the campaign and carry it to its channels (see the module doc); one transaction, audited.

    `reschedule_to` (resume only): move the items whose moment passed while paused to this instant instead of dropping them.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    before = lifecycle.get_campaign(session, merchant_id, campaign_id).status.value
    items = waiting_items(session, merchant_id, campaign_id)
    change = StatusChange(campaign_id, action, before, before)
    detail: dict[str, object] = {}
    if action == "resume":
        change.passed = [i for i in items if i.passed(now)]
        change.released = [i for i in items if not i.passed(now)]
        change.rescheduled_to = reschedule_to.astimezone(UTC) if reschedule_to else None
        detail = {"released": len(change.released), "passed": len(change.passed),
                  "rescheduled_to": reschedule_to.isoformat() if reschedule_to else None}
    elif action == "pause":
        change.held = items
        detail = {"held": len(items)}
    elif action in ENDING:
        change.cancelled = items
        detail = {"cancelled": len(items)}
    campaign = lifecycle.transition(session, merchant_id, campaign_id, action, actor, **detail)
    change.after = campaign.status.value
    if action == "resume" and change.passed:
        if reschedule_to is not None:
            at = reschedule_to.astimezone(UTC)
            scheduling.reschedule_campaign_posts(session, merchant_id, campaign_id, [i.id for i in change.passed if i.channel == "social"], at, actor)
            campaign_sends.reschedule_campaign_emails(session, merchant_id, campaign_id, [i.id for i in change.passed if i.channel == "email"], at, actor)
        else:
            change.cancelled = change.passed
            _cancel(session, merchant_id, campaign_id, change.passed, "not sent: its moment passed while the campaign was paused", actor, now,
                    everything=False)
    elif action in ENDING:
        _cancel(session, merchant_id, campaign_id, items, f"cancelled: campaign {ENDING[action]}", actor, now, everything=True)
    session.flush()
    return change


@dataclass(frozen=True)
class TickChange:
    merchant_id: str
    campaign_id: str
    action: str
    local_time: str  # when it happened, in the merchant's time zone

    def line(self) -> str:
        verb = {"launch": "activated", "complete": "completed"}[self.action]
        return f"{self.campaign_id} ({self.merchant_id}) {verb} at {self.local_time}"


@dataclass
class TickReport:
    changed: list[TickChange] = field(default_factory=list)
    skipped: int = 0  # another tick (or a person) changed the campaign first
    refused: dict[str, str] = field(default_factory=dict)  # campaign id -> why it could not change (e.g. no budget)


def tick(url: str, now: datetime | None = None, *, merchant_id: str | None = None, actor: str = TICK_ACTOR) -> TickReport:
    """Move every due campaign (SCHEDULED → ACTIVE at its start, ACTIVE → COMPLETED at its end); safe to run concurrently.

    Each campaign changes in its own transaction; a campaign another tick changed first is skipped, not changed twice.
    A SCHEDULED campaign whose end has also passed (the scheduler was down) is activated, then completed, in one tick.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = TickReport()
    for _ in range(2):  # a second pass completes what the first one activated after its end
        with session_scope(url) as session:
            due = [d for d in lifecycle.due_changes(session, now, merchant_id) if d[1] not in report.refused]
        if not due:
            break
        for merchant, campaign_id, action in due:
            try:
                with session_scope(url) as session:
                    change_status(session, merchant, campaign_id, action, actor, now=now)
                    zone = ZoneInfo(require_merchant(session, merchant).timezone)
            except ConcurrentChangeError:
                report.skipped += 1
                continue
            except TransitionError as exc:
                report.refused[campaign_id] = str(exc)
                continue
            report.changed.append(TickChange(merchant, campaign_id, action, f"{now.astimezone(zone):%Y-%m-%d %H:%M %Z}"))
    return report
