"""Ava's execution engine: a plan becomes ``campaign_workflows`` steps that run one by one.

Steps of a campaign (``step_order``):

    0 plan              DONE at creation; holds the plan and the workflow's state (active, paused, cancelled)
    1 generate_content  save the plan's content (or repurpose the post) as DRAFT campaign contents
    2 await_approval    wait until every draft is approved or rejected; escalate at the flight's start
    3 schedule          queue approved posts at their slots (social queue), time the email, set the ad flight
    4 publish           wait until the queue has published them; failures go to a person
    5 monitor           at mid-flight: pacing, return, KPI and failures against the contingency triggers
    6 rebalance         if a trigger fired: recommend a split of the remaining budget
    7 monitor (final)   a day after the flight: results against the prediction

`run_due_steps(store_url, now)` is what a sensor calls every minute or so. A step runs when
it is due (the ``due_at`` column, and ``result.retry_at`` after a failure), its dependencies
(``config.depends_on``) are DONE or SKIPPED and its workflow is active. Exactly once: the
step is claimed with a conditional UPDATE (PENDING/WAITING -> RUNNING) in the same
transaction that applies its effects and marks it DONE, so a crash or a second runner can
neither lose nor repeat it. Failures: bounded retry with backoff (1, 2, 4 ... minutes, at
most ``max_attempts``), then escalation to a person (FAILED, audited ``workflow.escalate``);
handlers that know a person is needed escalate at once.

A person can pause, resume and cancel a workflow, and skip, retry, edit or approve; every
override is audited on the campaign's workflow.

Due times: steps are created with the ``due_at`` column set and the same value in
``config.due_at`` (kept so older readers still work); the column wins. Rows created before the
column existed have it NULL and are read from ``config.due_at`` (`step_due_at`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agents.ava.models import Plan
from agents.ava.edits import check_step_changes, editable_fields
from agents.ava.steps import HANDLERS, NeedsPerson, Outcome, StepContext
from agents.settings import AgentSettings, get_agent_settings
from agents.usage import campaign_usage, persist
from campaigns.core.enums import WorkflowStepStatus as S
from campaigns.core.audit import entries, record
from campaigns.lifecycle.service import get_campaign
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignWorkflow

log = logging.getLogger(__name__)

ENTITY = "campaign_workflow"
OPEN = (S.PENDING, S.WAITING)
SETTLED = (S.DONE, S.SKIPPED)
DEFAULT_MAX_ATTEMPTS = 3
ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"
STATE_ACTIONS = {PAUSED: "workflow.pause", ACTIVE: "workflow.resume", CANCELLED: "workflow.cancel"}


class WorkflowError(ValueError):
    """An override that is not possible now; the message says why and what to do."""


# --------------------------------------------------------------------------- building


def _flight(plan: Plan) -> tuple[datetime, datetime]:
    zone = ZoneInfo(plan.timezone)
    start = datetime.combine(plan.start, time(0), zone).astimezone(UTC)
    end = datetime.combine(plan.end + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def blueprint(plan: Plan, *, now: datetime, has_source: bool) -> list[dict[str, Any]]:
    """Steps 1-7 with their configs (step 0 holds the plan itself)."""
    start, end = _flight(plan)
    now = now.astimezone(UTC)
    middle = start + (end - start) / 2
    first_slot = min((datetime.fromisoformat(s.at) for s in plan.schedule), default=start)
    formats = sorted({c.format for c in plan.channels}, key=["x", "linkedin", "facebook", "instagram", "email", "ads"].index)
    variations = max((o.get("variant", 1) for o in (plan.content or {}).get("outputs", [])), default=2)
    iso = lambda d: d.isoformat()  # noqa: E731
    return [
        {"order": 1, "type": "generate_content", "due_at": iso(now), "depends_on": [0], "formats": formats, "variations": variations,
         "content_from_plan": plan.content is not None, "has_source": has_source},
        {"order": 2, "type": "await_approval", "due_at": iso(now), "depends_on": [1], "escalate_after": iso(start)},
        {"order": 3, "type": "schedule", "due_at": iso(now), "depends_on": [2], "slots": [s.model_dump() for s in plan.schedule]},
        {"order": 4, "type": "publish", "due_at": iso(max(first_slot, now)), "depends_on": [3]},
        {"order": 5, "type": "monitor", "due_at": iso(max(middle, now)), "depends_on": [3], "final": False},
        {"order": 6, "type": "rebalance", "due_at": iso(max(middle, now)), "depends_on": [5]},
        {"order": 7, "type": "monitor", "due_at": iso(max(end + timedelta(days=1), now)), "depends_on": [4, 6], "final": True},
    ]


def create_workflow(session: Session, merchant_id: str, campaign_id: str, plan: Plan, *, actor: str, now: datetime | None = None,
                    source_markdown: str | None = None, source_name: str | None = None) -> list[CampaignWorkflow]:
    get_campaign(session, merchant_id, campaign_id)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    exists = session.scalar(select(CampaignWorkflow.id).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id))
    if exists:
        raise WorkflowError(f"campaign {campaign_id} already has a workflow; see `campaigns workflow status {campaign_id}` or cancel it first")
    rows = [CampaignWorkflow(merchant_id=merchant_id, campaign_id=campaign_id, step_order=0, step_type="plan", status=S.DONE,
                             config={"plan": plan.to_json_dict()}, result={"state": ACTIVE}, started_at=now, finished_at=now)]
    for step in blueprint(plan, now=now, has_source=source_markdown is not None or plan.content is not None):
        order, step_type = step.pop("order"), step.pop("type")
        config = {**step, "max_attempts": DEFAULT_MAX_ATTEMPTS}
        status, result = S.PENDING, {}
        if step_type == "generate_content":
            if source_markdown is not None and plan.content is None:
                config.update(source_markdown=source_markdown, source_name=source_name)
            elif plan.content is None:
                status, result = S.SKIPPED, {"reason": "no post to repurpose; add drafts to the campaign yourself"}
        rows.append(CampaignWorkflow(merchant_id=merchant_id, campaign_id=campaign_id, step_order=order, step_type=step_type, status=status,
                                     config=config, result=result, due_at=_parse_time(config.get("due_at"))))
    session.add_all(rows)
    session.flush()
    record(session, merchant_id, actor, "workflow.create", ENTITY, campaign_id, steps=[f"{r.step_order}:{r.step_type}" for r in rows])
    return rows


def create_campaign_from_plan(session: Session, merchant_id: str, plan: Plan, *, actor: str, now: datetime | None = None,
                              source_markdown: str | None = None, source_name: str | None = None, name: str | None = None):
    """A DRAFT campaign with the plan's channels, budget, dates and allocation, and its workflow."""
    from campaigns.lifecycle.service import CampaignInput, create_campaign
    from campaigns.core.store.models import BudgetAllocation

    start, end = _flight(plan)
    data = CampaignInput(
        name=name or plan.name[:200], type=plan.goal.type, description=plan.summary[:2000], channels=[c.channel for c in plan.channels],
        budget=plan.budget, start_date=start, end_date=end, target_audience={"segments": plan.segments},
        goals={"kpi": plan.kpi, "target": plan.goal.target, "prediction": plan.prediction.model_dump(mode="json")},
    )
    campaign = create_campaign(session, merchant_id, data, actor)
    for item in plan.budget_allocation.items:
        session.add(BudgetAllocation(merchant_id=merchant_id, campaign_id=campaign.id, channel=item.channel, allocated=item.amount,
                                     recommendation=f"plan ({item.source})", period_start=plan.start, period_end=plan.end))
    steps = create_workflow(session, merchant_id, campaign.id, plan, actor=actor, now=now, source_markdown=source_markdown, source_name=source_name)
    persist(session, merchant_id, plan.usage, actor=actor, purpose="plan", campaign_id=campaign.id)
    return campaign, steps


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class StepView:
    id: int
    merchant_id: str
    campaign_id: str
    step_order: int
    step_type: str
    status: S
    config: dict[str, Any]
    result: dict[str, Any]
    attempts: int
    due_at: datetime | None = None

    @classmethod
    def of(cls, row: CampaignWorkflow) -> StepView:
        return cls(row.id, row.merchant_id, row.campaign_id, row.step_order, row.step_type, S(row.status), dict(row.config or {}),
                   dict(row.result or {}), row.attempts, step_due_at(row))


