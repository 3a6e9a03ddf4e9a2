"""The Webhooks page with AppTest: add an endpoint (secret shown once), disable, rotate with confirmation, the log and replay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from campaigns.core.audit import entries
from campaigns.core.crypto import TokenCipher
from campaigns.core.merchants import ensure_merchant
from campaigns.core.outbox import emit
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import WebhookDelivery, WebhookEndpoint
from campaigns.integrations import delivery
from tests.dashboards.helpers import assert_clean

PAGE = "views/webhooks.py"


@pytest.fixture
def store(home, monkeypatch) -> tuple[str, str]:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", key)
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "demo")
    return url, key


def _open(app):
    at = app(get_settings())
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def test_add_shows_the_secret_once_and_refuses_bad_input(store, app) -> None:
    url, _ = store
    at = _open(app)
    assert "No endpoint yet" in at.info[0].value and at.expander[0].proto.expanded
    at.text_input[0].input("http://crm.example.com/hooks")
    at.button[0].click().run()  # the form's submit button: fields inside a form are sent with it
    assert any("plain http" in m.value for m in at.markdown) and not at.code
    at.text_input[0].input("https://crm.example.com/hooks?<b>x</b>")
    at.multiselect(key="webhook_events").set_value(["post.published"])
    at.button[0].click().run()
    assert_clean(at)
    with session_scope(url) as s:
        (endpoint,) = s.scalars(select(WebhookEndpoint)).all()
    secret = at.code[0].value
    assert secret.startswith("whsec_") and endpoint.events == ["post.published"] and secret not in endpoint.secret_encrypted
    assert "https://crm.example.com/hooks?<b>x</b>" in [t.value for t in at.text]  # user text as text, not Markdown
    at.button(key="webhook_secret_done").click().run()
    assert not at.code  # gone for good


def test_disable_rotate_after_confirming_and_replay_a_failed_delivery(store, app) -> None:
    url, key = store
    from campaigns.integrations.endpoints import add_endpoint

    with session_scope(url) as s:
        endpoint, _ = add_endpoint(s, "demo", "http://127.0.0.1:9/h", None, actor="ana", cipher=TokenCipher(key))
        endpoint_id = endpoint.id
        emit(s, "demo", "post.published", {"n": 1})
    now = datetime(2026, 6, 1, tzinfo=UTC)
    delivery.deliver_due(url, TokenCipher(key), worker_id="w", now=now, timeout=2)  # nothing listens: it fails
    with session_scope(url) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        row.status = delivery.FAILED
    at = _open(app)
    assert any(endpoint_id in c.value for c in at.caption)
    at.button(key=f"wh_toggle_{endpoint_id}").click().run()
    assert_clean(at)
    with session_scope(url) as s:
        assert s.get(WebhookEndpoint, endpoint_id).enabled is False
    at.button(key=f"wh_rotate_{endpoint_id}").click().run()
    assert at.button(key="wh_rotate_confirm")  # asked first
    with session_scope(url) as s:
        before = s.get(WebhookEndpoint, endpoint_id).secret_encrypted
    at.button(key="wh_rotate_confirm").click().run()
    assert_clean(at)
    assert at.code[0].value.startswith("whsec_")
    with session_scope(url) as s:
        rotated = s.get(WebhookEndpoint, endpoint_id)
        assert rotated.secret_encrypted != before and rotated.previous_secret_encrypted == before
    log = next(d.value for d in at.dataframe if "webhook_id" in d.value.columns)
    assert log["status"].to_list() == ["FAILED"]
    at.button(key="wh_replay").click().run()
    assert_clean(at)
    with session_scope(url) as s:
        assert s.scalars(select(WebhookDelivery)).one().status == delivery.PENDING
        assert [e.action for e in entries(s, "demo", endpoint_id)][:2] == ["webhook.secret_rotated", "webhook.endpoint_disabled"]
    at.button(key=f"wh_remove_{endpoint_id}").click().run()
    at.button(key="wh_remove_confirm").click().run()
    assert_clean(at)
    with session_scope(url) as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []
    assert "No endpoint yet" in at.info[0].value
