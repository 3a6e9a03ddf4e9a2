"""Deliver outbox events to subscribed endpoints: signed, retried with backoff for a day, logged, replayable.

* **fan-out**: each undispatched event becomes one delivery per enabled endpoint subscribed to its
  type. Events are taken with a compare-and-set on ``dispatched_at``, and a unique (endpoint,
  event) pair backs it up, so two workers never fan an event out twice.
* **delivery**: a work-queue item (claim, lease, attempt log). The body and the ``webhook-id``
  are the same on every attempt, so a receiver drops repeats by id: delivery is at least once,
  and exactly once after that de-duplication. A 2xx answer is success; anything else, a
  redirect included (never followed), is a failure retried with exponential backoff.
* **giving up**: a delivery still failing a day after its first attempt is FAILED (replayable);
  an endpoint failing for a day without one success is disabled, and the merchant's audit log
  says so (the Overview page shows it), so its owner finds out and nothing retries for ever.
"""

from __future__ import annotations

import json
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from campaigns.core import queue
from campaigns.core.audit import record
from campaigns.core.crypto import TokenCipher, TokenKeyError
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from campaigns.integrations.endpoints import EndpointNotFoundError, signing_secrets, subscribed

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
QUEUE = "webhooks"
LEASE = timedelta(minutes=5)
RETRY_WINDOW = timedelta(days=1)
BACKOFF_BASE, BACKOFF_CAP = timedelta(seconds=30), timedelta(hours=2)
USER_AGENT = "CampaignOrchestrator-Webhooks/1"
DISPATCH_BATCH = 500
CONCURRENCY = 8  # POSTs in flight per worker


@dataclass
class DeliveryReport:
    dispatched: int = 0  # events fanned out
    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # gave up after the retry window
    disabled: list[str] = field(default_factory=list)  # endpoints disabled this run

    def summary(self) -> str:
        text = f"{self.dispatched} events fanned out, {self.delivered} delivered, {self.retrying} to retry, {self.failed} given up"
        return text + (f", endpoints disabled: {', '.join(self.disabled)}" if self.disabled else "")


def dispatch(session: Session, now: datetime, limit: int = DISPATCH_BATCH) -> int:
    """Fan undispatched events out to the endpoints subscribed now; returns how many events were taken."""
    ids = list(session.scalars(select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(limit)))
    if not ids:
        return 0
    taken = list(session.scalars(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids), OutboxEvent.dispatched_at.is_(None)).values(dispatched_at=now)
        .returning(OutboxEvent.id).execution_options(synchronize_session=False)
    ))
    events = list(session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(taken)).order_by(OutboxEvent.id)))
    merchants = {e.merchant_id for e in events}
    endpoints: dict[str, list[WebhookEndpoint]] = {m: [] for m in merchants}
    for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.merchant_id.in_(merchants), WebhookEndpoint.enabled.is_(True))):
        endpoints[endpoint.merchant_id].append(endpoint)
    for event in events:
        for endpoint in endpoints[event.merchant_id]:
            if subscribed(endpoint, event.type):
                session.add(WebhookDelivery(merchant_id=event.merchant_id, endpoint_id=endpoint.id, event_id=event.event_id,
                                            status=PENDING, next_attempt_at=now))
    return len(taken)


def pending_count(session: Session, now: datetime) -> int:
    """Work waiting: events to fan out and deliveries due (the sensor's cheap test)."""
    events = session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))) or 0
    due = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*_due(now))) or 0
    return int(events) + int(due)


def _due(now: datetime) -> list:
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    return [WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.in_(enabled), queue.free_or_expired(WebhookDelivery, now, LEASE)]


