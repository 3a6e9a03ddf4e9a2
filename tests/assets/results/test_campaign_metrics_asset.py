"""The campaign_metrics asset on a small hand-made warehouse: marts in, the store's campaign_metrics out, twice the same."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from sqlalchemy import select

from assets.resources import CampaignsResource
from assets.results.campaign_metrics import campaign_metrics
from campaigns.core.enums import QueueStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import BudgetAllocation, Campaign, CampaignMetric, SocialAccount, SocialQueueItem
from campaigns.lifecycle import service as svc
from campaigns.warehouse.connection import DuckDBWarehouse
from tests.merchant_runs import materialize_for

DAY = date(2026, 6, 1)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path))
    return tmp_path


def test_the_asset_writes_each_campaigns_day_once(home: Path) -> None:
    resource = CampaignsResource(home=str(home))
    url = resource.settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "m")
        cid = svc.create_campaign(s, "m", svc.CampaignInput(name="Spring", type="CONVERSION"), actor="t").id
        s.add_all([BudgetAllocation(merchant_id="m", campaign_id=cid, channel="google_ads", allocated=Decimal("1000")),
                   BudgetAllocation(merchant_id="m", campaign_id=cid, channel="meta_ads", allocated=Decimal("500"))])
        account = SocialAccount(merchant_id="m", platform="x", handle="@m")
        s.add(account)
        s.flush()
        item = SocialQueueItem(merchant_id="m", account_id=account.id, campaign_id=cid, text="hi", content_hash="0" * 64, idempotency_key="k1", status=QueueStatus.PUBLISHED,
                               scheduled_at=datetime(2026, 6, 1, 9, tzinfo=UTC))
        s.add(item)
        s.flush()
        item_id = item.id
    warehouse = DuckDBWarehouse(home / "warehouse.duckdb")
    warehouse.replace_table("marts", "campaign_performance_daily", pl.DataFrame([
        {"merchant_id": "m", "campaign_id": cid, "channel": "google_ads", "activity_date": DAY, "attribution_model": "linear",
         "impressions": 2000, "clicks": 80, "conversions": 4.0, "spend": 200.0, "revenue": 700.0}]))
    warehouse.replace_table("marts", "email_engagement_daily", pl.DataFrame([
        {"merchant_id": "m", "campaign_id": cid, "event_type": "sent", "event_date": DAY, "events": 500, "contacts": 500}]))
    warehouse.replace_table("marts", "social_post_performance", pl.DataFrame([
        {"merchant_id": "m", "queue_item_id": item_id, "platform": "x", "published_date": DAY, "engagements": 42}]))
    for _ in range(2):
        result = materialize_for([campaign_metrics], ["m"], {"campaigns": resource})
        assert result.success
    (materialization,) = result.asset_materializations_for_node("campaign_metrics")
    assert materialization.metadata["dagster/row_count"].value == 3
    with session_scope(url) as s:
        rows = {r.channel: r for r in s.scalars(select(CampaignMetric))}
    assert set(rows) == {"google_ads", "email", "x"}
    assert (rows["google_ads"].roas, rows["google_ads"].cpa) == (Decimal("3.5000"), Decimal("50.00"))
    assert rows["email"].email_sends == 500 and rows["x"].social_engagements == 42
    with session_scope(url) as s:  # the Budget tab's plan vs actual: spent per channel and in total, from the results
        spent = {a.channel: a.spent for a in s.scalars(select(BudgetAllocation))}
        assert spent == {"google_ads": Decimal("200.00"), "meta_ads": Decimal("0.00")}
        assert s.get(Campaign, cid).spent == Decimal("200.00")
