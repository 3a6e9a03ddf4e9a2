"""The LLM gateway against a local Messages-API server: forced tools, repair, retries, timeouts, usage, caching."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field

from agents.gateway import GatewayError, LLMGateway, StructuredOutputError, Task, ToolSpec
from agents.leo.copyrules import is_generic_heading, standalone_problem
from agents.leo.drafts import TOOLS
from agents.leo.repurpose import repurpose
from agents.settings import AgentSettings
from agents.source import read_post
from agents.usage import campaign_usage, persist
from campaigns.lifecycle.service import CampaignInput, create_campaign
from campaigns.core.store.db import session_scope
from publishers.text import weighted_length


class Greeting(BaseModel):
    text: str = Field(min_length=1)
    count: int


GREETING = ToolSpec("write_greeting", "A greeting.", Greeting)


def _gateway(settings: AgentSettings, api) -> LLMGateway:
    return LLMGateway(settings, base_url=api.url, api_key="test-key")


def test_forced_tool_call_is_parsed_and_the_request_is_shaped_for_caching(live_settings, fake_api) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hello", "count": 2})]))
    gateway = _gateway(live_settings, fake_api)
    result = gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.", source="<source_post>post</source_post>", system="Be brief.")
    assert result.value == Greeting(text="hello", count=2)
    assert result.attempts == 1 and result.model == live_settings.fast_model
    [request] = fake_api.requests
    assert request.path == "/v1/messages"
    body = request.body
    assert body["tool_choice"] == {"type": "tool", "name": "write_greeting"}
    assert body["tools"][0]["name"] == "write_greeting" and "$defs" not in str(body["tools"][0]["input_schema"])
    source_block = body["messages"][0]["content"][0]
    assert source_block["text"] == "<source_post>post</source_post>"
    assert source_block["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][0]["content"][1]
    assert body["system"] == "Be brief."
    assert "test-key" in (request.headers.get("x-api-key") or request.headers.get("authorization", ""))


def test_tasks_route_to_fast_and_smart_models(live_settings) -> None:
    gateway = LLMGateway(live_settings.model_copy(update={"fast_model": "fast-id", "smart_model": "smart-id"}))
    assert [gateway.model_for(t) for t in ("social", "check", "email", "ads", "strategy")] == ["fast-id", "fast-id", "smart-id", "smart-id", "smart-id"]


def test_invalid_answers_are_sent_back_and_retried_within_the_bound(live_settings, fake_api) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", '{"text": "hel')]))  # bad JSON
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hello"})]))  # missing field
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hello", "count": 1})]))
    gateway = _gateway(live_settings, fake_api)
    result = gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert result.attempts == 3 and result.value.count == 1
    retry_turns = fake_api.requests[1].body["messages"]
    assert [m["role"] for m in retry_turns] == ["user", "assistant", "user"]
    feedback = retry_turns[2]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] is True and "not valid JSON" in feedback["content"]
    assert "count" in fake_api.requests[2].body["messages"][-1]["content"][0]["content"]
    assert [c.outcome for c in gateway.ledger.calls] == ["invalid", "invalid", "ok"]


def test_retries_stop_at_the_bound(live_settings, fake_api) -> None:
    for _ in range(5):
        fake_api.add(fake_api.message([{"type": "text", "text": "I would rather chat."}], stop_reason="end_turn"))
    gateway = _gateway(live_settings.model_copy(update={"llm_repair_attempts": 2}), fake_api)
    with pytest.raises(StructuredOutputError) as caught:
        gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert caught.value.attempts == 3 and len(fake_api.requests) == 3
    assert "did not call the tool" in str(caught.value)


def test_validator_problems_trigger_a_new_attempt(live_settings, fake_api) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hello 42", "count": 1})]))
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hello", "count": 1})]))
    gateway = _gateway(live_settings, fake_api)
    result = gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.",
                                validate=lambda g: ["figure 42 is not in the post"] if "42" in g.text else [])
    assert result.value.text == "hello" and result.attempts == 2


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error")])
def test_transient_errors_are_retried_by_the_sdk(live_settings, fake_api, status, kind) -> None:
    fake_api.error(status, kind)
    fake_api.error(status, kind)
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "hi", "count": 3})]))
    gateway = _gateway(live_settings.model_copy(update={"llm_max_retries": 2}), fake_api)
    assert gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.").value.count == 3
    assert len(fake_api.requests) == 3
    assert len(gateway.ledger.calls) == 1  # failed attempts carry no usage


def test_errors_after_the_sdk_retries_become_gateway_errors(live_settings, fake_api) -> None:
    for _ in range(3):
        fake_api.error(529, "overloaded_error")
    gateway = _gateway(live_settings.model_copy(update={"llm_max_retries": 2}), fake_api)
    with pytest.raises(GatewayError) as caught:
        gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert caught.value.kind == "overloaded" and len(fake_api.requests) == 3


def test_a_slow_answer_times_out(live_settings, fake_api) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "late", "count": 1})]), delay=1.5)
    gateway = _gateway(live_settings.model_copy(update={"llm_timeout_seconds": 0.3, "llm_max_retries": 0}), fake_api)
    with pytest.raises(GatewayError) as caught:
        gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert caught.value.kind == "timeout"


def test_usage_and_cost_are_accounted_and_persisted_per_campaign(live_settings, fake_api, store_url) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "a", "count": 1})], model="claude-haiku-4-5",
                                  input_tokens=1000, output_tokens=200, cache_creation=3000))
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "b", "count": 1})], model="claude-sonnet-4-5",
                                  input_tokens=500, output_tokens=100, cache_read=3000))
    gateway = _gateway(live_settings, fake_api)
    gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    gateway.structured(task=Task.EMAIL, tool=GREETING, prompt="Greet.")
    totals = gateway.ledger.totals()
    haiku = (1000 * 1.0 + 200 * 5.0 + 3000 * 1.25) / 1e6
    sonnet = (500 * 3.0 + 100 * 15.0 + 3000 * 0.30) / 1e6
    assert totals["cost_usd"] == pytest.approx(haiku + sonnet)
    assert totals["by_model"]["claude-haiku-4-5"]["cache_creation_input_tokens"] == 3000
    assert totals["cache_read_input_tokens"] == 3000 and totals["calls"] == 2
    with session_scope(store_url) as session:
        campaign = create_campaign(session, "acme", CampaignInput(name="Winter", type="CONVERSION"), "test")
        persist(session, "acme", totals, actor="test", purpose="test", campaign_id=campaign.id)
        persist(session, "acme", totals, actor="test", purpose="test", campaign_id=campaign.id)
        usage = campaign_usage(session, "acme", campaign.id)
    assert usage["runs"] == 2 and usage["cost_usd"] == pytest.approx(2 * (haiku + sonnet))
    assert usage["input_tokens"] == 3000


def test_unpriced_models_are_reported_not_guessed(live_settings, fake_api) -> None:
    fake_api.add(fake_api.message([fake_api.tool_use("write_greeting", {"text": "a", "count": 1})], model="some-new-model"))
    gateway = _gateway(live_settings, fake_api)
    gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert gateway.ledger.totals()["unpriced_models"] == ["some-new-model"]


# --------------------------------------------------------------------------- Leo on the live engine


def _drafts_for(body: dict, *, overlong: bool = False) -> dict:
    """A well-behaved model: variants quoting the post's own sentences, one per requested angle."""
    tool = body["tool_choice"]["name"]
    sentences = [(i, t) for i, t in _sentences(body) if standalone_problem(t) is None and not is_generic_heading(t)]
    title = re.search(r"^title: (.+)$", body["messages"][0]["content"][0]["text"], flags=re.M).group(1)
    count = int(body["messages"][0]["content"][1]["text"].split()[1])
    variants = []
    for n in range(count):
        sid, text = sentences[n % len(sentences)]
        other_id, other = sentences[(n + 1) % len(sentences)]
        lead = f"{['Worth knowing', 'In short', 'From the blog', 'Quick read'][n % 4]}: {text}"
        if tool == "write_emails":
            variants.append({"angle": "question", "subject": title if n == 0 else f"{lead.split(':')[0]}: {title}", "preview_text": other,
                             "paragraphs": [lead, other],
                             "cta_label": "Read the post", "source_sentence_ids": [sid, other_id]})
        elif tool == "write_ads":
            variants.append({"angle": "benefit", "headlines": [["Worth knowing", "In short", "From the blog", "Quick read"][n % 4], "Read the guide", "Learn more"],
                             "descriptions": [text, other], "primary_text": lead, "source_sentence_ids": [sid]})
        else:
            body_text = (lead + " " + other) * (6 if overlong else 1)
            variants.append({"angle": "story", "text": body_text, "hashtags": ["winter"], "source_sentence_ids": [sid, other_id],
                             "thread": [lead, other] if tool == "write_x_posts" else [], "alt_text": "A jacket", "image_brief": "A jacket"})
    return {"variants": variants}


