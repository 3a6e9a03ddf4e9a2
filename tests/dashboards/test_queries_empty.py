"""The read layer before anything is built: unknown ids and missing marts read as empty, never as an error.

Pages build their empty states on these answers, so they must hold on a new home and with an unreachable warehouse.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from dashboards import queries


@pytest.fixture
def source(home) -> str:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", "Acme", timezone="Europe/Berlin")
    return queries.source()


def test_unknown_merchant_and_ids_read_as_defaults_or_none(source: str) -> None:
    assert queries.merchant_profile(source, "acme") == {"id": "acme", "name": "Acme", "timezone": "Europe/Berlin", "currency": "USD"}
    assert queries.merchant_profile(source, "ghost") == {"id": "ghost", "name": "ghost", "timezone": "UTC", "currency": "USD"}
    assert queries.campaign_detail(source, "acme", "cmp_none") is None
    assert queries.merge_contact(source, "acme", 12345) is None
    assert queries.campaigns(source, "acme").is_empty() and queries.campaigns(source, "acme").schema == pl.Schema(queries.CAMPAIGN_SCHEMA)
    assert queries.email_results(source, "acme").is_empty()


def test_without_marts_every_analytics_read_is_empty(source: str) -> None:
    assert queries.marts(source) == []
    assert queries.has_overview(source) is False
    assert queries.analytics_date_bounds(source, "acme") is None
    frame, filtered = queries.attribution_comparison(source, "acme", None, None, ())
    assert frame.is_empty() and filtered is False
    frame, filtered = queries.attribution_comparison(source, "acme", date(2026, 11, 1), None, ("cmp_1",))
    assert frame.is_empty() and filtered is False  # no daily credits: the filters could not apply
    assert queries.roi_table(source, "acme", ()).is_empty()
    assert queries.performance_trend(source, "acme", date(2026, 11, 1), date(2026, 11, 24), ("cmp_1",)).is_empty()
    assert queries.spend_through(source, "acme") is None
    assert queries.campaign_totals(source, "acme", date(2026, 11, 1), date(2026, 11, 24)).is_empty()


def test_an_unreachable_warehouse_reads_as_no_marts_yet(home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", "postgres")
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:9/not_there")  # nothing listens on port 9
    get_settings.cache_clear()
    source = queries.source()
    assert "postgres" in source
    assert queries.marts(source) == []
    assert queries.analytics_date_bounds(source, "acme") is None


def test_period_totals_split_the_days_into_this_period_and_the_one_before() -> None:
    daily = pl.DataFrame({
        "activity_date": [date(2026, 11, d) for d in range(17, 25)],
        "spend": [1.0, 1.0, 1.0, 1.0, 10.0, 10.0, 10.0, 0.0],
        "revenue": [2.0, 2.0, 2.0, 2.0, 30.0, 30.0, 30.0, 5.0],
        "conversions": [1.0] * 8,
    })
    now, before = queries.period_totals(daily, date(2026, 11, 24), 4)
    assert now == {"spend": 30.0, "revenue": 95.0, "conversions": 4.0, "roas": pytest.approx(95 / 30)}
    assert before == {"spend": 4.0, "revenue": 8.0, "conversions": 4.0, "roas": 2.0}
    empty_now, _ = queries.period_totals(daily, date(2026, 12, 31), 4)
    assert empty_now["spend"] == 0.0 and empty_now["roas"] != empty_now["roas"]  # no spend: ROAS is NaN, shown as a dash
