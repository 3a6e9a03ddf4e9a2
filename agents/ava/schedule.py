"""Posting slots: each variant of each format at a good local hour, spread over the flight.

Hours come from the optimal-time model when the history has one (``best_hours``), else
from the documented defaults (`agents.ava.priors.BEST_HOURS`). Variants of one format are
spread evenly over the campaign's days, on the platform's good weekdays where it has them,
never two at the same time, never in the past. Local wall-clock times that do not exist
(clocks going forward) move an hour later. Ads have no slots: they run for the whole flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agents.ava.models import Slot
from agents.ava.priors import BEST_HOURS, BEST_WEEKDAYS


def _local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time(hour))
    local = naive.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:  # skipped by a clock change
        local = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return local


def posting_slots(items: Sequence[tuple[str, int]], *, start: date, end: date, timezone: str, best_hours: dict[str, list[int]] | None = None,
                  now: datetime | None = None) -> list[Slot]:
    """Slots for (format, variant) pairs; formats without a posting time (ads) are left out."""
    zone = ZoneInfo(timezone)
    best_hours = best_hours or {}
    days = (end - start).days + 1
    not_before = now.astimezone(UTC) if now else None
    slots: list[Slot] = []
    by_format: dict[str, list[int]] = {}
    for fmt, variant in items:
        if fmt in BEST_HOURS or fmt in best_hours:
            by_format.setdefault(fmt, []).append(variant)
    for fmt, variants in by_format.items():
        hours = sorted(best_hours.get(fmt) or BEST_HOURS[fmt])
        basis = "optimal-time model" if fmt in best_hours else "default best hours"
        weekdays = BEST_WEEKDAYS.get(fmt)
        taken: set[datetime] = set()
        count = len(variants)
        for index, variant in enumerate(sorted(variants)):
            offset = (index * days) // count
            candidate_days = [start + timedelta(days=(offset + k) % days) for k in range(days)]
            good = [d for d in candidate_days if not weekdays or d.weekday() in weekdays] or candidate_days
            chosen: datetime | None = None
            for day in good:
                for step in range(len(hours)):
                    at = _local(day, hours[(index + step) % len(hours)], zone)
                    if at in taken or (not_before and at.astimezone(UTC) < not_before):
                        continue
                    chosen = at
                    break
                if chosen:
                    break
            if chosen is None:  # the whole flight is in the past or full: the last good hour of the last day
                chosen = _local(end, hours[-1], zone)
            taken.add(chosen)
            slots.append(Slot(format=fmt, variant=variant, at=chosen.astimezone(UTC).isoformat(), local=chosen.isoformat(), basis=basis))
    slots.sort(key=lambda s: (s.at, s.format, s.variant))
    return slots
