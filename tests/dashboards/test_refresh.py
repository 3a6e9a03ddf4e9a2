"""The sidebar's Refresh: the store's cached reads are read again, so a change made outside the app shows at once."""

from __future__ import annotations

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.lifecycle import service as svc
from tests.dashboards.helpers import assert_clean


def test_refresh_shows_a_campaign_a_worker_added_meanwhile(home, app) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "demo")
        first = svc.create_campaign(s, "demo", svc.CampaignInput(name="Spring", type="CONVERSION"), actor="t").id
    at = app(get_settings())
    at.switch_page("views/campaigns.py").run()
    assert_clean(at)
    assert [o.endswith(f"({first})") for o in at.selectbox(key="campaign_pick").options] == [True]
    with session_scope(url) as s:  # written by another process (a worker, the CLI, another person)
        second = svc.create_campaign(s, "demo", svc.CampaignInput(name="Summer", type="CONVERSION"), actor="cli").id
    at.run()
    assert not any(second in o for o in at.selectbox(key="campaign_pick").options)  # still the cached read
    at.sidebar.button(key="refresh_data").click().run()
    assert_clean(at)
    assert sorted(o.rsplit("(", 1)[1].rstrip(")") for o in at.selectbox(key="campaign_pick").options) == sorted([first, second])
