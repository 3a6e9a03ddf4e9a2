"""The plan-execution engine: a campaign's workflow is ``campaign_workflows`` steps that run one by one.

Step 0 holds the plan and the workflow's state (active, paused, cancelled); the steps after it
are laid out by the planner (`StepSpec`) and run by handlers the caller passes in by step type
(`Handler`; Ava's are in `agents.ava.steps`). The engine knows nothing of what a step does.

`run_due_steps(store_url, now, handlers=...)` is what a sensor calls every minute or so. A step
runs when it is due (the ``due_at`` column, and ``result.retry_at`` after a failure), its
dependencies (``config.depends_on``) are DONE or SKIPPED and its workflow is active.

Exactly once: the step is claimed through the shared work queue (`campaigns.core.queue`:
PENDING/WAITING -> RUNNING, leased to this runner), the handler's slow `prepare` runs outside
any transaction, then one transaction renews the lease, applies the step's effects and marks
it DONE (or WAITING, SKIPPED) and gives the lease back; a crash or a second runner can neither
lose nor repeat it. A runner that dies holding a step leaves it RUNNING with its lease: once
the lease has expired the next run takes the step over and counts the lost run as a failed
attempt (retried after the backoff, nothing of it was committed).

Failures: bounded retry with the queue's backoff (1, 2, 4 ... minutes plus up to 10% jitter,
at most ``max_attempts``), then escalation to a person (FAILED, audited ``workflow.escalate``);
handlers that know a person is needed escalate at once. Every attempt that changes a step's
status is logged in the attempt log (queue ``workflows``) in the transaction of its outcome.

A person can pause, resume and cancel a workflow, and skip, retry or edit a step; every
override is audited on the campaign's workflow.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from campaigns.core import queue
from campaigns.core.audit import entries, record
from campaigns.core.enums import WorkflowStepStatus as S
from campaigns.core.outbox import emit
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignWorkflow
from campaigns.lifecycle.service import get_campaign
from campaigns.workflows.models import Handlers, NeedsPerson, Outcome, StepContext, StepRun, StepSpec, StepView, WorkflowReport

log = logging.getLogger(__name__)

QUEUE = "workflows"  # the attempt log's name for this queue
ENTITY = "campaign_workflow"
OPEN = (S.PENDING, S.WAITING)
SETTLED = (S.DONE, S.SKIPPED)
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE = timedelta(minutes=15)  # longer than the slowest step (a live model call in prepare)
ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"
STATE_ACTIONS = {PAUSED: "workflow.pause", ACTIVE: "workflow.resume", CANCELLED: "workflow.cancel"}

# (step type, changes) -> (cleaned changes, {field: problem}): the caller's rules for a person's edit
EditCheck = Callable[[str, dict[str, Any]], tuple[dict[str, Any], dict[str, str]]]


class WorkflowError(ValueError):
    """An override that is not possible now; the message says why and what to do."""


class RunnerLost(Exception):
    """The runner that held the step stopped reporting before its lease ran out."""


# --------------------------------------------------------------------------- building


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def create_workflow(session: Session, merchant_id: str, campaign_id: str, plan: dict[str, Any], steps: Sequence[StepSpec], *, actor: str,
                    now: datetime | None = None) -> list[CampaignWorkflow]:
    """Step 0 holding `plan` (JSON) and the workflow's state, then `steps`; each step's ``config.due_at`` is its due time."""
    get_campaign(session, merchant_id, campaign_id)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    exists = session.scalar(select(CampaignWorkflow.id).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id))
    if exists:
        raise WorkflowError(f"campaign {campaign_id} already has a workflow; see `campaigns workflow status {campaign_id}` or cancel it first")
    rows = [CampaignWorkflow(merchant_id=merchant_id, campaign_id=campaign_id, step_order=0, step_type="plan", status=S.DONE,
                             config={"plan": plan}, result={"state": ACTIVE}, started_at=now, finished_at=now)]
    for spec in steps:
        config = {**spec.config, "max_attempts": spec.config.get("max_attempts", DEFAULT_MAX_ATTEMPTS)}
        rows.append(CampaignWorkflow(merchant_id=merchant_id, campaign_id=campaign_id, step_order=spec.order, step_type=spec.step_type,
                                     status=spec.status, config=config, result=dict(spec.result), due_at=parse_time(config.get("due_at"))))
    session.add_all(rows)
    session.flush()
    record(session, merchant_id, actor, "workflow.create", ENTITY, campaign_id, steps=[f"{r.step_order}:{r.step_type}" for r in rows])
    return rows


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class _Run:
    url: str
    now: datetime
    handlers: Handlers
    settings: Any
    worker_id: str
    lease: timedelta


def _stale(now: datetime, lease: timedelta) -> Any:
    """RUNNING steps whose runner has not reported within the lease: it died, the step may be taken over."""
    return and_(CampaignWorkflow.status == S.RUNNING, queue.lease_expired(CampaignWorkflow, now, lease))


def _claimable(now: datetime, lease: timedelta) -> Any:
    return and_(or_(CampaignWorkflow.due_at.is_(None), CampaignWorkflow.due_at <= now), queue.not_held(CampaignWorkflow.campaign_id),
                or_(and_(CampaignWorkflow.status.in_(OPEN), queue.free_or_expired(CampaignWorkflow, now, lease)), _stale(now, lease)))


def _due(step: StepView, now: datetime) -> bool:
    due = step.due_at
    retry = parse_time(step.result.get("retry_at"))
    return (due is None or due <= now) and (retry is None or retry <= now)


def _runnable(step: StepView, now: datetime, lease: timedelta) -> bool:
    if step.status in OPEN:
        return True
    return step.status is S.RUNNING and step.claimed_at is not None and step.claimed_at < now - lease


def _ready(step: StepView, steps: dict[int, StepView]) -> bool:
    deps = step.config.get("depends_on")
    deps = [step.step_order - 1] if deps is None else deps
    return all(d in steps and steps[d].status in SETTLED for d in deps)


def _load(url: str, merchant_id: str, campaign_id: str) -> dict[int, StepView]:
    with session_scope(url) as session:
        rows = session.scalars(select(CampaignWorkflow).where(CampaignWorkflow.merchant_id == merchant_id, CampaignWorkflow.campaign_id == campaign_id))
        return {r.step_order: StepView.of(r) for r in rows}


def run_due_steps(store_url: str, now: datetime | None = None, *, handlers: Handlers, settings: Any = None, merchant_id: str | None = None,
                  worker_id: str | None = None, lease: timedelta = DEFAULT_LEASE) -> WorkflowReport:
    """Run every due, ready step of every active workflow once, with `handlers` by step type (`settings` is handed to them)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    run = _Run(store_url, now, handlers, settings, worker_id or f"workflows-{os.getpid()}-{uuid.uuid4().hex[:8]}", lease)
    report = WorkflowReport(now.isoformat())
    with session_scope(store_url) as session:
        query = (select(CampaignWorkflow.merchant_id, CampaignWorkflow.campaign_id)
                 .where(or_(CampaignWorkflow.status.in_(OPEN), _stale(now, lease))).distinct())
        if merchant_id is not None:
            query = query.where(CampaignWorkflow.merchant_id == merchant_id)
        workflows = sorted(set(session.execute(query).all()))
    for merchant, campaign in workflows:
        with session_scope(store_url) as session:
            if queue.is_held(session, campaign):
                continue  # held: campaign paused (its claim would skip the steps anyway)
        ran: set[int] = set()
        progressed = True
        while progressed:
            progressed = False
            steps = _load(store_url, merchant, campaign)
            if steps.get(0) is None or steps[0].result.get("state", ACTIVE) != ACTIVE:
                break
            for order in sorted(steps):
                step = steps[order]
                if step.id in ran or not _runnable(step, now, lease) or not _due(step, now) or not _ready(step, steps):
                    continue
                ran.add(step.id)
                outcome = _execute(run, step)
                report.runs.append(outcome)
                if outcome.outcome in ("done", "skipped"):
                    progressed = True  # steps that depend on it may run now
                    break
    return report


