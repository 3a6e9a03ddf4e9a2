"""The monitor's alerts on the Overview and the campaign page: shown per merchant, acknowledged and dismissed by a marketer,
not offered to a viewer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from campaigns.access.roles import Role
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import AuditLog, CampaignAlert
from campaigns.lifecycle import service as svc
from campaigns.lifecycle.alerts import record_monitoring
from tests.dashboards.helpers import APP, as_member, assert_clean

FOUND = datetime(2026, 6, 10, 12, tzinfo=UTC)
OVERVIEW = str(Path(APP).parent / "views" / "overview.py")


@pytest.fixture
def alerts_store(home: Path) -> dict[str, str]:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", "Acme")
        ensure_merchant(s, "globex", "Globex")
        spring = svc.create_campaign(s, "acme", svc.CampaignInput(name="Spring <b>sale</b>", type="CONVERSION", budget=1500), actor="t").id
        other = svc.create_campaign(s, "globex", svc.CampaignInput(name="Globex launch", type="AWARENESS", budget=900), actor="t").id
        record_monitoring(s, "acme", spring, [
            {"trigger": "under_pacing", "value": 0.2191, "threshold": 0.8, "action": "raise bids", "automatic": "rebalance"},
            {"trigger": "roas_drop", "value": 0.5, "threshold": 0.3, "action": "move budget", "automatic": "rebalance"},
        ], FOUND)
        record_monitoring(s, "globex", other, [{"trigger": "kpi_behind", "value": 0.1, "threshold": 0.7}], FOUND)
    return {"spring": spring, "other": other}


def _statuses() -> dict[str, str]:
    with session_scope(get_settings().store_url) as s:
        return {a.kind: a.status for a in s.scalars(select(CampaignAlert).where(CampaignAlert.merchant_id == "acme"))}


def test_the_overview_lists_the_merchants_alerts_and_a_marketer_handles_them(alerts_store) -> None:
    at = as_member(AppTest.from_file(OVERVIEW, default_timeout=60), "acme", Role.MARKETER, "bo@example.com")
    at.run()
    assert_clean(at)
    texts = [w.value for w in at.warning]
    pacing = next(t for t in texts if "Spending behind the plan: 0.2191 against a threshold of 0.8" in t)
    assert "Spring \\<b\\>sale\\</b\\>" in pacing  # the campaign's name is shown as written, never as HTML
    assert any("Return dropped: 0.5" in t for t in texts) and not any("KPI behind" in t for t in texts)  # globex's alert is not acme's

    ids = {k: a for k, a in ((a.kind, a.id) for a in _alerts("acme"))}
    at.button(key=f"alert_{ids['under_pacing']}_ack").click().run()
    assert_clean(at)
    at.button(key=f"alert_{ids['roas_drop']}_dismiss").click().run()
    assert_clean(at)
    assert _statuses() == {"under_pacing": "ACKNOWLEDGED", "roas_drop": "DISMISSED"}
    assert any("Acknowledged by bo@example.com" in w.value for w in at.warning)
    assert not any("Return dropped" in w.value for w in at.warning)
    with session_scope(get_settings().store_url) as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.actor == "bo@example.com")))
    assert {"alert.acknowledge", "alert.dismiss"} <= actions


def test_a_viewer_sees_alerts_without_the_buttons(alerts_store) -> None:
    at = as_member(AppTest.from_file(OVERVIEW, default_timeout=60), "acme", Role.VIEWER, "vi@example.com")
    at.run()
    assert_clean(at)
    assert any("Spending behind the plan" in w.value for w in at.warning)
    assert not [b for b in at.button if str(b.key).startswith("alert_")]


def test_the_campaign_page_shows_its_own_alerts(alerts_store, app) -> None:
    at = app(get_settings())
    at.switch_page("views/campaigns.py").run()
    at.selectbox(key="campaign_pick").set_value(alerts_store["spring"]).run()
    assert_clean(at)
    texts = [w.value for w in at.warning]
    assert any(t.startswith("Spending behind the plan") for t in texts) and any(t.startswith("Return dropped") for t in texts)
    drop = next(a.id for a in _alerts("acme") if a.kind == "roas_drop")
    at.button(key=f"alert_{drop}_dismiss").click().run()
    assert_clean(at)
    assert _statuses()["roas_drop"] == "DISMISSED"


def _alerts(merchant_id: str) -> list[CampaignAlert]:
    with session_scope(get_settings().store_url) as s:
        return list(s.scalars(select(CampaignAlert).where(CampaignAlert.merchant_id == merchant_id)))
