"""Campaign alerts: the ROAS-drop rule by hand, one active alert per campaign × kind, acknowledge, dismiss, resolve, merchant scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from campaigns.core.enums import CampaignType
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import AuditLog, Campaign, CampaignAlert
from campaigns.lifecycle.alerts import (
    AlertError, acknowledge_alert, dismiss_alert, list_alerts, raise_alert, record_monitoring, roas_drop,
)

NOW = datetime(2026, 12, 11, 12, tzinfo=UTC)
AS_OF = date(2026, 12, 14)


def test_roas_drop_compares_the_last_week_with_the_days_before() -> None:
    # Dec 1-7: 100 spent and 300 earned a day (ROAS 3); Dec 8-14: 100 spent and 150 earned (ROAS 1.5) -> a 50% drop
    daily = [(date(2026, 12, d), 100.0, 300.0 if d <= 7 else 150.0) for d in range(1, 15)]
    drop = roas_drop(daily, AS_OF)
    assert (drop.earlier, drop.recent, drop.drop) == (3.0, 1.5, 0.5)
    # Dec 1-4 earlier: 4 x 50 spent, 4 x 100 earned = ROAS 2; Dec 5-11 recent (as of Dec 11): 7 x 50 spent, 210 + 6 x 100 = 810 earned
    # -> 810 / 350 = 2.3143, 1 - 2.3143 / 2 = -0.1571 (a rise); the day after as_of is ignored
    mixed = [(date(2026, 12, d), 50.0, 210.0 if d == 5 else 100.0) for d in range(1, 13)]
    rise = roas_drop(mixed, date(2026, 12, 11))
    assert (rise.earlier, rise.recent, rise.drop) == (2.0, 2.3143, -0.1571)


def test_no_drop_without_spend_in_either_period() -> None:
    only_recent = [(AS_OF - timedelta(days=d), 100.0, 100.0) for d in range(7)]
    assert roas_drop(only_recent, AS_OF) is None
    assert roas_drop([(date(2026, 12, 1), 100.0, 0.0), (AS_OF, 100.0, 50.0)], AS_OF) is None  # nothing earned before: no return to fall from


def _campaign(url: str, merchant: str = "acme", campaign_id: str = "cmp_a") -> str:
    with session_scope(url) as s:
        s.add(Campaign(id=campaign_id, merchant_id=merchant, name=f"Spring {campaign_id}", type=CampaignType.CONVERSION))
    return campaign_id


def test_a_repeated_trigger_updates_the_open_alert(store_url) -> None:
    campaign = _campaign(store_url)
    fired = [{"trigger": "under_pacing", "value": 0.5, "threshold": 0.8, "action": "raise bids", "automatic": "rebalance"}]
    with session_scope(store_url) as s:
        record_monitoring(s, "acme", campaign, fired, NOW)
    with session_scope(store_url) as s:
        record_monitoring(s, "acme", campaign, [{**fired[0], "value": 0.4}], NOW + timedelta(days=1))
    with session_scope(store_url) as s:
        (alert,) = list_alerts(s, "acme", campaign)
        assert (alert.kind, alert.status, alert.times_raised, alert.details["value"]) == ("under_pacing", "OPEN", 2, 0.4)
        assert alert.first_raised_at == NOW and alert.last_raised_at == NOW + timedelta(days=1)
        assert alert.message == "Spending behind the plan: 0.4 against a threshold of 0.8. Response: raise bids"
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "alert.raise")) == 1


def test_acknowledged_alerts_stay_active_dismissed_and_cleared_ones_close(store_url) -> None:
    campaign = _campaign(store_url)
    with session_scope(store_url) as s:
        pacing, drop = record_monitoring(s, "acme", campaign, [{"trigger": "under_pacing", "value": 0.5}, {"trigger": "roas_drop", "value": 0.5}], NOW)
        pacing_id, drop_id = pacing.id, drop.id
    with session_scope(store_url) as s:
        acknowledge_alert(s, "acme", pacing_id, "ana", NOW)
        dismiss_alert(s, "acme", drop_id, "ana", NOW)
    with session_scope(store_url) as s:
        assert [(a.kind, a.status, a.acknowledged_by) for a in list_alerts(s, "acme")] == [("under_pacing", "ACKNOWLEDGED", "ana")]
        with pytest.raises(AlertError, match="already dismissed"):
            dismiss_alert(s, "acme", drop_id, "ana", NOW)
    with session_scope(store_url) as s:  # the drop persists: a new alert; pacing cleared: resolved
        record_monitoring(s, "acme", campaign, [{"trigger": "roas_drop", "value": 0.6}], NOW + timedelta(days=1))
    with session_scope(store_url) as s:
        rows = {(a.kind, a.status) for a in s.scalars(select(CampaignAlert))}
        assert rows == {("under_pacing", "RESOLVED"), ("roas_drop", "DISMISSED"), ("roas_drop", "OPEN")}


def test_alerts_are_scoped_to_their_merchant(store_url) -> None:
    campaign = _campaign(store_url)
    _campaign(store_url, "globex", "cmp_g")
    with session_scope(store_url) as s:
        alert_id = raise_alert(s, "acme", campaign, "kpi_behind", {"value": 0.3}, NOW).id
        raise_alert(s, "globex", "cmp_g", "kpi_behind", {"value": 0.9}, NOW)
    with session_scope(store_url) as s:
        with pytest.raises(AlertError, match="no alert"):
            acknowledge_alert(s, "globex", alert_id, "mallory", NOW)
        assert [a.campaign_id for a in list_alerts(s, "globex")] == ["cmp_g"]
        assert [a.campaign_id for a in list_alerts(s, "acme")] == [campaign]