def _step_run(step: StepView, outcome: str, detail: str = "") -> StepRun:
    return StepRun(step.merchant_id, step.campaign_id, step.step_order, step.step_type, outcome, detail)


def _claim(run: _Run, step: StepView) -> queue.Claimed | None:
    with session_scope(run.url) as session:
        claimed = queue.claim(session, CampaignWorkflow, where=[CampaignWorkflow.id == step.id, _claimable(run.now, run.lease)],
                              worker_id=run.worker_id, now=run.now, limit=1, values={"status": S.RUNNING})
    return claimed[0] if claimed else None


def _execute(run: _Run, step: StepView) -> StepRun:
    claimed = _claim(run, step)
    if claimed is None:
        return _step_run(step, "not_claimed", "another runner has it")
    if step.status is S.RUNNING and claimed.previous_claim is not None:
        lost = RunnerLost(f"runner {step.claimed_by} claimed it at {claimed.previous_claim:%Y-%m-%d %H:%M:%S} UTC and never reported back")
        return _failed(run, step, lost, worker_id=step.claimed_by or "unknown", started_at=claimed.previous_claim)
    handler = run.handlers.get(step.step_type)
    if handler is None:
        return _failed(run, step, NeedsPerson(f"unknown step type {step.step_type!r}; skip it with `campaigns workflow skip`"))
    prepared = None
    if handler.prepare is not None:
        try:
            with session_scope(run.url) as session:
                row = session.get(CampaignWorkflow, step.id)
                session.expunge(row)
            prepared = handler.prepare(row, run.settings)
        except Exception as exc:
            return _failed(run, step, exc)
    try:
        with session_scope(run.url) as session:
            if step.id not in queue.renew(session, CampaignWorkflow, [step.id], run.worker_id, run.now, CampaignWorkflow.status == S.RUNNING):
                return _step_run(step, "not_claimed", "changed meanwhile (taken over or cancelled)")
            row = session.get(CampaignWorkflow, step.id)
            session.refresh(row)
            if row.started_at is None:
                row.started_at = run.now
            outcome: Outcome = handler.run(StepContext(session, step.merchant_id, step.campaign_id, row, run.now, run.settings, prepared))
            row.result = {k: v for k, v in outcome.result.items() if k != "retry_at"}
            row.error = None
            row.claimed_by = row.claimed_at = None
            if outcome.kind == "waiting":
                row.status = S.WAITING
                if step.status is not S.WAITING:
                    record(session, step.merchant_id, "ava", "workflow.step_waiting", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type)
            else:
                row.status = S.DONE if outcome.kind == "done" else S.SKIPPED
                row.finished_at = run.now
                record(session, step.merchant_id, "ava", f"workflow.step_{outcome.kind}", ENTITY, step.campaign_id, step=step.step_order,
                       type=step.step_type, attempts=row.attempts)
            if row.status is not step.status:  # a step that goes on waiting is checked every run: only the change is logged
                _log_attempt(session, run, step, row.attempts + 1, outcome.kind)
        return _step_run(step, outcome.kind)
    except Exception as exc:
        return _failed(run, step, exc)


