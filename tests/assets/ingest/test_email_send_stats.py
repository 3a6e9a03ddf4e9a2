"""Email delivery outcomes reach the warehouse: the asset loads the store's per-day counts."""

import dagster as dg

from assets.resources import CampaignsResource
from assets.ingest.raw_tables import raw_email_send_stats
from campaigns.warehouse.connection import DuckDBWarehouse


def test_empty_store_gives_an_empty_table_with_the_contract_columns(tmp_path) -> None:
    result = dg.materialize([raw_email_send_stats], resources={"campaigns": CampaignsResource(home=str(tmp_path))})
    assert result.success
    frame = DuckDBWarehouse(tmp_path / "warehouse.duckdb").query("select * from raw.email_send_stats")
    assert frame.height == 0
    assert {"merchant_id", "email_campaign_id", "date", "sent", "failed", "suppressed", "needs_review", "_loaded_at"} <= set(frame.columns)