@dataclass
class StepRun:
    merchant_id: str
    campaign_id: str
    step_order: int
    step_type: str
    outcome: str  # done, waiting, skipped, retry, escalated, not_claimed
    detail: str = ""


@dataclass
class WorkflowReport:
    now: str
    runs: list[StepRun] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in self.runs:
            out[run.outcome] = out.get(run.outcome, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now, "counts": self.counts(), "runs": [asdict(r) for r in self.runs]}


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def step_due_at(row: CampaignWorkflow) -> datetime | None:
    """The step's due time: the column, else ``config.due_at`` for rows created before the column existed."""
    if row.due_at is not None:
        return row.due_at
    return _parse_time((row.config or {}).get("due_at"))


def _due(step: StepView, now: datetime) -> bool:
    due = step.due_at
    retry = _parse_time(step.result.get("retry_at"))
    return (due is None or due <= now) and (retry is None or retry <= now)


def _ready(step: StepView, steps: dict[int, StepView]) -> bool:
    deps = step.config.get("depends_on")
    deps = [step.step_order - 1] if deps is None else deps
    return all(d in steps and steps[d].status in SETTLED for d in deps)


def _load(url: str, merchant_id: str, campaign_id: str) -> dict[int, StepView]:
    with session_scope(url) as session:
        rows = session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id))
        return {r.step_order: StepView.of(r) for r in rows}


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def run_due_steps(store_url: str, now: datetime | None = None, *, merchant_id: str | None = None, settings: AgentSettings | None = None) -> WorkflowReport:
    """Run every due, ready step of every active workflow once; what a Dagster sensor calls."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    settings = settings or get_agent_settings()
    report = WorkflowReport(now.isoformat())
    with session_scope(store_url) as session:
        query = select(CampaignWorkflow.merchant_id, CampaignWorkflow.campaign_id).where(CampaignWorkflow.status.in_(OPEN)).distinct()
        if merchant_id is not None:
            query = query.where(CampaignWorkflow.merchant_id == merchant_id)
        workflows = sorted(set(session.execute(query).all()))
    for merchant, campaign in workflows:
        ran: set[int] = set()
        progressed = True
        while progressed:
            progressed = False
            steps = _load(store_url, merchant, campaign)
            if steps.get(0) is None or steps[0].result.get("state", ACTIVE) != ACTIVE:
                break
            for order in sorted(steps):
                step = steps[order]
                if step.id in ran or step.status not in OPEN or not _due(step, now) or not _ready(step, steps):
                    continue
                ran.add(step.id)
                outcome = _execute(store_url, step, now, settings)
                report.runs.append(outcome)
                if outcome.outcome in ("done", "skipped"):
                    progressed = True  # steps that depend on it may run now
                    break
    return report


def _execute(url: str, step: StepView, now: datetime, settings: AgentSettings) -> StepRun:
    handler = HANDLERS.get(step.step_type)
    if handler is None:
        return _failed(url, step, now, NeedsPerson(f"unknown step type {step.step_type!r}; skip it with `campaigns workflow skip`"))
    prepared = None
    if handler.prepare is not None:
        try:
            with session_scope(url) as session:
                row = session.get(CampaignWorkflow, step.id)
                session.expunge(row)
            prepared = handler.prepare(row, settings)
        except Exception as exc:
            return _failed(url, step, now, exc)
    try:
        with session_scope(url) as session:
            claimed = session.execute(
                update(CampaignWorkflow).where(CampaignWorkflow.id == step.id, CampaignWorkflow.status.in_(OPEN)).values(status=S.RUNNING)
            )
            if claimed.rowcount != 1:
                return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, "not_claimed", "another runner has it")
            row = session.get(CampaignWorkflow, step.id)
            session.refresh(row)
            if row.started_at is None:
                row.started_at = now
            ctx = StepContext(session, step.merchant_id, step.campaign_id, row, now, settings, prepared)
            outcome: Outcome = handler.run(ctx)
            row.result = {k: v for k, v in outcome.result.items() if k != "retry_at"}
            row.error = None
            if outcome.kind == "waiting":
                row.status = S.WAITING
                if step.status is not S.WAITING:
                    record(session, step.merchant_id, "ava", "workflow.step_waiting", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type)
            else:
                row.status = S.DONE if outcome.kind == "done" else S.SKIPPED
                row.finished_at = now
                record(session, step.merchant_id, "ava", f"workflow.step_{outcome.kind}", ENTITY, step.campaign_id, step=step.step_order,
                       type=step.step_type, attempts=row.attempts)
        return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, outcome.kind)
    except Exception as exc:
        return _failed(url, step, now, exc)


def _failed(url: str, step: StepView, now: datetime, exc: Exception) -> StepRun:
    message = str(exc) if isinstance(exc, NeedsPerson) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, NeedsPerson):
        log.warning("workflow step %s/%s failed: %s", step.campaign_id, step.step_order, message)
    with session_scope(url) as session:
        row = session.get(CampaignWorkflow, step.id)
        if row is None or row.status not in (*OPEN, S.RUNNING):
            return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, "not_claimed", "changed meanwhile")
        row.attempts = (row.attempts or 0) + 1
        limit = int((row.config or {}).get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        row.error = message[:4000]
        if isinstance(exc, NeedsPerson) or row.attempts >= limit:
            row.status = S.FAILED
            row.finished_at = now
            fix = "" if isinstance(exc, NeedsPerson) else (f"; after fixing the cause: `campaigns workflow retry {step.campaign_id} {step.step_order}` "
                                                           f"or `campaigns workflow skip {step.campaign_id} {step.step_order}`")
            record(session, step.merchant_id, "ava", "workflow.escalate", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type,
                   attempts=row.attempts, reason=message[:1000] + fix)
            return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, "escalated", message)
        retry_at = now + backoff(row.attempts)
        row.status = S.PENDING
        row.result = {**(row.result or {}), "retry_at": retry_at.isoformat()}
        record(session, step.merchant_id, "ava", "workflow.step_retry", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type,
               attempts=row.attempts, retry_at=retry_at.isoformat(), error=message[:1000])
        return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, "retry", message)


# --------------------------------------------------------------------------- people


def _steps(session: Session, merchant_id: str, campaign_id: str) -> list[CampaignWorkflow]:
    get_campaign(session, merchant_id, campaign_id)
    rows = list(session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id)
                                .order_by(CampaignWorkflow.step_order)))
    if not rows:
        raise WorkflowError(f"campaign {campaign_id} has no workflow; create one with `campaigns plan ... --save`")
    return rows


def _plan_step(rows: list[CampaignWorkflow]) -> CampaignWorkflow:
    return next(r for r in rows if r.step_order == 0)


def _step(rows: list[CampaignWorkflow], order: int) -> CampaignWorkflow:
    row = next((r for r in rows if r.step_order == order), None)
    if row is None:
        raise WorkflowError(f"no step {order}; the steps are {', '.join(str(r.step_order) for r in rows)}")
    if order == 0:
        raise WorkflowError("step 0 holds the plan; pause, resume or cancel the workflow instead")
    return row


def _set_state(session: Session, merchant_id: str, campaign_id: str, actor: str, new: str, allowed_from: tuple[str, ...], reason: str) -> str:
    rows = _steps(session, merchant_id, campaign_id)
    plan_step = _plan_step(rows)
    state = (plan_step.result or {}).get("state", ACTIVE)
    if state == new:
        return state
    if state not in allowed_from:
        raise WorkflowError(f"the workflow of {campaign_id} is {state}; it cannot become {new}")
    plan_step.result = {**(plan_step.result or {}), "state": new}
    if new == CANCELLED:
        for row in rows:
            if row.status in (*OPEN, S.FAILED, S.RUNNING):
                row.status = S.CANCELLED
                row.finished_at = datetime.now(UTC)
    record(session, merchant_id, actor, STATE_ACTIONS[new], ENTITY, campaign_id, before=state, after=new, reason=reason)
    session.flush()
    return new


def pause(session: Session, merchant_id: str, campaign_id: str, actor: str, reason: str = "") -> str:
    return _set_state(session, merchant_id, campaign_id, actor, PAUSED, (ACTIVE,), reason)


def resume(session: Session, merchant_id: str, campaign_id: str, actor: str, reason: str = "") -> str:
    return _set_state(session, merchant_id, campaign_id, actor, ACTIVE, (PAUSED,), reason)


def cancel(session: Session, merchant_id: str, campaign_id: str, actor: str, reason: str = "") -> str:
    return _set_state(session, merchant_id, campaign_id, actor, CANCELLED, (ACTIVE, PAUSED), reason)


def skip_step(session: Session, merchant_id: str, campaign_id: str, order: int, actor: str, reason: str = "") -> CampaignWorkflow:
    row = _step(_steps(session, merchant_id, campaign_id), order)
    if row.status not in (*OPEN, S.FAILED):
        raise WorkflowError(f"step {order} ({row.step_type}) is {row.status.value}; only PENDING, WAITING or FAILED steps can be skipped")
    before = row.status.value
    row.status = S.SKIPPED
    row.finished_at = datetime.now(UTC)
    row.result = {**(row.result or {}), "skipped_by": actor, "skip_reason": reason}
    record(session, merchant_id, actor, "workflow.step_skip", ENTITY, campaign_id, step=order, type=row.step_type, before=before, reason=reason)
    session.flush()
    return row


def retry_step(session: Session, merchant_id: str, campaign_id: str, order: int, actor: str) -> CampaignWorkflow:
    row = _step(_steps(session, merchant_id, campaign_id), order)
    if row.status is not S.FAILED:
        raise WorkflowError(f"step {order} ({row.step_type}) is {row.status.value}; only a FAILED step can be retried")
    row.status = S.PENDING
    row.attempts = 0
    row.error = None
    row.finished_at = None
    row.result = {k: v for k, v in (row.result or {}).items() if k != "retry_at"}
    record(session, merchant_id, actor, "workflow.step_retry_by_person", ENTITY, campaign_id, step=order, type=row.step_type)
    session.flush()
    return row


def edit_step(session: Session, merchant_id: str, campaign_id: str, order: int, changes: dict[str, Any], actor: str) -> CampaignWorkflow:
    row = _step(_steps(session, merchant_id, campaign_id), order)
    if row.status not in (*OPEN, S.FAILED):
        raise WorkflowError(f"step {order} ({row.step_type}) is {row.status.value}; only PENDING, WAITING or FAILED steps can be edited")
    clean, errors = check_step_changes(row.step_type, changes)
    if errors:
        raise WorkflowError("; ".join(errors.values()))
    if not clean:
        raise WorkflowError(f"nothing to change; editable: {', '.join(sorted(editable_fields(row.step_type)))}")
    before = {k: (row.config or {}).get(k) for k in clean}
    if "due_at" in clean:
        before["due_at"] = due.isoformat() if (due := step_due_at(row)) else None
        row.due_at = datetime.fromisoformat(clean["due_at"])
    row.config = {**(row.config or {}), **clean}
    record(session, merchant_id, actor, "workflow.step_edit", ENTITY, campaign_id, step=order, type=row.step_type, before=before, after=clean)
    session.flush()
    return row


def approve(session: Session, merchant_id: str, content_id: int, actor: str, note: str = "") -> dict[str, Any]:
    """Approve a campaign content (the workflow's await_approval step sees it on its next run)."""
    from agents.leo.store import approve_campaign_content

    return approve_campaign_content(session, merchant_id, content_id, actor, note)


def status(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    rows = _steps(session, merchant_id, campaign_id)
    plan_step = _plan_step(rows)
    escalations = [
        {"at": e.created_at.isoformat(), **{k: e.details.get(k) for k in ("step", "type", "trigger", "reason")}}
        for e in entries(session, merchant_id, campaign_id, limit=200) if e.action == "workflow.escalate" and e.entity_type == ENTITY
    ]
    return {
        "campaign_id": campaign_id,
        "state": (plan_step.result or {}).get("state", ACTIVE),
        "steps": [
            {"order": r.step_order, "type": r.step_type, "status": r.status.value, "attempts": r.attempts,
             "due_at": due.isoformat() if (due := step_due_at(r)) else None, "depends_on": (r.config or {}).get("depends_on"), "error": r.error,
             "retry_at": (r.result or {}).get("retry_at"), "result": _brief(r)}
            for r in rows
        ],
        "escalations": escalations,
        "usage": campaign_usage(session, merchant_id, campaign_id),
    }


def _brief(row: CampaignWorkflow) -> dict[str, Any]:
    result = dict(row.result or {})
    if row.step_type == "plan":
        plan = (row.config or {}).get("plan", {})
        prediction = plan.get("prediction") or {}
        return {"state": result.get("state", ACTIVE), "name": plan.get("name"), "budget": plan.get("budget"), "kpi": plan.get("kpi"),
                "prediction": {k: prediction.get(k) for k in ("expected", "low", "high", "target")} if prediction else None}
    return {k: v for k, v in result.items() if k not in ("by_channel",)}


def workflow_plan(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """The plan the workflow was built from (step 0's config), as JSON."""
    return dict((_plan_step(_steps(session, merchant_id, campaign_id)).config or {}).get("plan") or {})


def step_summary(step: dict[str, Any]) -> str:
    """One line about a step's result (a `status()` step), for tables in the CLI and the app."""
    result = step.get("result") or {}
    if step["type"] == "generate_content" and result.get("contents"):
        return f"{len(result['contents'])} drafts ({result.get('engine')})"
    if step["type"] == "await_approval" and result.get("waiting_for"):
        return f"waiting for {len(result['waiting_for'])} approval(s): {', '.join(f'cc-{i}' for i in result['waiting_for'][:6])}"
    if step["type"] == "schedule" and result:
        return f"{len(result.get('queued', []))} queued, {len(result.get('unqueued', []))} not queued"
    if step["type"] == "monitor" and result.get("metrics"):
        triggered = ", ".join(t["trigger"] for t in result.get("triggered", [])) or "no trigger"
        return f"spend {result['metrics'].get('spend', 0):,.2f}; {triggered}"
    if step["type"] == "rebalance" and result:
        return "recommendation written" if result.get("rebalanced") else str(result.get("reason", ""))
    if step["type"] == "plan":
        text = f"{result.get('name') or ''} · budget {result.get('budget')}"
        prediction = result.get("prediction")
        if prediction:
            text += f" · {result.get('kpi')} predicted {prediction['expected']:,.0f} ({prediction['low']:,.0f}-{prediction['high']:,.0f})"
        return text.strip(" ·")
    return str(result.get("reason") or result.get("note") or "")
