"""The demo merchant's contact events, for segments, RFM, send-time optimisation and A/B reports.

Opens, clicks and email-driven purchases are the generator's email history (each contact reads
mail around a habitual local hour in their own time zone), so the store and the warehouse tell
the same story. On top come a sign-up per contact and web-shop orders over the last year with
revenue, spread so that every RFM bucket has members: engaged contacts buy more often and more
recently. Deterministic for a given seed and as-of date.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from campaigns.demo.generator import DEMO_MERCHANT, DemoData
from campaigns.warehouse.schema import EMAIL_EVENTS

HISTORY_DAYS = 365


def demo_contact_events(data: DemoData, store_ids: dict[int, int]) -> list[dict[str, Any]]:
    """Rows for `contact_events`; `store_ids` maps the generator's contact_id to the store's."""
    rng = np.random.default_rng([data.seed, 20_261_124])  # its own stream: the generator's tables do not move
    end = datetime.combine(data.as_of, time(23, 0), tzinfo=UTC)
    rows: list[dict[str, Any]] = []

    def add(contact: int, kind: str, at: datetime, key: str, value: Decimal | None = None, **details: Any) -> None:
        rows.append({"merchant_id": DEMO_MERCHANT, "contact_id": store_ids[contact], "kind": kind, "occurred_at": at,
                     "value": value, "event_key": f"demo:{key}", "email_campaign_id": None, "details": {"source": "demo", **details}})

    engagement = dict(zip(data.contacts["contact_id"].to_list(), data.contacts["engagement"].to_list(), strict=True))
    for contact, level in engagement.items():
        # engaged contacts signed up longer ago, so they had time to buy
        add(contact, "signed_up", end - timedelta(days=float(HISTORY_DAYS * (0.2 + 0.8 * rng.random() ** (1 - level)))), f"signup:{contact}")

    emails = data.tables.get(EMAIL_EVENTS.name)
    if emails is not None:
        for event in emails.iter_rows(named=True):
            value = _price(rng) if event["event_type"] == "purchased" else None
            add(event["contact_id"], event["event_type"], event["occurred_at"].astimezone(UTC), event["event_id"], value,
                campaign_id=event["campaign_id"])

    for contact, level in engagement.items():
        orders = int(rng.poisson(0.3 + 6 * level**1.5))
        # the last order is nearer for engaged contacts; earlier ones spread over the year
        last_day = min(float(rng.exponential(200 * (1 - level) + 5)), HISTORY_DAYS - 1)
        for k in range(orders):
            days_ago = last_day + (0 if k == 0 else rng.uniform(0, HISTORY_DAYS - 1 - last_day))
            at = end - timedelta(days=days_ago, minutes=int(rng.integers(0, 600)))
            add(contact, "purchased", at, f"order:{contact}:{k}", _price(rng, level), channel="web")
    return rows


def _price(rng: np.random.Generator, level: float = 0.3) -> Decimal:
    # basket sizes of an outdoor shop: mostly 30-150, engaged customers a little more
    return Decimal(str(round(float(rng.lognormal(4.0 + level, 0.6)), 2)))