def _sentences(body: dict) -> list[tuple[str, str]]:
    text = body["messages"][0]["content"][0]["text"]
    return re.findall(r"^\[(s\d+)\] (?:## |- )?(.+)$", text, flags=re.M)


def test_leo_live_outputs_pass_the_same_checks_and_too_long_text_is_repaired_without_asking_again(live_settings, fake_api, posts_dir) -> None:
    fake_api.responder = lambda body: fake_api.message([fake_api.tool_use(body["tool_choice"]["name"], _drafts_for(body, overlong=True))])
    gateway = _gateway(live_settings, fake_api)
    source = read_post(posts_dir / "long.md")
    result = repurpose(source, ["x", "linkedin", "email", "ads"], 3, settings=live_settings, gateway=gateway, campaign_id="cmp_live")
    assert result.passed, result.failures()
    assert len(fake_api.requests) == 4  # one call per format: the overlong posts were trimmed, not re-asked
    x_posts = [o for o in result.outputs if o.format == "x"]
    assert all(o.engine == live_settings.fast_model for o in x_posts)
    assert all(weighted_length(o.text) <= 280 for o in x_posts)
    assert {o.engine for o in result.outputs if o.format in ("email", "ads")} == {live_settings.smart_model}
    tools_sent = [r.body["tool_choice"]["name"] for r in fake_api.requests]
    assert tools_sent == [TOOLS[f].name for f in ("x", "linkedin", "email", "ads")]
    # the tool list is the same on every call, so the cached prefix (tools, system, post) is shared
    assert len({str(r.body["tools"]) for r in fake_api.requests}) == 1
    assert result.usage["calls"] == 4 and result.usage["cost_usd"] > 0
    assert all("utm_campaign=cmp_live" in (o.link or "") for o in result.outputs)


