"""The workflow engine's data: a step as the runner sees it, what a run reports, and the contract of a step handler.

A handler returns an `Outcome` (done, waiting, skipped) or raises: `NeedsPerson` sends the
step straight to a person (FAILED, audited ``workflow.escalate``), any other exception is
retried with backoff up to the step's ``max_attempts`` and then escalated. `run` writes only
to the store, inside the step's transaction, so a step's effects and its DONE commit together
or not at all; slow work (a live model call) belongs in `prepare`, before the transaction opens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.core.enums import WorkflowStepStatus as S
from campaigns.core.store.models import CampaignWorkflow


class NeedsPerson(Exception):
    """The step cannot go on without a person; the message says what they should do."""


@dataclass
class Outcome:
    kind: Literal["done", "waiting", "skipped"]
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepContext:
    """What a handler gets: the step's transaction, the step, the run's time, and whatever the caller passed as `settings`."""

    session: Session
    merchant_id: str
    campaign_id: str
    step: CampaignWorkflow
    now: datetime
    settings: Any  # the caller's settings (Ava passes her AgentSettings); the engine only hands them on
    prepared: Any = None

    def steps(self) -> list[CampaignWorkflow]:
        return list(self.session.scalars(select(CampaignWorkflow).where(
            CampaignWorkflow.merchant_id == self.merchant_id, CampaignWorkflow.campaign_id == self.campaign_id).order_by(CampaignWorkflow.step_order)))

    def step_of_type(self, step_type: str) -> CampaignWorkflow | None:
        return next((s for s in self.steps() if s.step_type == step_type), None)

    def plan(self) -> dict[str, Any]:
        plan_step = self.step_of_type("plan")
        return dict((plan_step.config or {}).get("plan") or {}) if plan_step else {}

    def flight(self) -> tuple[datetime, datetime]:
        plan = self.plan()
        zone = ZoneInfo(plan.get("timezone", "UTC"))
        start = datetime.combine(date.fromisoformat(plan["start"]), time(0), zone).astimezone(UTC)
        end = datetime.combine(date.fromisoformat(plan["end"]) + timedelta(days=1), time(0), zone).astimezone(UTC)
        return start, end


@dataclass(frozen=True)
class Handler:
    run: Callable[[StepContext], Outcome]
    prepare: Callable[[CampaignWorkflow, Any], Any] | None = None


Handlers = Mapping[str, Handler]


@dataclass(frozen=True)
class StepSpec:
    """One step of a new workflow, as the planner lays it out (step 0, the plan, is added by the engine)."""

    order: int
    step_type: str
    config: dict[str, Any]
    status: S = S.PENDING
    result: dict[str, Any] = field(default_factory=dict)


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
    claimed_by: str | None = None
    claimed_at: datetime | None = None

    @classmethod
    def of(cls, row: CampaignWorkflow) -> StepView:
        return cls(row.id, row.merchant_id, row.campaign_id, row.step_order, row.step_type, S(row.status), dict(row.config or {}),
                   dict(row.result or {}), row.attempts, row.due_at, row.claimed_by, row.claimed_at)


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
