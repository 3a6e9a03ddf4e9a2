"""Send-time optimisation: each contact's best local hour, and a plan that spreads a send over a window within capacity.

Pure functions: events and clocks in, hours and datetimes out.

Best hour. A contact's opens and clicks, counted by local hour of day (their own time zone), are
shrunk toward the segment's prior with a Dirichlet prior of strength k (default 8 pseudo-events):

    score_h = (c_h + k * p0_h) / (n + k)

where c_h is the contact's events at hour h, n their total, and p0 the segment's hour shares
(every segment contact's events in their own local hours, plus one pseudo-event per hour so no hour
is impossible). With no history a contact gets the segment's best hour; with many events, their own.

Spreading. The window's slots are whole UTC hours from now (the first slot starts now). Each contact
goes to the slot in the window whose local hour scores highest for them (earliest such slot on a
tie). A slot holds at most `capacity` sends (the provider's throttle x 3600); a contact whose slot is
full moves to the nearest later slot with room, past the window's end if the whole window is full
(late beats never). Contacts are placed in a fixed order (the caller's), so a plan is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

HOURS = 24
DEFAULT_STRENGTH = 8.0  # pseudo-events of the segment prior: a contact's own history dominates past ~8 opens or clicks


def zone(name: str | None) -> ZoneInfo:
    """The contact's zone; an unknown or empty zone name means UTC (a contact row is not the place to fail a send)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_hour(moment: datetime, tz: str | None) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return moment.astimezone(zone(tz)).hour


def hour_counts(hours: Iterable[int]) -> np.ndarray:
    counts = np.zeros(HOURS)
    for h in hours:
        counts[int(h)] += 1
    return counts


def segment_prior(counts: np.ndarray) -> np.ndarray:
    """Hour shares of the segment's events, add-one smoothed: uniform with no events."""
    smoothed = np.asarray(counts, dtype=float) + 1.0
    return smoothed / smoothed.sum()


def shrunk_scores(own: np.ndarray, prior: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """Posterior mean hour shares under a Dirichlet(strength * prior) prior: (c_h + k p0_h) / (n + k)."""
    own = np.asarray(own, dtype=float)
    if strength <= 0:
        raise ValueError("the prior strength must be positive (pseudo-events), e.g. 8")
    return (own + strength * prior) / (own.sum() + strength)


def best_hour(own: np.ndarray, prior: np.ndarray, strength: float = DEFAULT_STRENGTH) -> int:
    """The local hour with the highest shrunk score; ties go to the earliest hour."""
    return int(np.argmax(shrunk_scores(own, prior, strength)))


def next_local_hour(now: datetime, tz: str | None, hour: int) -> datetime:
    """The first moment >= now (UTC) at which the contact's local clock shows `hour`:00 (now itself if that hour has begun at now)."""
    z = zone(tz)
    local = now.astimezone(z)
    if local.hour == hour:
        return now
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate.astimezone(UTC) <= now:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return candidate.astimezone(UTC)


@dataclass(frozen=True)
class Placement:
    contact_id: int
    preferred_local_hour: int
    send_at: datetime  # UTC
    slot: int  # hours after the window's first slot
    moved: bool  # True when the preferred slot was full


def slot_starts(now: datetime, slots: int) -> list[datetime]:
    """Slot 0 starts now; slot i > 0 starts at the top of the i-th following UTC hour."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [now, *(top + timedelta(hours=i) for i in range(1, slots))]


def plan(
    contacts: Sequence[tuple[int, str | None]],
    scores: Mapping[int, np.ndarray],
    now: datetime,
    window_hours: int,
    capacity: int | None,
) -> list[Placement]:
    """Place each (contact id, zone) in the window by its hour `scores` (24 values; missing: uniform), within `capacity` per slot."""
    if window_hours < 1:
        raise ValueError("send_window_hours must be at least 1")
    if capacity is not None and capacity < 1:
        raise ValueError("capacity per hour must be at least 1 send")
    now = now.astimezone(UTC)
    extra = 0 if capacity is None else -(-len(contacts) // capacity)  # room to overflow past the window
    starts = slot_starts(now, window_hours + extra)
    used = [0] * len(starts)
    flat = np.full(HOURS, 1.0 / HOURS)
    out = []
    for contact_id, tz in contacts:
        score = scores.get(contact_id, flat)
        z = zone(tz)
        local_hours = [s.astimezone(z).hour for s in starts[:window_hours]]
        values = [score[h] for h in local_hours]
        preferred = int(np.argmax(values))  # the earliest slot among equal scores
        slot = preferred
        while capacity is not None and used[slot] >= capacity:
            slot += 1
        used[slot] += 1
        out.append(Placement(contact_id, local_hours[preferred], starts[slot], slot, slot != preferred))
    return out


def hourly_capacity(per_second: float | None) -> int | None:
    """Sends one worker can make in an hour at the provider's throttle; None when not throttled."""
    return None if not per_second else max(1, int(per_second * 3600))
