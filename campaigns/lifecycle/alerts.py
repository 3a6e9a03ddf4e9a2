"""Campaign alerts: what the campaign monitor found wrong, kept until a person acknowledges or dismisses it.

The monitor (Ava's `monitor` workflow step, reading `campaign_metrics`) calls `record_monitoring`
with the triggers that fired: each becomes an alert, one active alert per campaign × kind (a later
run that finds the same problem updates it and counts it, never adds a second); an active alert
whose trigger no longer fires is RESOLVED. A person ACKNOWLEDGES an alert (seen, still active,
still updated) or DISMISSES it (closed; if the problem persists, the next monitor run opens a new
one). Every change is audited.

`roas_drop` is the pure rule behind the ROAS-drop alert: the return of the last `window` days
against the return of the days before them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns.core.audit import record
from campaigns.core.store.models import CampaignAlert

OPEN, ACKNOWLEDGED, DISMISSED, RESOLVED = "OPEN", "ACKNOWLEDGED", "DISMISSED", "RESOLVED"
ACTIVE = (OPEN, ACKNOWLEDGED)
# kind -> (severity, what it means for a person)
KINDS: dict[str, tuple[str, str]] = {
    "under_pacing": ("warning", "Spending behind the plan"),
    "over_pacing": ("warning", "Spending ahead of the plan"),
    "roas_below_target": ("critical", "Return below target"),
    "roas_drop": ("critical", "Return dropped"),
    "kpi_behind": ("warning", "KPI behind target"),
    "publish_failures": ("critical", "Posts failed to publish"),
    "approval_overdue": ("warning", "Content waiting for approval"),
}
ROAS_DROP_WINDOW_DAYS = 7
ROAS_DROP_THRESHOLD = 0.3  # a fall of 30% or more of the earlier return


class AlertError(LookupError):
    """An alert that is not there for this merchant, or not in a state that allows the change."""


@dataclass(frozen=True)
class RoasDrop:
    recent: float  # revenue / spend over the last `window` days
    earlier: float  # revenue / spend over the days before
    drop: float  # 1 - recent / earlier (0.25 = a quarter lower)


def roas_drop(daily: Iterable[tuple[date, float, float]], as_of: date, window: int = ROAS_DROP_WINDOW_DAYS) -> RoasDrop | None:
    """The fall of the return over the last `window` days (through `as_of`) against the days before.

    `daily`: (day, spend, revenue). None when either period has no spend (no return to compare).
    """
    first_recent = as_of - timedelta(days=window - 1)
    recent_spend = recent_revenue = earlier_spend = earlier_revenue = 0.0
    for day, spend, revenue in daily:
        if day > as_of:
            continue
        if day >= first_recent:
            recent_spend, recent_revenue = recent_spend + spend, recent_revenue + revenue
        else:
            earlier_spend, earlier_revenue = earlier_spend + spend, earlier_revenue + revenue
    if recent_spend <= 0 or earlier_spend <= 0 or earlier_revenue <= 0:
        return None
    recent, earlier = recent_revenue / recent_spend, earlier_revenue / earlier_spend
    return RoasDrop(round(recent, 4), round(earlier, 4), round(1 - recent / earlier, 4))


def message_for(kind: str, details: Mapping[str, Any]) -> str:
    title = KINDS.get(kind, ("warning", kind.replace("_", " ").capitalize()))[1]
    value, threshold = details.get("value"), details.get("threshold")
    measured = f": {value} against a threshold of {threshold}" if value is not None and threshold is not None else ""
    response = f". Response: {details['action']}" if details.get("action") else ""
    return f"{title}{measured}{response}"


def raise_alert(session: Session, merchant_id: str, campaign_id: str, kind: str, details: Mapping[str, Any], now: datetime,
                actor: str = "monitor") -> CampaignAlert:
    """Open an alert of `kind` for the campaign, or update the active one (its numbers, message and count)."""
    key = f"{campaign_id}:{kind}"
    severity = KINDS.get(kind, ("warning", ""))[0]
    message = message_for(kind, details)
    for _ in range(2):  # a concurrent monitor may open the same alert between our read and our insert: then update it
        alert = session.scalar(select(CampaignAlert).where(CampaignAlert.merchant_id == merchant_id, CampaignAlert.open_key == key))
        if alert is not None:
            alert.details, alert.message, alert.severity = dict(details), message, severity
            alert.last_raised_at, alert.times_raised = now, alert.times_raised + 1
            return alert
        alert = CampaignAlert(merchant_id=merchant_id, campaign_id=campaign_id, kind=kind, severity=severity, status=OPEN, message=message,
                              details=dict(details), open_key=key, first_raised_at=now, last_raised_at=now, times_raised=1)
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:
            continue
        record(session, merchant_id, actor, "alert.raise", "campaign", campaign_id, kind=kind, alert_id=alert.id, found=dict(details))
        return alert
    raise AlertError(f"alert {kind} of campaign {campaign_id} kept changing meanwhile; run the monitor again")


def record_monitoring(session: Session, merchant_id: str, campaign_id: str, fired: Sequence[Mapping[str, Any]], now: datetime,
                      actor: str = "monitor") -> list[CampaignAlert]:
    """Raise an alert for each fired trigger (``{"trigger": kind, ...details}``); resolve active alerts whose trigger did not fire."""
    raised = [raise_alert(session, merchant_id, campaign_id, f["trigger"], {k: v for k, v in f.items() if k != "trigger"}, now, actor)
              for f in fired]
    firing = {f["trigger"] for f in fired}
    for alert in session.scalars(select(CampaignAlert).where(CampaignAlert.merchant_id == merchant_id, CampaignAlert.campaign_id == campaign_id,
                                                             CampaignAlert.status.in_(ACTIVE))):
        if alert.kind not in firing:
            _close(session, alert, RESOLVED, actor, now)
    session.flush()
    return raised


def list_alerts(session: Session, merchant_id: str, campaign_id: str | None = None, active_only: bool = True) -> list[CampaignAlert]:
    """The merchant's alerts (one campaign's with `campaign_id`), newest first; only OPEN and ACKNOWLEDGED ones by default."""
    query = select(CampaignAlert).where(CampaignAlert.merchant_id == merchant_id)
    if campaign_id is not None:
        query = query.where(CampaignAlert.campaign_id == campaign_id)
    if active_only:
        query = query.where(CampaignAlert.status.in_(ACTIVE))
    return list(session.scalars(query.order_by(CampaignAlert.last_raised_at.desc(), CampaignAlert.id.desc())))


def _get(session: Session, merchant_id: str, alert_id: int) -> CampaignAlert:
    alert = session.scalar(select(CampaignAlert).where(CampaignAlert.merchant_id == merchant_id, CampaignAlert.id == int(alert_id)))
    if alert is None:
        raise AlertError(f"no alert {alert_id} for merchant {merchant_id!r}; reload the page to see the current alerts")
    return alert


def acknowledge_alert(session: Session, merchant_id: str, alert_id: int, actor: str, now: datetime) -> CampaignAlert:
    """Mark an open alert as seen: it stays active (and is still updated by the monitor) until resolved or dismissed."""
    alert = _get(session, merchant_id, alert_id)
    if alert.status != OPEN:
        raise AlertError(f"alert {alert_id} is {alert.status.lower()}, not open; only an open alert can be acknowledged")
    alert.status, alert.acknowledged_by, alert.acknowledged_at = ACKNOWLEDGED, actor, now
    record(session, merchant_id, actor, "alert.acknowledge", "campaign", alert.campaign_id, alert_id=alert.id, kind=alert.kind)
    return alert


def dismiss_alert(session: Session, merchant_id: str, alert_id: int, actor: str, now: datetime) -> CampaignAlert:
    """Close an active alert; if the problem persists, the next monitor run opens a new one."""
    alert = _get(session, merchant_id, alert_id)
    if alert.status not in ACTIVE:
        raise AlertError(f"alert {alert_id} is already {alert.status.lower()}")
    _close(session, alert, DISMISSED, actor, now)
    return alert


def _close(session: Session, alert: CampaignAlert, status: str, actor: str, now: datetime) -> None:
    alert.status, alert.open_key, alert.closed_by, alert.closed_at = status, None, actor, now
    action = "alert.dismiss" if status == DISMISSED else "alert.resolve"
    record(session, alert.merchant_id, actor, action, "campaign", alert.campaign_id, alert_id=alert.id, kind=alert.kind)
