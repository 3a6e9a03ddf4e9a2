"""`campaigns webhooks ...` end to end on a store in CAMPAIGNS_HOME, with a verifying receiver."""

import re

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.merchants import ensure_merchant
from campaigns.core.outbox import emit
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from tests.campaigns.integrations.receiver import serve_receiver

runner = CliRunner()


@pytest.fixture
def store(home, monkeypatch) -> str:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
    return url


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_subscribe_deliver_log_rotate_replay_remove(store) -> None:
    assert "post.published" in _ok("webhooks", "events")
    with serve_receiver("") as receiver:
        out = _ok("webhooks", "add", receiver.url, "--event", "post.published", "--merchant", "acme", "--description", "shop")
        endpoint_id = re.search(r"endpoint (ep_\w+)", out).group(1)
        receiver.secret = re.search(r"(whsec_\S+)", out).group(1)
        assert endpoint_id in _ok("webhooks", "list", "--merchant", "acme")
        with session_scope(store) as s:
            event_id = emit(s, "acme", "post.published", {"post": 1})
        assert "1 delivered" in _ok("webhooks", "deliver")
        assert list(receiver.unique()) == [event_id]
        log = _ok("webhooks", "deliveries", "--merchant", "acme", "--status", "delivered")
        assert "DELIVERED" in log and event_id in log
        delivery_id = re.search(r"│\s*(\d+)\s*│", log).group(1)
        out = _ok("webhooks", "rotate-secret", endpoint_id, "--merchant", "acme")
        new_secret = re.search(r"(whsec_\S+)", out).group(1)
        assert new_secret != receiver.secret
        receiver.secret = new_secret  # the receiver switches at once: the message carries both signatures
        assert "next run" in _ok("webhooks", "replay", delivery_id, "--merchant", "acme")
        assert "1 delivered" in _ok("webhooks", "deliver")
        assert [i for i, _ in receiver.received] == [event_id, event_id] and receiver.rejected == []
    assert "disabled" in _ok("webhooks", "disable", endpoint_id, "--merchant", "acme")
    assert "enabled" in _ok("webhooks", "enable", endpoint_id, "--merchant", "acme")
    assert "removed" in _ok("webhooks", "remove", endpoint_id, "--merchant", "acme")
    assert endpoint_id not in _ok("webhooks", "list", "--merchant", "acme")


@pytest.mark.parametrize(("args", "message"), [
    (["webhooks", "add", "http://example.com/h", "--merchant", "acme"], "plain http"),
    (["webhooks", "add", "https://example.com/h", "--event", "nope", "--merchant", "acme"], "unknown event type"),
    (["webhooks", "remove", "ep_missing", "--merchant", "acme"], "no webhook endpoint"),
    (["webhooks", "replay", "999", "--merchant", "acme"], "no webhook delivery"),
    (["webhooks", "deliveries", "--status", "lost"], "unknown status"),
])
def test_errors_exit_2_with_the_fix(store, args, message) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_deliver_needs_the_key(store, monkeypatch) -> None:
    monkeypatch.delenv("CAMPAIGNS_TOKEN_KEY")
    get_settings.cache_clear()
    result = runner.invoke(app, ["webhooks", "deliver"])
    assert result.exit_code == 2 and "CAMPAIGNS_TOKEN_KEY is not set" in result.output
