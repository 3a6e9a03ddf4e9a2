"""LLM usage rows: one per call, in the caller's transaction, summed per campaign on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from agents.ava import execution as ava
from agents.ava.models import Goal, PlanRequest
from agents.ava.planner import plan_campaign
from agents.gateway import LLMGateway
from agents.settings import DEFAULT_PRICES
from agents.usage import USAGE_ACTION, CallUsage, UsageLedger, campaign_usage, cost_of, persist, usage_by_campaign
from campaigns.cli import agent_commands
from campaigns.lifecycle.service import CampaignInput, create_campaign
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import AuditLog, LlmUsage

HAIKU = 0.00575  # 1000 in x $1 + 200 out x $5 + 3000 cache write x $1.25, per million
SONNET = 0.0039  # 500 in x $3 + 100 out x $15 + 3000 cache read x $0.30, per million


def _ledger() -> UsageLedger:
    ledger = UsageLedger()
    for model, tokens, task, outcome in (
        ("claude-haiku-4-5-20251001", {"input_tokens": 1000, "output_tokens": 200, "cache_creation_input_tokens": 3000}, "social", "invalid"),
        ("claude-sonnet-4-5", {"input_tokens": 500, "output_tokens": 100, "cache_read_input_tokens": 3000}, "email", "ok"),
        ("someone-elses-model", {"input_tokens": 10, "output_tokens": 1}, "check", "ok"),
    ):
        ledger.add(CallUsage(task=task, model=model, cost_usd=cost_of(DEFAULT_PRICES, model, **tokens), outcome=outcome, **tokens))
    return ledger


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("store_url")
    url = request.getfixturevalue("pg_url")
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, "acme", timezone="Europe/Berlin")
        ensure_merchant(session, "globex")
    return url


def test_each_call_is_a_row_and_usage_is_summed_from_the_table(any_store) -> None:
    totals = _ledger().totals()
    with session_scope(any_store) as session:
        campaign = create_campaign(session, "acme", CampaignInput(name="Winter", type="CONVERSION"), "test")
        other = create_campaign(session, "globex", CampaignInput(name="Not ours", type="CONVERSION"), "test")
        campaign_id = campaign.id
        runs = [persist(session, "acme", totals, actor="test", purpose="repurpose", campaign_id=campaign_id) for _ in range(2)]
        persist(session, "acme", totals, actor="test", purpose="repurpose", entity_id="abc")  # no campaign
        persist(session, "globex", totals, actor="test", purpose="repurpose", campaign_id=other.id)  # another merchant
    assert len(set(runs)) == 2
    with session_scope(any_store) as session:
        rows = session.scalars(select(LlmUsage).where(LlmUsage.campaign_id == campaign_id, LlmUsage.run_id == runs[0]).order_by(LlmUsage.id)).all()
        assert [(r.model, r.task, r.outcome, r.input_tokens, r.cache_creation_input_tokens, r.cache_read_input_tokens) for r in rows] == [
            ("claude-haiku-4-5-20251001", "social", "invalid", 1000, 3000, 0),
            ("claude-sonnet-4-5", "email", "ok", 500, 0, 3000),
            ("someone-elses-model", "check", "ok", 10, 0, 0),
        ]
        assert [r.cost_usd for r in rows] == [Decimal("0.00575"), Decimal("0.0039"), None]
        usage = campaign_usage(session, "acme", campaign_id)
        by_campaign = usage_by_campaign(session, "acme")
        summaries = session.scalars(select(AuditLog).where(AuditLog.action == USAGE_ACTION, AuditLog.entity_id == campaign_id)).all()
    assert usage["calls"] == 6 and usage["runs"] == 2 and usage["unpriced_calls"] == 2
    assert usage["cost_usd"] == pytest.approx(2 * (HAIKU + SONNET), abs=1e-9)
    assert usage["input_tokens"] == 2 * 1510 and usage["output_tokens"] == 2 * 301
    assert usage["cache_creation_input_tokens"] == 6000 and usage["cache_read_input_tokens"] == 6000
    assert usage["by_model"]["claude-haiku-4-5-20251001"]["cost_usd"] == pytest.approx(2 * HAIKU, abs=1e-9)
    assert [(r["campaign_id"], r["calls"]) for r in by_campaign] == [(campaign_id, 6), (None, 3)]
    assert by_campaign[1]["cost_usd"] == pytest.approx(HAIKU + SONNET, abs=1e-9)
    # one summary audit entry per run, without the per-call detail
    assert len(summaries) == 2 and {s.details["run_id"] for s in summaries} == set(runs)
    assert "calls_detail" not in summaries[0].details and summaries[0].details["calls"] == 3


def test_usage_rows_roll_back_with_what_the_calls_produced(store_url) -> None:
    with session_scope(store_url) as session:
        campaign_id = create_campaign(session, "acme", CampaignInput(name="Winter", type="CONVERSION"), "test").id
    with pytest.raises(RuntimeError), session_scope(store_url) as session:
        persist(session, "acme", _ledger().totals(), actor="test", purpose="repurpose", campaign_id=campaign_id)
        raise RuntimeError("saving the drafts failed")
    with session_scope(store_url) as session:
        assert session.scalar(select(func.count()).select_from(LlmUsage)) == 0
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == USAGE_ACTION)) == 0
        assert campaign_usage(session, "acme", campaign_id)["calls"] == 0


def test_offline_runs_write_nothing_and_summaries_without_detail_are_refused(store_url) -> None:
    with session_scope(store_url) as session:
        assert persist(session, "acme", {"calls": 0, "cost_usd": 0.0}, actor="test", purpose="repurpose") is None
        with pytest.raises(ValueError, match="calls_detail"):
            persist(session, "acme", {"calls": 2, "cost_usd": 0.1}, actor="test", purpose="repurpose")
        assert session.scalar(select(func.count()).select_from(LlmUsage)) == 0


def test_a_live_plan_saves_its_calls_on_the_campaign_and_status_shows_the_cost(store_url, live_settings, fake_api, monkeypatch) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_plan_rationale", {"summary": "It should bring 999 sales."})], model="claude-sonnet-4-5"))
    fake_api.add(fake_api.message([fake_api.tool_use("write_plan_rationale", {"summary": "Search ads lead because people look for this."})],
                                  model="claude-sonnet-4-5"))
    request = PlanRequest(goal=Goal(type="CONVERSION"), budget=Decimal("5000"), start=date(2026, 12, 1), end=date(2026, 12, 14))
    gateway = LLMGateway(live_settings, base_url=fake_api.url, api_key="test-key")
    plan = plan_campaign(request, settings=live_settings, gateway=gateway, now=datetime(2026, 11, 1, tzinfo=UTC))
    with session_scope(store_url) as session:
        campaign_id = ava.create_campaign_from_plan(session, "acme", plan, actor="planner", now=datetime(2026, 11, 1, tzinfo=UTC))[0].id
    with session_scope(store_url) as session:
        rows = session.scalars(select(LlmUsage).where(LlmUsage.campaign_id == campaign_id).order_by(LlmUsage.id)).all()
        status = ava.status(session, "acme", campaign_id)
    # the fake API reports 1200 input and 300 output tokens a call: 1200 x $3 + 300 x $15 per million = $0.0081
    assert [(r.task, r.outcome, r.cost_usd) for r in rows] == [("strategy", "invalid", Decimal("0.0081")), ("strategy", "ok", Decimal("0.0081"))]
    assert status["usage"]["calls"] == 2 and status["usage"]["cost_usd"] == pytest.approx(0.0162)

    monkeypatch.setenv("CAMPAIGNS_HOME", str(Path(store_url.removeprefix("sqlite:///")).parent))  # the CLI's store is this one
    monkeypatch.delenv("CAMPAIGNS_DATABASE_URL", raising=False)
    from campaigns.core.settings import get_settings

    get_settings.cache_clear()
    app = typer.Typer()
    app.add_typer(agent_commands.workflow_app, name="workflow")
    app.command("noop")(lambda: None)
    shown = CliRunner().invoke(app, ["workflow", "status", campaign_id, "--merchant", "acme"])
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "LLM cost: $0.0162 for 2 call(s) in 1 run(s)" in " ".join(shown.output.split())