def body_of(event: OutboxEvent) -> bytes:
    """The Standard Webhooks payload: the same bytes on every attempt."""
    message = {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.payload}
    return json.dumps(message, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(event_id: str, body: bytes, secrets_: list[str], now: datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(event_id, now, body) for secret in secrets_)
    return {"webhook-id": event_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signatures,
            "content-type": "application/json", "user-agent": USER_AGENT}


def deliver_due(store_url: str, cipher: TokenCipher, *, worker_id: str, now: datetime, limit: int = 200,
                timeout: float = 10.0, concurrency: int = CONCURRENCY) -> DeliveryReport:
    """Fan out new events, then attempt every due delivery once (callable from the sensor's job or the CLI).

    Deliveries are not ordered, not even to one endpoint (receivers order by the payload's timestamp)."""
    report = DeliveryReport()
    with session_scope(store_url) as session:
        report.dispatched = dispatch(session, now)
    with session_scope(store_url) as session:
        claimed = queue.claim(session, WebhookDelivery, where=_due(now), worker_id=worker_id, now=now, limit=limit,
                              order_by=[WebhookDelivery.next_attempt_at], values={"attempts": WebhookDelivery.attempts + 1})
        ids = [c.id for c in claimed]
        rows = session.execute(  # the batch's deliveries with their endpoint and event, in one query
            select(WebhookDelivery, WebhookEndpoint, OutboxEvent)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(OutboxEvent, OutboxEvent.event_id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)).all() if ids else []
        secrets_by_endpoint: dict[str, tuple[list[str], str]] = {}
        work = []
        for delivery, endpoint, event in rows:
            if endpoint.id not in secrets_by_endpoint:
                try:
                    secrets_by_endpoint[endpoint.id] = (signing_secrets(endpoint, cipher, now), "")
                except TokenKeyError as exc:
                    secrets_by_endpoint[endpoint.id] = ([], str(exc))
            keys, error = secrets_by_endpoint[endpoint.id]
            work.append((delivery.id, delivery.merchant_id, delivery.attempts, endpoint.id, endpoint.url, event.event_id, body_of(event), keys, error))
    # POSTs run concurrently (a slow receiver must not hold the others back). Outcomes are settled as they
    # arrive: those that finished together share one transaction (a commit costs a disk flush), so at most
    # that handful would be retried, and de-duplicated by id, if the worker died before the commit.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"user-agent": USER_AGENT}, limits=limits) as client, \
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook") as pool:
        pending = {pool.submit(_attempt, client, event_id, url, body, keys, error, now): (delivery_id, merchant_id, attempt, endpoint_id)
                   for delivery_id, merchant_id, attempt, endpoint_id, url, event_id, body, keys, error in work}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            with session_scope(store_url) as session:
                for future in done:
                    delivery_id, merchant_id, attempt, endpoint_id = pending.pop(future)
                    status_code, error = future.result()
                    _settle(session, report, delivery_id, merchant_id, attempt, endpoint_id, worker_id, now, status_code, error)
    return report


def _attempt(client: httpx.Client, event_id: str, url: str, body: bytes, keys: list[str], error: str, now: datetime) -> tuple[int | None, str]:
    if error:  # the secret could not be read: nothing is sent
        return None, error
    return _post(client, url, body, signed_headers(event_id, body, keys, now))


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            if 200 <= response.status_code < 300:
                return response.status_code, ""
            snippet = next(response.iter_bytes(300), b"")[:300].decode("utf-8", "replace")  # never read a huge error body
            return response.status_code, f"HTTP {response.status_code}: {snippet}".strip()
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _settle(session: Session, report: DeliveryReport, delivery_id: int, merchant_id: str, attempt: int, endpoint_id: str,
            worker_id: str, now: datetime, status_code: int | None, error: str) -> None:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.claimed_by != worker_id:
        return  # taken over after our lease ran out; the other worker settles it
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    delivery.first_attempt_at = delivery.first_attempt_at or now
    delivery.last_status_code, delivery.claimed_by, delivery.claimed_at = status_code, None, None
    if not error:
        delivery.status, delivery.delivered_at, delivery.last_error = DELIVERED, now, None
        endpoint.failing_since = None
        report.delivered += 1
        outcome = "DELIVERED"
    else:
        delivery.last_error = error
        if now - delivery.first_attempt_at >= RETRY_WINDOW:
            delivery.status = FAILED
            report.failed += 1
            outcome = "GAVE_UP"
        else:
            delivery.next_attempt_at = now + queue.backoff(attempt, delivery_id, base=BACKOFF_BASE, cap=BACKOFF_CAP)
            report.retrying += 1
            outcome = "RETRY"
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and now - endpoint.failing_since >= RETRY_WINDOW:
            endpoint.enabled = False
            endpoint.disabled_reason = f"failing since {endpoint.failing_since.isoformat()} (last: {error[:200]})"
            record(session, merchant_id, "system", "webhook.endpoint_disabled", "webhook_endpoint", endpoint.id,
                   reason=endpoint.disabled_reason, hint="fix the receiver, then `campaigns webhooks enable` and replay the failed deliveries")
            report.disabled.append(endpoint.id)
    queue.record_attempt(session, queue=QUEUE, merchant_id=merchant_id, item_id=delivery_id, attempt=attempt, worker_id=worker_id,
                         started_at=now, finished_at=now, outcome=outcome, detail=error)


def deliveries(session: Session, merchant_id: str, *, endpoint_id: str | None = None, status: str | None = None,
               limit: int = 100) -> list[tuple[WebhookDelivery, OutboxEvent]]:
    """The delivery log, newest first."""
    query = (select(WebhookDelivery, OutboxEvent).join(OutboxEvent, OutboxEvent.event_id == WebhookDelivery.event_id)
             .where(WebhookDelivery.merchant_id == merchant_id))
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status.upper())
    return [(d, e) for d, e in session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()]


def replay(session: Session, merchant_id: str, delivery_id: int, *, actor: str, now: datetime) -> WebhookDelivery:
    """Send a delivery again (same id and body, so a receiver that already has it drops it), with a fresh retry window."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.merchant_id != merchant_id:
        raise EndpointNotFoundError(f"no webhook delivery {delivery_id} for this merchant; `campaigns webhooks deliveries` lists them")
    delivery.status, delivery.next_attempt_at, delivery.first_attempt_at, delivery.attempts = PENDING, now, None, 0
    delivery.claimed_by = delivery.claimed_at = None
    record(session, merchant_id, actor, "webhook.delivery_replayed", "webhook_delivery", str(delivery_id), event_id=delivery.event_id)
    return delivery