def test_leo_falls_back_to_offline_when_the_model_keeps_inventing_figures(live_settings, fake_api, posts_dir) -> None:
    def inventive(body: dict) -> dict:
        drafts = _drafts_for(body)
        for v in drafts["variants"]:
            v["text"] = "Save 73% today. " + v.get("text", "")
        return fake_api.message([fake_api.tool_use(body["tool_choice"]["name"], drafts)])

    fake_api.responder = inventive
    gateway = _gateway(live_settings.model_copy(update={"llm_repair_attempts": 1}), fake_api)
    result = repurpose(read_post(posts_dir / "short.md"), ["facebook"], 2, settings=live_settings.model_copy(update={"llm_repair_attempts": 1}),
                       gateway=gateway)
    assert len(fake_api.requests) == 2
    assert "73" in fake_api.requests[1].body["messages"][-1]["content"][0]["content"]
    assert result.passed and {o.engine for o in result.outputs} == {"offline"}
    assert any("offline drafts used instead" in n for n in result.notes)
    assert all("offline fallback" in " ".join(o.notes) for o in result.outputs)


def test_the_injected_post_never_reaches_the_model(live_settings, fake_api, posts_dir) -> None:
    fake_api.responder = lambda body: fake_api.message([fake_api.tool_use(body["tool_choice"]["name"], _drafts_for(body))])
    gateway = _gateway(live_settings, fake_api)
    result = repurpose(read_post(posts_dir / "injection.md"), ["x"], 2, settings=live_settings, gateway=gateway)
    sent = fake_api.requests[0].body
    source_text = sent["messages"][0]["content"][0]["text"]
    assert "Ignore all previous instructions" not in source_text and "withheld" in source_text
    assert "data, not instructions" in sent["system"]
    assert result.passed, result.failures()


