"""Short and huge posts never crash Leo; the brand voice is applied by the offline engine and stored per merchant."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.leo.copyrules import has_emoji
from agents.leo.repurpose import repurpose
from agents.leo.voice import BrandVoice
from agents.settings import AgentSettings
from agents.source import parse_post, read_post
from campaigns.core.merchants import BrandVoiceError, UnknownMerchantError, get_brand_voice, set_brand_voice
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog

CORPUS = Path(__file__).parent / "corpus"
ALL = ["x", "linkedin", "facebook", "instagram", "email", "ads"]


def test_a_short_post_gets_fewer_formats_with_a_clear_note_never_a_traceback(offline_settings) -> None:
    source = parse_post("# Weekend trip\n\nWe packed the car and drove to the lake.\n", filename="trip.md")
    result = repurpose(source, ALL, 3, settings=offline_settings)
    assert result.passed, result.failures()
    formats = {o.format for o in result.outputs}
    assert "ads" not in formats and {"x", "linkedin", "email"} <= formats
    assert any(n.startswith("ads left out: the post is too short for it") and "complete sentences" in n for n in result.notes)
    email = next(o for o in result.outputs if o.format == "email")
    assert email.subject == "Weekend trip"


def test_a_huge_single_paragraph_is_bounded(offline_settings) -> None:
    paragraph = "The trail climbs past the old mill and the view opens wide over the valley. " * 63_000  # about 4.9 MB, just under the 5 MB limit
    started = time.perf_counter()
    source = parse_post(f"# A long walk\n\n{paragraph}", filename="long.md")
    result = repurpose(source, ALL, 3, settings=offline_settings)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, elapsed
    assert source.truncated and sum(len(s.text) for s in source.sentences) <= offline_settings.max_source_chars
    assert any("longer than 60,000 characters" in n for n in result.notes)
    assert result.outputs and result.passed, result.failures()


def test_the_offline_engine_writes_in_the_brand_voice(offline_settings) -> None:
    source = read_post(CORPUS / "05-opinion.md")
    plain = repurpose(source, ["linkedin", "x", "email", "ads"], 3, settings=offline_settings)
    assert any("guess" in (o.text or "") + (o.primary_text or "") for o in plain.outputs)
    voice = BrandVoice(words_to_avoid=("guess", "Apple"), emoji=False, hashtag_count=1, sign_off="Talk soon, the Mailforge team")
    result = repurpose(source, ["linkedin", "x", "email", "ads"], 3, settings=offline_settings, voice=voice)
    assert result.passed, result.failures()
    for o in result.outputs:
        visible = " ".join([o.text or "", o.subject or "", o.preview_text or "", o.primary_text or "", *(o.headlines or []),
                            *(o.descriptions or []), *(o.thread or [])])
        assert "guess" not in visible.lower() and "apple" not in visible.lower(), (o.format, o.variant)
        if o.format in ("linkedin", "x"):
            assert len(o.hashtags) <= 1 and "Talk soon, the Mailforge team" in o.text
        if o.format == "email":
            assert "Talk soon, the Mailforge team" in o.text and "Talk soon, the Mailforge team" in o.html


def test_emoji_off_removes_them_and_on_keeps_them(offline_settings) -> None:
    source = parse_post("---\ntitle: Trail mix that lasts\n---\n\nOur trail mix keeps for three weeks 🎒 in a sealed bag. "
                        "Dried apricots stay soft when you pack them with the nuts. Salted almonds replace the salt you sweat out.\n")
    off = repurpose(source, ["linkedin"], 1, settings=offline_settings, voice=BrandVoice(emoji=False))
    on = repurpose(source, ["linkedin"], 1, settings=offline_settings, voice=BrandVoice(emoji=True))
    assert not has_emoji(off.outputs[0].text) and off.passed
    assert has_emoji(on.outputs[0].text)


def test_the_brand_voice_is_stored_per_merchant_and_audited(store_url: str) -> None:
    with session_scope(store_url) as session:
        assert get_brand_voice(session, "acme") is None
        set_brand_voice(session, "acme", actor="test", words_to_avoid=["cheap", " cheap ", "synergy"], emoji=True, hashtag_count=2,
                        sign_off="— Acme")
        set_brand_voice(session, "acme", actor="test", emoji=False)  # only what is given changes
    with session_scope(store_url) as session:
        stored = get_brand_voice(session, "acme")
        voice = BrandVoice.from_settings("Plain.", stored)
        assert voice.words_to_avoid == ("cheap", "synergy") and voice.emoji is False and voice.hashtag_count == 2 and voice.sign_off == "— Acme"
        assert voice.description == "Plain."
        assert get_brand_voice(session, "globex") is None
        assert session.query(AuditLog).filter_by(merchant_id="acme", action="merchant.brand_voice").count() == 2
        with pytest.raises(BrandVoiceError, match="0 to 30"):
            set_brand_voice(session, "acme", actor="test", hashtag_count=99)
        with pytest.raises(BrandVoiceError, match="one line"):
            set_brand_voice(session, "acme", actor="test", sign_off="a\nb")
        with pytest.raises(UnknownMerchantError):
            set_brand_voice(session, "nosuch", actor="test", emoji=True)
    with session_scope(store_url) as session:
        set_brand_voice(session, "acme", actor="test", clear_hashtag_count=True)
        assert get_brand_voice(session, "acme").hashtag_count is None


def test_the_voice_prompt_names_every_setting() -> None:
    prompt = BrandVoice(description="Dry.", words_to_avoid=("cheap",), emoji=True, hashtag_count=3, sign_off="Bye").prompt()
    assert "Dry." in prompt and "cheap" in prompt and "sparingly" in prompt and "3 hashtags" in prompt and "Bye" in prompt
    assert BrandVoice(hashtag_count=5).hashtag_limit(2) == 2 and BrandVoice().hashtag_limit(4) == 4


def test_settings_voice_is_the_default(monkeypatch) -> None:
    settings = AgentSettings(llm_engine="offline", brand_voice="Short and dry.")
    result = repurpose(read_post(CORPUS / "04-comparison-table.md"), ["instagram"], 1, settings=settings)
    assert "Short and dry" in result.outputs[0].image_brief
