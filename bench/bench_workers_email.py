"""The email leg of bench_workers.py: one broadcast to N recipients delivered by worker processes through SendGrid's real client.

Not run on its own; `bench_workers.py --recipients N` drives it. What each piece is:

* `seed_broadcast` (run in its own process, so its memory is measured and given back): N contacts written
  with `campaigns.core.store.bulk.insert_rows` (COPY on PostgreSQL), a campaign, a segment of every
  contact and an approved broadcast, then the real recipient snapshot (`campaigns.email.recipients.prepare_send`),
  timed on its own: it writes the N PENDING `email_sends` rows the workers share.
* `FakeSendGrid`: a local SendGrid v3 Mail Send endpoint on 127.0.0.1. It checks the API key, answers
  202 with an `X-Message-Id` per request as SendGrid does, and counts every personalization (one message
  to one recipient) by its address; within one broadcast the address is the send's identity (the send's
  idempotency key is a hash of the email campaign and the address), so an address seen twice is a duplicate.
* `email_worker`: one worker process calling the real delivery engine (`campaigns.email.delivery.deliver`:
  claim with FOR UPDATE SKIP LOCKED, suppression re-check, the committed hand-off, `SendGridPublisher`
  over real HTTP, the outcome and the work_attempts log) until no row is left to claim.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from bench_publishing import reply

MERCHANT = "bench"
API_KEY = "bench-sendgrid-key"
SENDER = "Bench Outdoors <news@bench.example>"
PUBLIC_URL = "https://shop.bench.example"
SUBJECT = "Hi {{ first_name }}, the winter sale starts today"
BODY = ("Our winter sale starts today: **30% off** every jacket and boot until Sunday.\n\n"
        "Thank you for being with us, {{ first_name }}. [See the sale](https://shop.bench.example/sale)")
CONTACTS_PER_COPY = 50_000  # contacts held in memory at once while seeding


def address(i: int) -> str:
    return f"reader{i}@bench.example"


def settings_kwargs(url: str, base_url: str, key: str, home: str) -> dict[str, Any]:
    """What a worker's Settings are built from (picklable, for spawned processes)."""
    return {"database_url": url, "home": home, "token_key": key, "email_provider": "sendgrid", "sendgrid_api_key": API_KEY,
            "sendgrid_base_url": base_url, "public_url": PUBLIC_URL, "email_sender": SENDER}


def seed_broadcast(url: str, recipients: int, out: mp.Queue) -> None:
    """Contacts by COPY, a segment of all of them, an approved broadcast, then the real snapshot (timed); reports to `out`."""
    from campaigns.audiences.segments import save_segment
    from campaigns.core.merchants import ensure_merchant
    from campaigns.core.store.bulk import insert_rows
    from campaigns.core.store.db import migrate, session_scope
    from campaigns.core.store.models import Contact
    from campaigns.email.broadcasts import create_email_campaign
    from campaigns.email.recipients import prepare_send
    from campaigns.lifecycle.service import CampaignInput, create_campaign

    started = time.perf_counter()
    migrate(url)
    now = datetime.now(UTC)
    with session_scope(url) as s:
        ensure_merchant(s, MERCHANT, name="Bench Outdoors")
        for start in range(0, recipients, CONTACTS_PER_COPY):
            insert_rows(s, Contact.__table__, [
                {"merchant_id": MERCHANT, "email": address(i), "first_name": f"Reader{i}", "last_name": "Bench", "timezone": "UTC", "tags": [],
                 "attributes": {}, "subscribed": True, "status": "active", "created_at": now, "updated_at": now}
                for i in range(start, min(recipients, start + CONTACTS_PER_COPY))])
        campaign = create_campaign(s, MERCHANT, CampaignInput(name="Winter sale", type="CONVERSION"), actor="bench")
        segment = save_segment(s, MERCHANT, "Everyone", {}, actor="bench")
        ec_id = create_email_campaign(s, MERCHANT, campaign_id=campaign.id, segment_id=segment.id, subject=SUBJECT, actor="bench",
                                      body_markdown=BODY).id
    seeded = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    with session_scope(url) as s:
        prepared = prepare_send(s, MERCHANT, ec_id, "bench", provider="sendgrid")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"email_campaign_id": ec_id, "pending": prepared.counts["pending"], "seed_seconds": round(seeded - started, 1),
             "snapshot_seconds": round(time.perf_counter() - seeded, 1),
             "snapshot_cpu_seconds": round(usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime, 1),
             "seed_process_peak_rss_mb": round(usage.ru_maxrss / 1024, 1)})


class FakeSendGrid(BaseHTTPRequestHandler):
    """SendGrid's Mail Send route: 202 and an X-Message-Id per request; counts each recipient's copies."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real client expects
    received: Counter[str] = Counter()  # address -> copies received
    requests: dict[str, int] = {}  # X-Message-Id -> recipients in that request
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.received.clear()
            cls.requests.clear()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v3/mail/send":
            return self._answer(404, b'{"errors": [{"message": "not found"}]}')
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._answer(401, b'{"errors": [{"message": "The provided authorization grant is invalid"}]}')
        addresses = [to["email"].lower() for p in json.loads(body)["personalizations"] for to in p["to"]]
        with self.lock:
            message_id = f"bench-sg-{len(self.requests) + 1}"
            self.requests[message_id] = len(addresses)
            self.received.update(addresses)
        self._answer(202, b"", {"X-Message-Id": message_id})

    def _answer(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        reply(self, status, data, headers)

    def log_message(self, *args) -> None:  # quiet
        pass


def email_worker(settings: dict[str, Any], ec_id: int, name: str, batch: int, rate: float | None, ready: mp.Queue, start: mp.Event,
                 out: mp.Queue) -> None:
    """One worker process: the real delivery engine until no row is left to claim; reports its outcomes, CPU and peak RSS."""
    from campaigns.core.settings import Settings
    from campaigns.email.delivery import deliver
    from campaigns.email.throttle import ProviderLimits
    from publishers.sendgrid import SendGridPublisher

    config = Settings(**settings)
    publisher = SendGridPublisher(config.sendgrid_base_url, timeout=120)  # the real client; a long timeout so a slow fake is not an Ambiguous
    limits = ProviderLimits("sendgrid", batch, rate)  # rate None: unthrottled, the engine and store are what is measured
    ready.put(name)
    start.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        report = deliver(config.store_url, config, ec_id, name, batch_size=batch, provider="sendgrid", publisher=publisher, limits=limits)
    finally:
        publisher.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"worker": name, "outcomes": sum(report.outcomes.values()), "by_status": report.outcomes, "batches": report.batches,
             "stopped": report.stopped, "peak_rss_mb": usage.ru_maxrss / 1024,
             "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime})


def provider_check(statuses: dict[str, int], message_ids: dict[str, int], recipients: int) -> dict[str, Any]:
    """Duplicates, lost and not-SENT rows, from the fake's counts and the store's statuses and provider message ids."""
    received = FakeSendGrid.received
    expected = {address(i) for i in range(recipients)}
    # every request the fake answered is recorded on exactly as many SENT rows as it carried recipients
    mismatched = sum(1 for mid, n in FakeSendGrid.requests.items() if message_ids.get(mid, 0) != n)
    mismatched += sum(1 for mid in message_ids if mid not in FakeSendGrid.requests)
    return {
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "lost": len(expected - received.keys()),
        "unexpected": len(received.keys() - expected),
        "not_sent": recipients - statuses.get("SENT", 0),
        "provider_requests": len(FakeSendGrid.requests),
        "message_ids_not_matching_store": mismatched,
    }
