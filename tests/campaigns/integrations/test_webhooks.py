"""Outbound webhooks against a real receiver that verifies signatures with the Standard Webhooks library."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from campaigns.core.audit import entries
from campaigns.core.crypto import TokenCipher
from campaigns.core.outbox import emit
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from campaigns.integrations import delivery, endpoints
from campaigns.integrations.endpoints import EndpointNotFoundError, WebhookEndpointError
from tests.campaigns.integrations.receiver import serve_receiver

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(Fernet.generate_key().decode())


def _endpoint(url: str, store_url: str, cipher: TokenCipher, events=None, merchant="acme") -> tuple[str, str]:
    with session_scope(store_url) as s:
        endpoint, secret = endpoints.add_endpoint(s, merchant, url, events, actor="ana", cipher=cipher)
        return endpoint.id, secret.secret


def _emit(store_url: str, kind: str, n: int, merchant: str = "acme") -> list[str]:
    with session_scope(store_url) as s:
        return [emit(s, merchant, kind, {"n": i}, now=T0) for i in range(n)]


def _run(store_url: str, cipher: TokenCipher, now: datetime, worker: str = "w1") -> delivery.DeliveryReport:
    with time_machine.travel(now, tick=False):  # the receiver checks the signed timestamp against its own clock
        return delivery.deliver_due(store_url, cipher, worker_id=worker, now=now, timeout=5)


def test_every_event_arrives_exactly_once_after_dedup_through_an_outage(store_url, cipher) -> None:
    with serve_receiver("") as receiver:
        endpoint_id, receiver.secret = _endpoint(receiver.url, store_url, cipher)
        ids = _emit(store_url, "post.published", 4) + _emit(store_url, "campaign.status_changed", 2)
        receiver.lose_answer_once.add(ids[1])  # kept, but the answer is lost: it comes again with the same id
        receiver.down = True
        now = T0
        first = _run(store_url, cipher, now)
        assert (first.dispatched, first.delivered, first.retrying) == (6, 0, 6)
        for _ in range(3):  # down for a while: every retry fails, none is early
            now += timedelta(minutes=10)
            assert _run(store_url, cipher, now).retrying == 6
        receiver.down = False
        for _ in range(4):
            now += timedelta(hours=1)
            _run(store_url, cipher, now)
        assert receiver.rejected == []
        assert len(receiver.received) == 7  # one repeat, from the lost answer
        assert set(receiver.unique()) == set(ids)
        assert receiver.unique()[ids[0]] == {"type": "post.published", "timestamp": T0.isoformat(), "data": {"n": 0}}
        with session_scope(store_url) as s:
            assert {d.status for d, _ in delivery.deliveries(s, "acme")} == {"DELIVERED"}
            assert s.get(WebhookEndpoint, endpoint_id).failing_since is None
        requests = receiver.requests
        _run(store_url, cipher, now + timedelta(hours=1))
        assert receiver.requests == requests  # nothing is sent twice once delivered


def test_only_subscribed_committed_events_of_the_merchant_are_sent(store_url, cipher) -> None:
    with serve_receiver("") as receiver:
        _, receiver.secret = _endpoint(receiver.url, store_url, cipher, events=["post.published"])
        wanted = _emit(store_url, "post.published", 1)
        _emit(store_url, "email.sent", 1)  # not subscribed
        _emit(store_url, "post.published", 1, merchant="globex")  # another merchant's event
        with pytest.raises(RuntimeError), session_scope(store_url) as s:  # rolled back with its change: never sent
            emit(s, "acme", "post.published", {"n": 9})
            raise RuntimeError("the change failed")
        _run(store_url, cipher, T0)
        assert list(receiver.unique()) == wanted


def test_dispatch_twice_fans_each_event_out_once(store_url, cipher) -> None:
    _endpoint("https://a.example/h", store_url, cipher)
    _endpoint("https://b.example/h", store_url, cipher)
    _emit(store_url, "content.approved", 3)
    with session_scope(store_url) as s:
        assert delivery.dispatch(s, T0) == 3
        assert delivery.dispatch(s, T0) == 0
    with session_scope(store_url) as s:
        assert len(s.scalars(select(WebhookDelivery)).all()) == 6
        assert all(e.dispatched_at == T0 for e in s.scalars(select(OutboxEvent)))


def test_a_day_of_failures_gives_up_disables_the_endpoint_and_replay_recovers(store_url, cipher) -> None:
    with serve_receiver("") as receiver:
        endpoint_id, receiver.secret = _endpoint(receiver.url, store_url, cipher)
        (event_id,) = _emit(store_url, "budget.rebalanced", 1)
        receiver.down = True
        now = T0
        while True:
            report = _run(store_url, cipher, now)
            if report.disabled:
                break
            now += timedelta(hours=2)
            assert now < T0 + timedelta(days=2), "the endpoint was never disabled"
        assert report.failed == 1 and report.disabled == [endpoint_id]
        with session_scope(store_url) as s:
            endpoint = s.get(WebhookEndpoint, endpoint_id)
            assert not endpoint.enabled and "failing since" in endpoint.disabled_reason
            assert [e.action for e in entries(s, "acme", endpoint_id)][0] == "webhook.endpoint_disabled"
            (failed, _), = delivery.deliveries(s, "acme", status="failed")
        assert _run(store_url, cipher, now + timedelta(hours=1)).delivered == 0  # given up: no more attempts
        receiver.down = False
        with session_scope(store_url) as s:
            endpoints.set_enabled(s, "acme", endpoint_id, True, actor="ana")
            delivery.replay(s, "acme", failed.id, actor="ana", now=now)
        assert _run(store_url, cipher, now + timedelta(minutes=1)).delivered == 1
        assert list(receiver.unique()) == [event_id]


def test_a_disabled_endpoint_gets_nothing_until_enabled(store_url, cipher) -> None:
    with serve_receiver("") as receiver:
        endpoint_id, receiver.secret = _endpoint(receiver.url, store_url, cipher)
        with session_scope(store_url) as s:
            endpoints.set_enabled(s, "acme", endpoint_id, False, actor="ana")
            endpoints.set_enabled(s, "acme", endpoint_id, False, actor="ana")
        _emit(store_url, "post.failed", 1)
        with session_scope(store_url) as s:
            assert delivery.dispatch(s, T0) == 1
        assert _run(store_url, cipher, T0).delivered == 0
        with session_scope(store_url) as s:
            endpoints.set_enabled(s, "acme", endpoint_id, True, actor="ana")
            assert delivery.pending_count(s, T0) == 0  # events from while it was disabled are not sent afterwards
        assert receiver.requests == 0


def test_rotation_signs_with_both_secrets_for_a_day(store_url, cipher) -> None:
    endpoint_id, old = _endpoint("https://a.example/h", store_url, cipher)
    with session_scope(store_url) as s:
        new = endpoints.rotate_secret(s, "acme", endpoint_id, actor="ana", cipher=cipher, now=T0).secret
        endpoint = s.get(WebhookEndpoint, endpoint_id)
        during = endpoints.signing_secrets(endpoint, cipher, T0 + timedelta(hours=23))
        after = endpoints.signing_secrets(endpoint, cipher, T0 + timedelta(hours=25))
    assert during == [new, old] and after == [new]
    body = b'{"type":"x"}'
    headers = delivery.signed_headers("msg_1", body, during, T0)
    assert len(headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(T0, tick=False):
        for secret in (old, new):  # a receiver on either secret accepts the message
            assert Webhook(secret).verify(body, headers) == {"type": "x"}
    with session_scope(store_url) as s:
        stored = s.get(WebhookEndpoint, endpoint_id)
        assert old not in stored.secret_encrypted and new not in stored.secret_encrypted  # encrypted at rest


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com/x", r"not an http\(s\) URL"),
    ("http://hooks.example.com/x", "plain http"),
    ("https://user:pw@example.com/x", "user name or password"),
    ("https://" + "a" * 2000 + ".com", "longer than 2000"),
])
def test_bad_urls_are_refused_with_the_fix(store_url, cipher, url, message) -> None:
    with pytest.raises(WebhookEndpointError, match=message), session_scope(store_url) as s:
        endpoints.add_endpoint(s, "acme", url, None, actor="ana", cipher=cipher)


def test_unknown_events_and_other_merchants_ids_are_refused(store_url, cipher) -> None:
    with pytest.raises(WebhookEndpointError, match="unknown event type.*post.published"), session_scope(store_url) as s:
        endpoints.add_endpoint(s, "acme", "https://a.example/h", ["post.publish"], actor="ana", cipher=cipher)
    with pytest.raises(ValueError, match="unknown event type"), session_scope(store_url) as s:
        emit(s, "acme", "post.publish", {})
    endpoint_id, _ = _endpoint("https://a.example/h", store_url, cipher, merchant="globex")
    _emit(store_url, "post.published", 1, merchant="globex")
    with session_scope(store_url) as s:
        delivery.dispatch(s, T0)
        (row, _), = delivery.deliveries(s, "globex")
    for action in (lambda s: endpoints.get_endpoint(s, "acme", endpoint_id), lambda s: endpoints.remove_endpoint(s, "acme", endpoint_id, actor="x"),
                   lambda s: delivery.replay(s, "acme", row.id, actor="x", now=T0)):
        with pytest.raises(EndpointNotFoundError, match="for this merchant"), session_scope(store_url) as s:
            action(s)
    with session_scope(store_url) as s:
        assert delivery.deliveries(s, "acme") == [] and endpoints.list_endpoints(s, "acme") == []


def test_a_redirect_is_a_failure_never_followed(store_url, cipher) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(307)
            self.send_header("location", "http://169.254.169.254/latest")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _endpoint(f"http://127.0.0.1:{server.server_address[1]}/h", store_url, cipher)
        _emit(store_url, "post.published", 1)
        report = _run(store_url, cipher, T0)
    finally:
        server.shutdown()
        server.server_close()
    assert report.retrying == 1
    with session_scope(store_url) as s:
        (row, _), = delivery.deliveries(s, "acme")
    assert row.last_status_code == 307 and row.last_error.startswith("HTTP 307")


def test_an_unreachable_receiver_is_retried_with_growing_waits(store_url, cipher) -> None:
    _endpoint("http://127.0.0.1:9/h", store_url, cipher)  # nothing listens on the discard port
    _emit(store_url, "post.published", 1)
    waits, now = [], T0
    for _ in range(4):
        _run(store_url, cipher, now)
        with session_scope(store_url) as s:
            (row, _), = delivery.deliveries(s, "acme")
        assert row.status == "PENDING" and "ConnectError" in row.last_error
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits == sorted(waits) and waits[-1] > 4 * waits[0]


def test_a_slow_receiver_does_not_hold_back_the_other_deliveries(store_url, cipher) -> None:
    """Deliveries are in flight together: each receiver answers only once the other's request has arrived too,
    which a worker posting one at a time could never satisfy (the barrier would time out and both would fail)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    both_arrived = threading.Barrier(2, timeout=10)

    class Waits(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                both_arrived.wait()
                code = 204
            except threading.BrokenBarrierError:
                code = 503
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Waits) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for server in servers:
            _endpoint(f"http://127.0.0.1:{server.server_address[1]}/h", store_url, cipher)
        _emit(store_url, "post.published", 1)
        report = _run(store_url, cipher, T0)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert (report.delivered, report.retrying) == (2, 0)


def test_endpoint_fields_are_what_every_shell_shows(store_url: str, cipher: TokenCipher) -> None:
    """One mapping for the API and the app: no secret, and `rotating` only while the previous secret still signs."""
    endpoint_id, secret = _endpoint("https://hooks.example.com/crm", store_url, cipher, events=["post.published"])
    with session_scope(store_url) as s:
        endpoint = endpoints.get_endpoint(s, "acme", endpoint_id)
        fresh = endpoints.endpoint_fields(endpoint, T0)
        endpoints.rotate_secret(s, "acme", endpoint_id, actor="ana", cipher=cipher, now=T0)
        during = endpoints.endpoint_fields(endpoint, T0 + timedelta(hours=1))
        after = endpoints.endpoint_fields(endpoint, T0 + endpoints.ROTATION_OVERLAP + timedelta(seconds=1))
    assert fresh == {"id": endpoint_id, "url": "https://hooks.example.com/crm", "events": ["post.published"], "enabled": True,
                     "disabled_reason": None, "description": "", "rotating": False}
    assert during["rotating"] is True and after["rotating"] is False
    assert secret not in str(fresh) and "secret" not in " ".join(fresh)
