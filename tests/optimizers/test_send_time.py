"""Send-time maths against hand-worked cases: shrinkage, local hours across zones, spreading within capacity."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from optimizers import send_time as st


def test_shrinkage_by_hand() -> None:
    # segment: 6 events at 9h, 2 at 20h -> add-one prior: 9h = 7/32, 20h = 3/32, others 1/32
    prior = st.segment_prior(st.hour_counts([9] * 6 + [20] * 2))
    assert prior[9] == pytest.approx(7 / 32) and prior[20] == pytest.approx(3 / 32) and prior[0] == pytest.approx(1 / 32)
    # a contact with 2 events at 20h, k = 8: 20h -> (2 + 8*3/32) / 10 = 0.275; 9h -> (0 + 8*7/32) / 10 = 0.175
    own = st.hour_counts([20, 20])
    scores = st.shrunk_scores(own, prior, 8)
    assert scores[20] == pytest.approx(0.275) and scores[9] == pytest.approx(0.175) and scores.sum() == pytest.approx(1.0)
    assert st.best_hour(own, prior, 8) == 20
    # one event at 20h is not enough against the prior: 20h -> (1 + 0.75)/9 = 0.194 < 9h -> 1.75/9 ... equal; tie -> earliest (9h)
    assert st.shrunk_scores(st.hour_counts([20]), prior, 8)[20] == pytest.approx(st.shrunk_scores(st.hour_counts([20]), prior, 8)[9])
    assert st.best_hour(st.hour_counts([20]), prior, 8) == 9
    assert st.best_hour(np.zeros(24), prior) == 9  # no history: the segment's best hour


def test_local_hours_and_next_local_hour_across_zones_and_dst() -> None:
    now = datetime(2026, 3, 7, 13, 30, tzinfo=UTC)  # New York is UTC-5 (DST starts 8 March), Tokyo UTC+9
    assert st.local_hour(now, "America/New_York") == 8 and st.local_hour(now, "Asia/Tokyo") == 22
    assert st.local_hour(datetime(2026, 3, 7, 13, 30), "Asia/Tokyo") == 22  # naive = UTC (SQLite)
    assert st.next_local_hour(now, "America/New_York", 9) == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    assert st.next_local_hour(now, "America/New_York", 8) == now  # that hour has begun
    assert st.next_local_hour(now, "Asia/Tokyo", 9) == datetime(2026, 3, 8, 0, 0, tzinfo=UTC)
    # after the DST change New York is UTC-4: 9h on 9 March is 13:00 UTC
    assert st.next_local_hour(datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "America/New_York", 9) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert st.local_hour(now, "Not/AZone") == 13  # unknown zone: UTC


def _one_hot(hour: int) -> np.ndarray:
    v = np.zeros(24)
    v[hour] = 1.0
    return v


def test_plan_places_each_contact_at_its_best_hour_within_the_window() -> None:
    now = datetime(2026, 11, 24, 6, 20, tzinfo=UTC)
    contacts = [(1, "UTC"), (2, "Europe/Paris"), (3, "America/New_York"), (4, "UTC")]
    scores = {1: _one_hot(9), 2: _one_hot(9), 3: _one_hot(9), 4: _one_hot(3)}
    placed = {p.contact_id: p for p in st.plan(contacts, scores, now, 24, None)}
    assert placed[1].send_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 9h UTC
    assert placed[2].send_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 9h Paris = 8h UTC (winter)
    assert placed[3].send_at == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 9h New York = 14h UTC
    assert placed[4].send_at == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 3h UTC tomorrow, still inside 24 h
    # a 4-hour window (6:20 .. 9:59 UTC): New York's 9h is out of reach, so the best reachable hour (all 0: the first slot, now)
    short = {p.contact_id: p for p in st.plan(contacts, scores, now, 4, None)}
    assert short[1].send_at.hour == 9 and short[2].send_at.hour == 8 and short[3].send_at == now


def test_spread_respects_capacity_and_overflows_to_the_next_hour_with_room() -> None:
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    contacts = [(i, "UTC") for i in range(1, 8)]
    scores = {i: _one_hot(9) for i in range(1, 6)} | {6: _one_hot(10), 7: _one_hot(10)}
    placed = st.plan(contacts, scores, now, 6, capacity=2)
    hours = [p.send_at.hour for p in placed]
    # 9h holds 2 (contacts 1, 2); 3 and 4 overflow to 10h, which then is full, so 5 goes to 11h; 6 and 7 prefer 10h (full) -> 11h, 12h
    assert hours == [9, 9, 10, 10, 11, 11, 12]
    assert [p.moved for p in placed] == [False, False, True, True, True, True, True]
    per_hour = {h: hours.count(h) for h in set(hours)}
    assert max(per_hour.values()) <= 2
    # a full window overflows past its end rather than dropping anyone
    over = st.plan([(i, "UTC") for i in range(5)], {}, now, 2, capacity=2)
    assert [p.slot for p in over] == [0, 0, 1, 1, 2]
    assert st.hourly_capacity(10.0) == 36_000 and st.hourly_capacity(None) is None


def test_plan_rejects_bad_windows() -> None:
    with pytest.raises(ValueError, match="send_window_hours"):
        st.plan([(1, "UTC")], {}, datetime(2026, 1, 1, tzinfo=UTC), 0, None)
    with pytest.raises(ValueError, match="capacity"):
        st.plan([(1, "UTC")], {}, datetime(2026, 1, 1, tzinfo=UTC), 3, 0)
