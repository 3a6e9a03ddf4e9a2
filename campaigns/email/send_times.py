"""Send-time optimisation over the store: per-contact hour scores from their opens and clicks, and send plans.

The maths (shrinkage, spreading) is in `optimizers.send_time`; this module reads the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from optimizers import send_time as st
from campaigns.core.store.models import ContactEvent

ENGAGEMENT = ("opened", "clicked")
LOOKBACK = timedelta(days=365)  # older habits say little about today's inbox


def hour_scores(
    session: Session,
    merchant_id: str,
    contacts: Sequence[tuple[int, str | None]],
    now: datetime,
    strength: float = st.DEFAULT_STRENGTH,
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Shrunk hour scores per contact (24 values) and the segment prior they were shrunk toward.

    The prior is built from the events of exactly these contacts (the audience being sent to).
    """
    zones = {cid: tz for cid, tz in contacts}
    own: dict[int, np.ndarray] = {cid: np.zeros(st.HOURS) for cid in zones}
    ids = list(zones)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = session.execute(select(ContactEvent.contact_id, ContactEvent.occurred_at).where(
            ContactEvent.merchant_id == merchant_id, ContactEvent.contact_id.in_(part), ContactEvent.kind.in_(ENGAGEMENT),
            ContactEvent.occurred_at >= now - LOOKBACK))
        for contact_id, occurred_at in rows:
            own[contact_id][st.local_hour(occurred_at, zones[contact_id])] += 1
    prior = st.segment_prior(sum(own.values(), np.zeros(st.HOURS)))
    return {cid: st.shrunk_scores(counts, prior, strength) for cid, counts in own.items()}, prior


def plan_optimised(
    session: Session,
    merchant_id: str,
    contacts: Sequence[tuple[int, str | None]],
    now: datetime,
    window_hours: int,
    capacity: int | None,
) -> dict[int, datetime]:
    """When each contact's copy should go: their best hour within the window, spread within `capacity` sends per hour."""
    scores, _ = hour_scores(session, merchant_id, contacts, now)
    return {p.contact_id: p.send_at for p in st.plan(contacts, scores, now, window_hours, capacity)}


def plan_fixed_hour(contacts: Sequence[tuple[int, str | None]], now: datetime, hour: int, capacity: int | None) -> dict[int, datetime]:
    """Every contact at the next `hour`:00 of their own clock (send-time A/B variants), spread within `capacity`."""
    if not 0 <= hour <= 23:
        raise ValueError(f"send hour must be 0..23, not {hour}")
    one_hot = np.zeros(st.HOURS)
    one_hot[hour] = 1.0
    return {p.contact_id: p.send_at for p in st.plan(contacts, {cid: one_hot for cid, _ in contacts}, now, 24, capacity)}
