"""Saving, the starter gallery, previews and test sends, on SQLite and PostgreSQL; a campaign with defaults sent end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from campaigns.lifecycle import service as campaign_service
from campaigns.email import broadcasts, delivery, recipients
from campaigns.email import templates as service
from campaigns.core.audit import entries
from campaigns.audiences.segments import save_segment
from campaigns.audiences.suppression import UnsubscribeSigner
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, EmailSend, EmailTemplate, Merchant
from publishers.sandbox import read_outbox

KEY = Fernet.generate_key().decode()
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BODY = ('<h1>Hi {{ first_name | default("there") }}</h1>\n<p>Your city: {{ attributes.city | default("somewhere") }}</p>\n'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>')


@pytest.fixture
def store_url(store_url: str) -> str:
    """The shared store (acme named Acme, globex) with two contacts of acme."""
    url = store_url
    with session_scope(url) as s:
        s.get(Merchant, "acme").name = "Acme"
        s.add_all([Contact(merchant_id="acme", email="zoe@example.com", first_name="Zoe", attributes={"city": "Oslo"}),
                   Contact(merchant_id="acme", email="anon@example.com", first_name="", attributes={})])
    return url


def _settings(tmp_path, **kw) -> Settings:
    return Settings(home=tmp_path / "home", token_key=KEY, **kw)


def _contact_id(s, email: str) -> int:
    return s.scalar(select(Contact.id).where(Contact.email == email))


def test_save_refuses_problems_and_updates_in_place(store_url: str) -> None:
    with session_scope(store_url) as s:
        with pytest.raises(service.TemplateProblemsError) as caught:
            service.save_template(s, "acme", "Bad", "<p>ok</p>\n<p>{{ nickname }}</p>", actor="ana", layout="none")
        assert [(p.line, p.message) for p in caught.value.problems] == [
            (2, "unknown merge tag {{ nickname }}"), (2, "marketing email needs an unsubscribe link")]
        first = service.save_template(s, "acme", "Mine", BODY, actor="ana", subject="Hello", layout="none")
        again = service.save_template(s, "acme", "Mine", BODY + "<p>P.S.</p>", actor="ana", subject="Hello again", layout="none")
        assert first.id == again.id and again.subject == "Hello again"
        receipt = service.save_template(s, "acme", "Receipt", "<p>Thanks {{ first_name }}</p>", actor="ana", category="transactional", layout="none")
        assert receipt.category == "transactional"
        assert [e.action for e in entries(s, "acme")][:3] == ["email_template.create", "email_template.update", "email_template.create"][::-1]


def test_install_starters_is_idempotent_and_scoped(store_url: str) -> None:
    with session_scope(store_url) as s:
        assert len(service.install_starters(s, "acme", actor="ana")) == 6
        assert service.install_starters(s, "acme", actor="ana") == []
        names = [t.name for t in service.list_templates(s, "acme")]
        assert names == sorted(["Newsletter", "Product launch", "Promotion", "Re-engagement", "Event invitation", "Article"])
        assert service.list_templates(s, "globex") == []
        assert {t.starter for t in service.list_templates(s, "acme")} == {"newsletter", "product_launch", "promotion", "re_engagement", "event", "article"}


def test_preview_for_a_contact_applies_defaults_and_signs_the_link(store_url: str, tmp_path) -> None:
    settings = _settings(tmp_path, public_url="https://shop.acme.example")
    with session_scope(store_url) as s:
        service.save_template(s, "acme", "Mine", BODY, actor="ana", subject='Hi {{ first_name | default("friend") }}')
        zoe, anon = _contact_id(s, "zoe@example.com"), _contact_id(s, "anon@example.com")
        one = service.preview(s, "acme", contact_id=zoe, template="Mine", settings=settings)
        other = service.preview(s, "acme", contact_id=anon, template="Mine", settings=settings)
    assert one.subject == "Hi Zoe" and "<h1" in one.html and ">Hi Zoe</h1>" in one.html and "Your city: Oslo" in one.html
    assert other.subject == "Hi friend" and ">Hi there</h1>" in other.html and "Your city: somewhere" in other.html
    assert "Hi there\n========" in other.text and "Unsubscribe: https://shop.acme.example/unsubscribe?token=" in other.text
    assert one.signed and "{{" not in one.html + one.text
    token = parse_qs(urlparse(one.unsubscribe_url).query)["token"][0]
    claim = UnsubscribeSigner(KEY).verify(token)
    assert (claim.merchant_id, claim.contact_id) == ("acme", zoe)
    # without a key the link is a marked preview address that unsubscribes nobody
    with session_scope(store_url) as s:
        unsigned = service.preview(s, "acme", contact_id=zoe, template="Mine", settings=Settings(home=tmp_path / "h2"))
    assert not unsigned.signed and service.PREVIEW_UNSUBSCRIBE.replace("&", "&amp;") in unsigned.html


def _email_campaign(store_url: str, template: str | None) -> int:
    with session_scope(store_url) as s:
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return broadcasts.create_email_campaign(s, "acme", campaign_id=campaign.id, segment_id=segment.id, actor="ana", template_name=template,
                                              subject='Hey {{ first_name | default("you") }}').id


def test_a_campaign_with_defaults_is_sent_as_previewed(store_url: str, tmp_path) -> None:
    settings = _settings(tmp_path)
    with session_scope(store_url) as s:
        service.save_template(s, "acme", "Mine", BODY, actor="ana")
    ec_id = _email_campaign(store_url, "Mine")
    with session_scope(store_url) as s:
        previews = {c: service.preview(s, "acme", contact_id=_contact_id(s, c), email_campaign_id=ec_id) for c in ("zoe@example.com", "anon@example.com")}
        recipients.prepare_send(s, "acme", ec_id, "ana", now=T0)
    report = delivery.deliver(store_url, settings, ec_id, "w1", now=T0, merchant_id="acme")
    assert report.outcomes == {"SENT": 2}
    [entry] = read_outbox(tmp_path / "home" / "outbox" / "email.jsonl")
    from publishers.base import fill_placeholders

    for recipient in entry["recipients"]:
        values = recipient["variables"]
        got_html = fill_placeholders(entry["message"]["html"], values, escape=True)
        got_subject = fill_placeholders(entry["message"]["subject"], values)
        expected = previews[recipient["email"]]
        assert got_subject == expected.subject
        # identical apart from the unsubscribe token (the send signs one per email_sends row)
        assert got_html.replace(values["unsubscribe_url"].replace("&", "&amp;"), "U") == expected.html.replace(service.PREVIEW_UNSUBSCRIBE, "U")
    by_email = {r["email"]: r["variables"] for r in entry["recipients"]}
    assert "Your city: somewhere" in fill_placeholders(entry["message"]["html"], by_email["anon@example.com"])
    assert "Hey you" == fill_placeholders(entry["message"]["subject"], by_email["anon@example.com"])


def test_test_send_lands_in_the_sandbox_not_in_email_sends(store_url: str, tmp_path) -> None:
    settings = _settings(tmp_path)
    with session_scope(store_url) as s:
        service.save_template(s, "acme", "Mine", BODY, actor="ana")
    ec_id = _email_campaign(store_url, "Mine")
    with session_scope(store_url) as s:
        sent = service.send_test(s, settings, "acme", to="qa@acme.example", actor="ana", email_campaign_id=ec_id,
                                 contact_id=_contact_id(s, "zoe@example.com"))
        with pytest.raises(ValueError, match="--to"):
            service.send_test(s, settings, "acme", to="not-an-address", actor="ana", template="Mine")
    with session_scope(store_url) as s:
        assert s.scalar(select(func.count()).select_from(EmailSend)) == 0
        assert broadcasts.get_email_campaign(s, "acme", ec_id).status.value == "DRAFT"
        [audit] = [e for e in entries(s, "acme") if e.action == "email.test_send"]
        assert audit.details["to"] == "qa@acme.example" and audit.details["provider"] == "sandbox"
    [entry] = read_outbox(tmp_path / "home" / "outbox" / "email.jsonl")
    assert sent.provider == "sandbox" and entry["post_ids"] == [sent.message_id]
    assert entry["message"]["tag"] == f"email-test-{ec_id}" and entry["message"]["subject"].startswith("[TEST] Hey ")
    [recipient] = entry["recipients"]
    assert recipient["email"] == "qa@acme.example" and "test-send=1" in recipient["variables"]["unsubscribe_url"]
    assert [v for k, v in recipient["variables"].items() if k.startswith("first_name__")] == ["Zoe", "Zoe"]


def test_templates_are_scoped_to_their_merchant(store_url: str) -> None:
    with session_scope(store_url) as s:
        service.save_template(s, "acme", "Mine", BODY, actor="ana")
        with pytest.raises(service.EmailTemplateNotFoundError, match="known: none yet"):
            service.get_template(s, "globex", "Mine")
        assert s.scalar(select(func.count()).select_from(EmailTemplate)) == 1