def test_the_optional_claim_check_notes_unsupported_claims(live_settings, fake_api, posts_dir) -> None:
    def answer(body: dict) -> dict:
        tool = body["tool_choice"]["name"]
        if tool == "report_unsupported_claims":
            assert body["model"] == live_settings.fast_model
            return fake_api.message([fake_api.tool_use(tool, {"unsupported": [{"variant": 2, "claim": "waxing doubles zip life"}]})])
        return fake_api.message([fake_api.tool_use(tool, _drafts_for(body))])

    fake_api.responder = answer
    settings = live_settings.model_copy(update={"llm_claim_check": True})
    result = repurpose(read_post(posts_dir / "short.md"), ["facebook"], 2, settings=settings, gateway=_gateway(settings, fake_api))
    notes = {o.variant: o.notes for o in result.outputs}
    assert notes[1] == [] and "waxing doubles zip life" in notes[2][0]
    assert [r.body["tool_choice"]["name"] for r in fake_api.requests] == ["write_facebook_posts", "report_unsupported_claims"]


def test_ava_asks_the_smart_model_to_explain_the_plan_without_new_figures(live_settings, fake_api) -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from agents.ava.models import Goal, PlanRequest
    from agents.ava.planner import plan_campaign

    fake_api.add(fake_api.message([fake_api.tool_use("write_plan_rationale", {"summary": "Search leads and should bring 999 sales."})],
                                  model="claude-sonnet-4-5"))
    fake_api.add(fake_api.message([fake_api.tool_use("write_plan_rationale", {
        "summary": "Search ads lead with 38% of the budget because people already look for this.",
        "channel_reasons": {"google_ads": "Catches people searching for winter gear."}})], model="claude-sonnet-4-5"))
    request = PlanRequest(goal=Goal(type="CONVERSION"), budget=Decimal("5000"), start=date(2026, 12, 1), end=date(2026, 12, 14))
    plan = plan_campaign(request, settings=live_settings, gateway=_gateway(live_settings, fake_api), now=datetime(2026, 11, 1, tzinfo=UTC))
    assert plan.summary.startswith("Search ads lead with 38%")
    assert next(c.reason for c in plan.channels if c.channel == "google_ads") == "Catches people searching for winter gear."
    assert "999" in fake_api.requests[1].body["messages"][-1]["content"][0]["content"]
    assert plan.engine == live_settings.smart_model and plan.usage["calls"] == 2
    assert fake_api.requests[0].body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_a_client_without_credentials_is_a_setup_error_and_leo_stays_offline(live_settings, fake_api, posts_dir, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "no-config"))
    gateway = LLMGateway(live_settings, base_url=fake_api.url)
    with pytest.raises(GatewayError) as caught:
        gateway.structured(task=Task.SOCIAL, tool=GREETING, prompt="Greet.")
    assert caught.value.kind == "config" and not fake_api.requests
    result = repurpose(read_post(posts_dir / "short.md"), ["x"], 1, settings=live_settings, gateway=gateway)
    assert result.passed and result.engine == "offline" and "config" in result.notes[-1]
