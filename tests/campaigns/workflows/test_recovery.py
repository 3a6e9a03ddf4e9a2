"""The engine on its own (handlers given by the test, no agent): a runner that dies holding a step, the attempt log, the layer rule."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from campaigns.core import queue
from campaigns.core.audit import entries
from campaigns.core.enums import CampaignType, WorkflowStepStatus as S
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, CampaignWorkflow
from campaigns.workflows import engine
from campaigns.workflows.models import Handler, Outcome, StepContext, StepSpec

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
LEASE = timedelta(minutes=15)


@pytest.fixture
def workflow(store_url: str) -> str:
    with session_scope(store_url) as s:
        s.add(Campaign(id="cmp_w", merchant_id="acme", name="W", type=CampaignType.AWARENESS))
        s.flush()
        engine.create_workflow(s, "acme", "cmp_w", {"name": "W"}, [
            StepSpec(1, "count", {"due_at": NOW.isoformat(), "depends_on": [0]}),
            StepSpec(2, "count", {"due_at": NOW.isoformat(), "depends_on": [1]}),
        ], actor="test", now=NOW)
    return store_url


def _counter(calls: list[int]) -> dict[str, Handler]:
    def run(ctx: StepContext) -> Outcome:
        calls.append(ctx.step.step_order)
        return Outcome("done", {"ran_at": ctx.now.isoformat()})

    return {"count": Handler(run)}


def _step(url: str, order: int) -> CampaignWorkflow:
    with session_scope(url) as s:
        return s.scalar(select(CampaignWorkflow).where(CampaignWorkflow.campaign_id == "cmp_w", CampaignWorkflow.step_order == order))


def test_a_step_whose_runner_died_is_recovered_after_the_lease(workflow: str) -> None:
    url = workflow
    # a runner claimed step 1 and died before its transaction committed: the step is RUNNING under its lease
    with session_scope(url) as s:
        s.execute(update(CampaignWorkflow).where(CampaignWorkflow.campaign_id == "cmp_w", CampaignWorkflow.step_order == 1)
                  .values(status=S.RUNNING, claimed_by="dead-runner", claimed_at=NOW))
    calls: list[int] = []
    handlers = _counter(calls)
    within = engine.run_due_steps(url, NOW + LEASE - timedelta(minutes=1), handlers=handlers, worker_id="w2", lease=LEASE)
    assert within.runs == [] and _step(url, 1).status is S.RUNNING  # still within the dead runner's lease: left alone

    after = NOW + LEASE + timedelta(minutes=1)
    taken = engine.run_due_steps(url, after, handlers=handlers, worker_id="w2", lease=LEASE)
    assert [(r.step_order, r.outcome) for r in taken.runs] == [(1, "retry")]  # the lost run counts as a failed attempt
    step = _step(url, 1)
    assert step.status is S.PENDING and step.attempts == 1 and step.claimed_by is None and "dead-runner" in step.error
    retry_at = datetime.fromisoformat(step.result["retry_at"])
    assert after + timedelta(minutes=1) <= retry_at <= after + queue.max_backoff(1)

    done = engine.run_due_steps(url, after + queue.max_backoff(1), handlers=handlers, worker_id="w2", lease=LEASE)
    assert [(r.step_order, r.outcome) for r in done.runs] == [(1, "done"), (2, "done")] and calls == [1, 2]
    with session_scope(url) as s:
        log = queue.attempts_for(s, "acme", "workflows", step.id)
        actions = [e.action for e in entries(s, "acme", "cmp_w", limit=50)]
    assert [(a.attempt, a.worker_id, a.outcome) for a in log] == [(1, "dead-runner", "retry"), (2, "w2", "done")]
    assert log[0].started_at == NOW and "never reported back" in log[0].detail
    assert "workflow.step_retry" in actions and actions.count("workflow.step_done") == 2


def test_a_runner_that_keeps_dying_is_escalated(workflow: str) -> None:
    url = workflow
    when = NOW
    for attempt in range(1, 4):
        with session_scope(url) as s:
            s.execute(update(CampaignWorkflow).where(CampaignWorkflow.campaign_id == "cmp_w", CampaignWorkflow.step_order == 1)
                      .values(status=S.RUNNING, claimed_by=f"dead-{attempt}", claimed_at=when))
        when += LEASE + queue.max_backoff(attempt) + timedelta(minutes=1)
        report = engine.run_due_steps(url, when, handlers=_counter([]), worker_id="w", lease=LEASE)
        assert [r.outcome for r in report.runs] == (["retry"] if attempt < 3 else ["escalated"])
    assert _step(url, 1).status is S.FAILED


def test_a_cancelled_step_is_not_finished_by_its_runner(workflow: str) -> None:
    url = workflow

    def cancel_meanwhile(step: CampaignWorkflow, settings: object) -> None:
        with session_scope(url) as s:  # a person cancels while the slow part runs
            engine.cancel(s, "acme", "cmp_w", "boss", "stop")

    calls: list[int] = []
    handlers = {"count": Handler(_counter(calls)["count"].run, cancel_meanwhile)}
    report = engine.run_due_steps(url, NOW, handlers=handlers, worker_id="w", lease=LEASE)
    assert [(r.step_order, r.outcome) for r in report.runs] == [(1, "not_claimed")] and calls == []
    assert _step(url, 1).status is S.CANCELLED


def test_the_engine_imports_no_agent() -> None:
    package = Path(engine.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "agents" or n.startswith("agents.") for n in names), f"{path.name} imports {names}"