def _log_attempt(session: Session, run: _Run, step: StepView, attempt: int, outcome: str, detail: str = "", *,
                 worker_id: str | None = None, started_at: datetime | None = None) -> None:
    queue.record_attempt(session, queue=QUEUE, merchant_id=step.merchant_id, item_id=step.id, attempt=attempt, worker_id=worker_id or run.worker_id,
                         started_at=started_at or run.now, finished_at=run.now, outcome=outcome, detail=detail)


def _failed(run: _Run, step: StepView, exc: Exception, *, worker_id: str | None = None, started_at: datetime | None = None) -> StepRun:
    """Count a failed attempt of a step this runner holds: retry it after the backoff, or escalate it to a person."""
    message = str(exc) if isinstance(exc, NeedsPerson | RunnerLost) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, NeedsPerson):
        log.warning("workflow step %s/%s failed: %s", step.campaign_id, step.step_order, message)
    with session_scope(run.url) as session:
        row = session.get(CampaignWorkflow, step.id)
        if row is None or row.status is not S.RUNNING or row.claimed_by != run.worker_id:
            return _step_run(step, "not_claimed", "changed meanwhile")
        row.attempts = (row.attempts or 0) + 1
        row.claimed_by = row.claimed_at = None
        limit = int((row.config or {}).get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        row.error = message[:4000]
        if isinstance(exc, NeedsPerson) or row.attempts >= limit:
            row.status = S.FAILED
            row.finished_at = run.now
            fix = "" if isinstance(exc, NeedsPerson) else (f"; after fixing the cause: `campaigns workflow retry {step.campaign_id} {step.step_order}` "
                                                           f"or `campaigns workflow skip {step.campaign_id} {step.step_order}`")
            record(session, step.merchant_id, "ava", "workflow.escalate", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type,
                   attempts=row.attempts, reason=message[:1000] + fix)
            emit(session, step.merchant_id, "workflow.step_failed", {"campaign_id": step.campaign_id, "step": step.step_order,
                                                                     "type": step.step_type, "attempts": row.attempts, "error": message[:1000]})
            _log_attempt(session, run, step, row.attempts, "escalated", message, worker_id=worker_id, started_at=started_at)
            return _step_run(step, "escalated", message)
        retry_at = run.now + queue.backoff(row.attempts, step.id)
        row.status = S.PENDING
        row.result = {**(row.result or {}), "retry_at": retry_at.isoformat()}
        record(session, step.merchant_id, "ava", "workflow.step_retry", ENTITY, step.campaign_id, step=step.step_order, type=step.step_type,
               attempts=row.attempts, retry_at=retry_at.isoformat(), error=message[:1000])
        _log_attempt(session, run, step, row.attempts, "retry", message, worker_id=worker_id, started_at=started_at)
        return _step_run(step, "retry", message)


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


def edit_step(session: Session, merchant_id: str, campaign_id: str, order: int, changes: dict[str, Any], actor: str, *,
              check: EditCheck, editable: Callable[[str], set[str]]) -> CampaignWorkflow:
    """Change a step's settings before it runs; `check` cleans the changes of a step type, `editable` names what may change."""
    row = _step(_steps(session, merchant_id, campaign_id), order)
    if row.status not in (*OPEN, S.FAILED):
        raise WorkflowError(f"step {order} ({row.step_type}) is {row.status.value}; only PENDING, WAITING or FAILED steps can be edited")
    clean, errors = check(row.step_type, changes)
    if errors:
        raise WorkflowError("; ".join(errors.values()))
    if not clean:
        raise WorkflowError(f"nothing to change; editable: {', '.join(sorted(editable(row.step_type)))}")
    before = {k: (row.config or {}).get(k) for k in clean}
    if "due_at" in clean:
        before["due_at"] = row.due_at.isoformat() if row.due_at else None
        row.due_at = datetime.fromisoformat(clean["due_at"])
    row.config = {**(row.config or {}), **clean}
    record(session, merchant_id, actor, "workflow.step_edit", ENTITY, campaign_id, step=order, type=row.step_type, before=before, after=clean)
    session.flush()
    return row


def status(session: Session, merchant_id: str, campaign_id: str) -> dict[str, Any]:
    """The workflow's state, its steps and the escalations waiting for a person (as JSON)."""
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
             "due_at": r.due_at.isoformat() if r.due_at else None, "depends_on": (r.config or {}).get("depends_on"), "error": r.error,
             "retry_at": (r.result or {}).get("retry_at"), "result": _brief(r)}
            for r in rows
        ],
        "escalations": escalations,
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
