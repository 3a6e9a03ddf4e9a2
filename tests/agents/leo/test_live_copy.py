"""The copy rules on the live model's path, against the local Messages API (real SDK, real HTTP).

A generic or fragment ad headline is repaired without asking again (dropped, and the post's
own lines fill the gap); a social hook that needs the previous sentence, or an email subject
that is a heading, is sent back to the model with the reason, and the corrected answer is kept.
"""

from __future__ import annotations

from pathlib import Path

from agents.gateway import LLMGateway
from agents.leo.copyrules import copy_problems
from agents.leo.repurpose import repurpose
from agents.leo.voice import BrandVoice
from agents.source import read_post

CORPUS = Path(__file__).parent / "corpus"


def _gateway(settings, api) -> LLMGateway:
    return LLMGateway(settings, base_url=api.url, api_key="test-key")


def _post():
    return read_post(CORPUS / "05-opinion.md")


def test_generic_ad_headlines_are_repaired_without_asking_again(live_settings, fake_api) -> None:
    answer = {"variants": [{"angle": "benefit", "headlines": ["Conclusion", "tl;dr", "Why?", "FAQs", "For example:", "Clicks show intent"],
                            "descriptions": ["Unsubscribes show when we have worn out our welcome.", "Let me explain.", "Clicks show intent"],
                            "primary_text": "Open rates were never a great measure, and since 2021 they have become a guess.",
                            "source_sentence_ids": ["s1"]}]}
    fake_api.add(fake_api.message([fake_api.tool_use("write_ads", answer)], model="claude-sonnet-4-5"))
    result = repurpose(_post(), ["ads"], 1, settings=live_settings, gateway=_gateway(live_settings, fake_api))
    assert len(fake_api.requests) == 1
    ad = result.outputs[0]
    assert ad.engine == "claude-sonnet-4-5" and result.passed, result.failures()
    assert not {"Conclusion", "tl;dr", "Why?", "FAQs", "For example:"} & set(ad.headlines)
    assert "Clicks show intent" in ad.headlines and len(ad.headlines) >= 3
    assert ad.descriptions[0] == "Unsubscribes show when we have worn out our welcome."
    assert "Let me explain." not in ad.descriptions and "Clicks show intent" not in ad.descriptions and len(ad.descriptions) >= 2
    assert copy_problems(ad, result.source) == []


def test_a_fragment_hook_or_a_heading_subject_is_asked_again_with_the_reason(live_settings, fake_api) -> None:
    fragment = {"variants": [{"angle": "benefit", "text": "To avoid this problem, we track three things instead.", "source_sentence_ids": ["s4"]}]}
    fixed = {"variants": [{"angle": "benefit", "text": "Open rates were never a great measure, and since 2021 they have become a guess.",
                           "source_sentence_ids": ["s1"]}]}
    fake_api.add(fake_api.message([fake_api.tool_use("write_linkedin_posts", fragment)]))
    fake_api.add(fake_api.message([fake_api.tool_use("write_linkedin_posts", fixed)]))
    heading = {"variants": [{"angle": "benefit", "subject": "Why?", "preview_text": "Clicks show intent.", "paragraphs": ["Clicks show intent."],
                             "cta_label": "Read the post", "source_sentence_ids": ["s5"]}]}
    good = {"variants": [{"angle": "benefit", "subject": "Stop measuring email success by open rates", "preview_text": "Clicks show intent.",
                          "paragraphs": ["Clicks show intent."], "cta_label": "Read the post", "source_sentence_ids": ["s5"]}]}
    fake_api.add(fake_api.message([fake_api.tool_use("write_emails", heading)], model="claude-sonnet-4-5"))
    fake_api.add(fake_api.message([fake_api.tool_use("write_emails", good)], model="claude-sonnet-4-5"))
    result = repurpose(_post(), ["linkedin", "email"], 1, settings=live_settings, gateway=_gateway(live_settings, fake_api))
    assert len(fake_api.requests) == 4 and result.passed, result.failures()
    retry = fake_api.requests[1].body["messages"][-1]["content"][0]
    assert retry["is_error"] and "connector" in retry["content"]
    assert "generic heading" in fake_api.requests[3].body["messages"][-1]["content"][0]["content"]
    linkedin, email = result.outputs
    assert linkedin.text.startswith("Open rates were never") and email.subject == "Stop measuring email success by open rates"
    assert {o.engine for o in result.outputs} == {"claude-haiku-4-5", "claude-sonnet-4-5"}


def test_a_model_that_keeps_writing_fragments_falls_back_to_offline_copy(live_settings, fake_api) -> None:
    fragment = {"variants": [{"angle": "benefit", "text": "But that posed a problem: teams kept optimising.", "source_sentence_ids": ["s3"]}]}
    fake_api.responder = lambda body: fake_api.message([fake_api.tool_use("write_facebook_posts", fragment)])
    result = repurpose(_post(), ["facebook"], 1, settings=live_settings, gateway=_gateway(live_settings, fake_api))
    assert len(fake_api.requests) == 1 + live_settings.llm_repair_attempts
    assert result.outputs[0].engine == "offline" and result.passed
    assert any("offline drafts used instead" in n for n in result.notes)


def test_the_brand_voice_reaches_the_model_and_is_enforced_on_its_answer(live_settings, fake_api) -> None:
    voice = BrandVoice(words_to_avoid=("guess",), emoji=False, hashtag_count=1, sign_off="— The Mailforge team")
    avoided = {"variants": [{"angle": "benefit", "text": "Open rates were never a great measure, and since 2021 they have become a guess. 🎉",
                             "hashtags": ["metrics", "email"], "source_sentence_ids": ["s1"]}]}
    fine = {"variants": [{"angle": "benefit", "text": "Clicks show intent. Replies show trust. 🎉", "hashtags": ["metrics", "email"],
                          "source_sentence_ids": ["s5"]}]}
    fake_api.add(fake_api.message([fake_api.tool_use("write_linkedin_posts", avoided)]))
    fake_api.add(fake_api.message([fake_api.tool_use("write_linkedin_posts", fine)]))
    result = repurpose(_post(), ["linkedin"], 1, settings=live_settings, gateway=_gateway(live_settings, fake_api), voice=voice)
    system = fake_api.requests[0].body["system"]
    assert "Never use these words: guess." in system and "Write no emoji." in system and "At most 1 hashtags" in system
    assert "brand voice avoids" in fake_api.requests[1].body["messages"][-1]["content"][0]["content"]
    out = result.outputs[0]
    assert result.passed, result.failures()
    assert "🎉" not in out.text and out.hashtags == ["metrics"] and "— The Mailforge team" in out.text
