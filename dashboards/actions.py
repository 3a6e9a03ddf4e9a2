"""Writes the app makes, through the services, each followed by a cache refresh."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campaigns.core.enums import CampaignStatus
from campaigns.lifecycle.states import ACTIONS, CampaignFacts, explain_refusal
from campaigns.content import approvals
from campaigns.lifecycle import service as campaign_service
from campaigns.audiences import segments as segment_service
from campaigns.core.store.db import session_scope
from dashboards import queries


@dataclass(frozen=True)
class CampaignAction:
    name: str
    label: str
    icon: str
    confirm: str  # what happens, said before it happens


CAMPAIGN_ACTIONS = (
    CampaignAction("schedule", "Schedule", ":material/event:", "It becomes SCHEDULED and goes live on its start date."),
    CampaignAction("launch", "Launch", ":material/rocket_launch:", "It becomes ACTIVE now: posts, emails and ads start and spend begins."),
    CampaignAction("pause", "Pause", ":material/pause:", "It becomes PAUSED: nothing more is published or spent until you resume it."),
    CampaignAction("resume", "Resume", ":material/play_arrow:", "It becomes ACTIVE again and picks up its schedule."),
    CampaignAction("complete", "Complete", ":material/flag:", "It becomes COMPLETED. This is final: a completed campaign cannot be restarted."),
    CampaignAction("unschedule", "Unschedule", ":material/event_busy:", "It goes back to DRAFT and will not start on its own."),
    CampaignAction("delete", "Delete draft", ":material/delete:", "The draft and its contents are deleted. This cannot be undone."),
)
BY_NAME = {a.name: a for a in CAMPAIGN_ACTIONS}
if set(BY_NAME) - {"delete"} != set(ACTIONS):
    raise RuntimeError("every lifecycle action needs a button in CAMPAIGN_ACTIONS")


def facts(row: dict[str, Any]) -> CampaignFacts:
    budget = row.get("budget")
    return CampaignFacts(
        status=CampaignStatus(row["status"]),
        start_date=row.get("start_date"),
        end_date=row.get("end_date"),
        budget=Decimal(str(budget)) if budget is not None else None,
        has_channels=bool(row.get("channels")),
    )


def refusal(action: str, row: dict[str, Any]) -> str | None:
    """Why `action` is not allowed for the campaign in `row` now (None when it is)."""
    if action == "delete":
        status = row["status"]
        if status != CampaignStatus.DRAFT.value:
            return f"cannot delete a {status} campaign: only drafts can be deleted; complete it instead to keep its history"
        return None
    return explain_refusal(action, facts(row))


def apply(store_url: str, merchant_id: str, campaign_id: str, action: str, actor: str) -> str:
    """Run the action; returns the new status ("DELETED" for a delete). Raises TransitionError with the reason."""
    try:
        with session_scope(store_url) as session:
            if action == "delete":
                campaign_service.delete_campaign(session, merchant_id, campaign_id, actor)
                return "DELETED"
            return campaign_service.transition(session, merchant_id, campaign_id, action, actor).status.value
    finally:
        queries.clear_store_caches()


def save_segment(store_url: str, merchant_id: str, name: str, rules: dict[str, Any], actor: str) -> int:
    try:
        with session_scope(store_url) as session:
            return segment_service.save_segment(session, merchant_id, name, rules, actor).id
    finally:
        queries.clear_store_caches()


def approve_content(store_url: str, merchant_id: str, content_id: int, actor: str) -> None:
    try:
        with session_scope(store_url) as session:
            approvals.approve_content(session, merchant_id, content_id, actor)
    finally:
        queries.clear_store_caches()
