"""Outbound webhooks: every minute, a sensor runs the delivery job while events or due deliveries wait."""

from datetime import datetime

from campaigns.core.crypto import cipher_from_settings, require_cipher
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.integrations import delivery
from pipelines.work_sensors import WorkResult, work_sensor


def deliver_webhooks_once(settings: Settings, worker_id: str, now: datetime) -> WorkResult:
    """Fan out new events and attempt every due delivery once (callable without Dagster)."""
    cipher = require_cipher(cipher_from_settings(settings), "read webhook signing secrets")
    report = delivery.deliver_due(settings.store_url, cipher, worker_id=worker_id, now=now)
    # a failing receiver is the receiver's problem, retried by design: a warning, not a failed run
    warnings = [f"webhook endpoint {e} disabled after failing for a day; `campaigns webhooks enable {e}` once it is fixed" for e in report.disabled]
    metadata = {"dispatched": report.dispatched, "delivered": report.delivered, "retrying": report.retrying, "failed": report.failed}
    return WorkResult(metadata, report.summary(), warnings=warnings)


def waiting_webhooks(settings: Settings, now: datetime) -> int:
    with session_scope(settings.store_url) as session:
        return delivery.pending_count(session, now)


outbound_webhooks = work_sensor(
    "deliver_webhooks", work=deliver_webhooks_once, pending=waiting_webhooks, job_name="webhooks_job", sensor_name="webhooks_sensor",
    count_tag="campaigns/webhooks", key_prefix="webhooks", idle="no webhook event or delivery is waiting",
    description="Deliver outbound webhooks once: fan new events out to subscribed endpoints, send every due delivery, signed.",
)
