"""The GA4 asset writes one day's partition, replacing only that day, and stays empty when unconfigured."""

import dagster as dg
from pytest_httpserver import HTTPServer

from assets.resources import CampaignsResource
from assets.ingest.ga4 import ga4_sessions_asset
from campaigns.warehouse.connection import DuckDBWarehouse
from tests.campaigns.warehouse.test_ga4 import DAY, ga4_handler


def test_partition_written_and_replaced(httpserver: HTTPServer, tmp_path) -> None:
    calls: list[dict] = []
    httpserver.expect_request("/v1beta/properties/123:runReport", method="POST").respond_with_handler(ga4_handler(calls))
    asset = ga4_sessions_asset(DAY)
    resource = CampaignsResource(home=str(tmp_path))
    with dg.instance_for_test() as instance:
        import os

        os.environ["CAMPAIGNS_GA4_PROPERTY_ID"] = "123"
        os.environ["CAMPAIGNS_GA4_ENDPOINT"] = f"http://127.0.0.1:{httpserver.port}"
        os.environ["CAMPAIGNS_GA4_CREDENTIALS_FILE"] = "anonymous"
        try:
            for _ in range(2):  # re-running a partition replaces its rows
                result = dg.materialize([asset], resources={"campaigns": resource}, partition_key=DAY.isoformat(), instance=instance)
                assert result.success
        finally:
            for key in ("CAMPAIGNS_GA4_PROPERTY_ID", "CAMPAIGNS_GA4_ENDPOINT", "CAMPAIGNS_GA4_CREDENTIALS_FILE"):
                os.environ.pop(key)
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    rows = warehouse.query("select source, sessions, revenue from raw.ga4_sessions order by sessions desc")
    assert rows.rows() == [("google", 120, 480.5), ("newsletter", 80, 300.0), ("(direct)", 50, 0.0)]


def test_unconfigured_creates_an_empty_partition(tmp_path) -> None:
    asset = ga4_sessions_asset(DAY)
    result = dg.materialize([asset], resources={"campaigns": CampaignsResource(home=str(tmp_path))}, partition_key=DAY.isoformat())
    assert result.success
    assert DuckDBWarehouse(tmp_path / "warehouse.duckdb").count("raw", "ga4_sessions") == 0
