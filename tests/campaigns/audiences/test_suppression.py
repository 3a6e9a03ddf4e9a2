"""Suppression list, signed unsubscribe tokens and the one-click endpoint, on SQLite and PostgreSQL."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from fastapi.testclient import TestClient

from campaigns.api.app import create_app
from campaigns.core.audit import entries
from campaigns.audiences.suppression import (
    MissingUnsubscribeKeyError,
    UnsubscribeClaim,
    UnsubscribeSigner,
    UnsubscribeTokenError,
    add_suppression,
    list_suppressions,
    record_bounce,
    record_complaint,
    signer_from_settings,
    suppressed_emails,
    unsubscribe,
    unsubscribe_url,
)
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Contact, SuppressionReason

KEY = Fernet.generate_key().decode()


@pytest.fixture
def store_url(store_url: str) -> str:
    """The shared store (conftest) with one contact per merchant under the same address."""
    url = store_url
    with session_scope(url) as s:
        s.add_all([Contact(merchant_id="acme", email="Ana@Example.com", first_name="Ana"), Contact(merchant_id="globex", email="ana@example.com")])
    return url


def _contact_id(url: str, merchant: str = "acme") -> int:
    with session_scope(url) as s:
        return s.scalar(select(Contact.id).where(Contact.merchant_id == merchant))


def test_tokens_are_signed_rotatable_and_carry_no_address() -> None:
    signer = UnsubscribeSigner(KEY)
    token = signer.sign(UnsubscribeClaim("acme", 7, 3, 42))
    assert signer.verify(token) == UnsubscribeClaim("acme", 7, 3, 42)
    assert "@" not in token and token.startswith("u1.")
    version, body, signature = token.split(".")
    forged = UnsubscribeSigner(KEY).sign(UnsubscribeClaim("acme", 8, 3, 42)).split(".")[1]
    with pytest.raises(UnsubscribeTokenError, match="signature does not match"):
        signer.verify(f"{version}.{forged}.{signature}")
    with pytest.raises(UnsubscribeTokenError, match="malformed"):
        signer.verify("nonsense")
    newer = Fernet.generate_key().decode()
    assert UnsubscribeSigner(f"{newer},{KEY}").verify(token).contact_id == 7  # old links keep working while the old key is listed
    with pytest.raises(UnsubscribeTokenError, match="no longer in"):
        UnsubscribeSigner(newer).verify(token)
    with pytest.raises(MissingUnsubscribeKeyError, match="CAMPAIGNS_TOKEN_KEY is not set"):
        signer_from_settings(Settings(token_key=None))
    assert unsubscribe_url("https://shop.example/", "u1.a.b") == "https://shop.example/unsubscribe?token=u1.a.b"


def test_suppressions_are_lower_case_unique_and_scoped(store_url: str) -> None:
    with session_scope(store_url) as s:
        row, created = add_suppression(s, "acme", " Bob@Example.COM ", "manual", actor="ana", source="cli")
        assert created and row.email == "bob@example.com" and row.reason is SuppressionReason.MANUAL
        again, created = record_bounce(s, "acme", "bob@example.com")
        assert not created and again.reason is SuppressionReason.MANUAL  # the first reason stays
        with pytest.raises(ValueError, match="unknown reason"):
            add_suppression(s, "acme", "c@example.com", "LOST", actor="ana")
        with pytest.raises(ValueError, match="not an email address"):
            add_suppression(s, "acme", "nobody", "MANUAL", actor="ana")
    with session_scope(store_url) as s:
        assert suppressed_emails(s, "acme", ["BOB@example.com", "x@example.com"]) == {"bob@example.com": SuppressionReason.MANUAL}
        assert suppressed_emails(s, "globex", ["bob@example.com"]) == {}
        assert [e.action for e in entries(s, "acme")].count("email.suppress") == 1


def test_complaint_unsubscribes_the_contact(store_url: str) -> None:
    with session_scope(store_url) as s:
        record_complaint(s, "acme", "ana@example.com", source="feedback-loop")
    with session_scope(store_url) as s:
        assert [(x.email, x.reason) for x in list_suppressions(s, "acme")] == [("ana@example.com", SuppressionReason.COMPLAINED)]
        assert s.scalar(select(Contact.subscribed).where(Contact.merchant_id == "acme")) is False
        assert s.scalar(select(Contact.subscribed).where(Contact.merchant_id == "globex")) is True


def test_an_underscore_in_an_address_is_not_a_wildcard(store_url: str) -> None:
    with session_scope(store_url) as s:
        s.add_all([Contact(merchant_id="acme", email="a_b@example.com"), Contact(merchant_id="acme", email="axb@example.com"),
                   Contact(merchant_id="acme", email="  A_B@Example.com ")])
    with session_scope(store_url) as s:
        record_complaint(s, "acme", "a_b@example.com", source="feedback-loop")
    with session_scope(store_url) as s:
        subscribed = dict(s.execute(select(Contact.email, Contact.subscribed).where(Contact.email.in_(
            ["a_b@example.com", "axb@example.com", "  A_B@Example.com "]))).all())
    assert subscribed == {"a_b@example.com": False, "  A_B@Example.com ": False, "axb@example.com": True}


def test_unsubscribe_is_verified_audited_and_idempotent(store_url: str) -> None:
    signer = UnsubscribeSigner(KEY)
    contact_id = _contact_id(store_url)
    token = signer.sign(UnsubscribeClaim("acme", contact_id, None, None))
    first = unsubscribe(store_url, token, signer)
    assert first.changed and first.email == "ana@example.com" and first.contact_id == contact_id
    assert not unsubscribe(store_url, token, signer).changed
    with session_scope(store_url) as s:
        assert s.scalar(select(Contact.subscribed).where(Contact.id == contact_id)) is False
        assert [x.reason for x in list_suppressions(s, "acme")] == [SuppressionReason.UNSUBSCRIBED]
        actions = [e.action for e in entries(s, "acme")]
        assert actions.count("email.suppress") == 1 and actions.count("contact.unsubscribe") == 1
        assert list_suppressions(s, "globex") == []
    other_merchant = signer.sign(UnsubscribeClaim("globex", contact_id, None, None))
    with pytest.raises(UnsubscribeTokenError, match="no longer exists"):
        unsubscribe(store_url, other_merchant, signer)  # acme's contact id under globex's name finds nothing


def test_one_click_endpoint_posts_unsubscribe_and_gets_only_confirm(store_url: str, tmp_path) -> None:
    signer = UnsubscribeSigner(KEY)
    token = signer.sign(UnsubscribeClaim("acme", _contact_id(store_url), 1, None))
    client = TestClient(create_app(Settings(home=tmp_path, token_key=KEY), store_url, api=False))  # the public app on the ASGI server
    page = client.get(f"/unsubscribe?token={token}")
    assert page.status_code == 200 and b"<form method='post'" in page.content
    with session_scope(store_url) as s:
        assert list_suppressions(s, "acme") == []  # link scanners fetch GETs: nothing changes
    posted = client.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"})
    assert posted.status_code == 200 and b"unsubscribed" in posted.content
    assert client.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.post("/unsubscribe?token=u1.bad.sig").status_code == 400
    assert client.get("/elsewhere").status_code == 404
    with session_scope(store_url) as s:
        assert [(x.reason, x.source) for x in list_suppressions(s, "acme")] == [(SuppressionReason.UNSUBSCRIBED, "one-click:email_campaign:1")]
