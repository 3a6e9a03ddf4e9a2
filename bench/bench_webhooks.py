"""Outbound webhook delivery throughput (a benchmark, not a test).

Emits `--events` outbox events for one merchant with `--endpoints` subscribed endpoints on a local
receiver, then drains them with the real `campaigns.integrations.delivery.deliver_due` in a loop
(fan-out, claim, sign with Standard Webhooks, POST, settle each delivery in its own transaction).

The peer, in the same run: the same number of POSTs of the same bodies to the same receiver with
the same HTTP client and as many in flight (`CONCURRENCY`), unsigned and unrecorded. The ratio says what the outbox, the signatures
and the per-delivery ledger cost on top of the HTTP itself.

The receiver verifies every signature with the `standardwebhooks` library and counts ids, so the
report also says duplicates (must be 0) and lost deliveries (must be 0).

Run: `make bench-webhooks`, or
`python bench/bench_webhooks.py --events 2000 [--endpoints 2] [--database-url postgresql://postgres@127.0.0.1:5432/bench_webhooks]`.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.merchants import ensure_merchant
from campaigns.core.outbox import emit
from campaigns.core.settings import Settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.integrations.delivery import CONCURRENCY, body_of, deliver_due
from campaigns.integrations.endpoints import add_endpoint

MERCHANT = "bench"


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secrets: dict[str, Webhook] = {}  # path -> verifier
        self.ids: Counter[tuple[str, str]] = Counter()
        self.bad = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        verifier = self.server.secrets.get(self.path)
        ok = True
        if verifier is not None:
            try:
                verifier.verify(body, {k: v for k, v in self.headers.items()})
            except WebhookVerificationError:
                ok = False
        with self.server.lock:
            if verifier is not None:
                self.server.ids[(self.path, self.headers.get("webhook-id", ""))] += 1
            self.server.bad += not ok
        self.send_response(204 if ok else 400)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--database-url", help="a PostgreSQL store (an empty database) instead of a fresh SQLite one")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    settings = Settings(home=home, database_url=args.database_url)
    migrate(settings.store_url)
    cipher = TokenCipher(generate_key())
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    now = datetime.now(UTC)  # one instant for the whole drain (every delivery due); real, as receivers check webhook-timestamp
    with session_scope(settings.store_url) as session:
        ensure_merchant(session, MERCHANT)
        for i in range(args.endpoints):
            endpoint, secret = add_endpoint(session, MERCHANT, f"{base}/hooks/{i}", ["*"], actor="bench", cipher=cipher)
            receiver.secrets[f"/hooks/{i}"] = Webhook(secret.secret)
    started = time.perf_counter()
    with session_scope(settings.store_url) as session:
        for i in range(args.events):
            emit(session, MERCHANT, "post.published", {"post_id": i, "platform": "x", "url": f"https://x.example/status/{i}"}, now=now)
    emit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    passes = 0
    while True:
        report = deliver_due(settings.store_url, cipher, worker_id="bench-1", now=now, limit=500)
        passes += 1
        if report.dispatched == 0 and report.delivered + report.retrying + report.failed == 0:
            break
    drain_seconds = time.perf_counter() - started
    expected = args.events * args.endpoints
    received = sum(receiver.ids.values())
    duplicates = sum(n - 1 for n in receiver.ids.values() if n > 1)

    # the peer: the same bodies, the same client and receiver, no outbox, no signature, no ledger
    bodies = [body_of(_event(i, now)) for i in range(args.events)]
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with httpx.Client(timeout=10, follow_redirects=False, limits=limits) as client, ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda job: client.post(f"{base}/plain/{job[0]}", content=job[1], headers={"content-type": "application/json"}),
                      [(i, body) for i in range(args.endpoints) for body in bodies]))
    plain_seconds = time.perf_counter() - started
    receiver.shutdown()

    store = "PostgreSQL" if args.database_url else "SQLite"
    rate, plain_rate = expected / drain_seconds, expected / plain_seconds
    print(f"{args.events} events x {args.endpoints} endpoints = {expected} deliveries; store {store}")
    print(f"emit into the outbox      {args.events / emit_seconds:9.0f} events/s")
    print(f"deliver (signed, logged)  {rate:9.0f} deliveries/s   ({passes} passes of deliver_due)")
    print(f"plain POSTs (the peer)    {plain_rate:9.0f} posts/s   ({CONCURRENCY} in flight, as the worker)")
    print(f"ratio delivered/plain     {rate / plain_rate:9.2f}x")
    print(f"received {received} of {expected}; duplicates {duplicates}; lost {expected - len(receiver.ids)}; bad signatures {receiver.bad}")


def _event(i: int, now: datetime):  # noqa: ANN202 (an unsaved row, only for its body)
    from campaigns.core.store.models import OutboxEvent

    return OutboxEvent(merchant_id=MERCHANT, event_id=f"msg_{i}", type="post.published",
                       payload={"post_id": i, "platform": "x", "url": f"https://x.example/status/{i}"}, occurred_at=now)


if __name__ == "__main__":
    main()
