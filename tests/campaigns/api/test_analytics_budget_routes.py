"""/marketing/analytics and /marketing/budget read the served marts and the budget context for the key's merchant only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from campaigns.access.roles import Role
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import BudgetAllocation
from tests.campaigns.api.conftest import Api, write_marts


def test_roi_metrics_and_attribution_come_from_the_served_marts(api: Api) -> None:
    campaign = api.create()
    write_marts(api.home, "acme", campaign["id"])
    roi = api.client.get(f"/marketing/analytics/campaigns/{campaign['id']}/roi", params={"model": "markov"}, headers=api.headers(Role.VIEWER))
    assert roi.status_code == 200 and [(r["channel"], r["roi"]) for r in roi.json()] == [("email", 2.0), ("google_ads", 2.0)]
    every = api.client.get(f"/marketing/analytics/campaigns/{campaign['id']}/roi", headers=api.headers(Role.VIEWER)).json()
    assert {r["model"] for r in every} == {"last_touch", "markov"}
    metrics = api.client.get(f"/marketing/analytics/campaigns/{campaign['id']}/metrics", params={"start": "2026-11-02"}, headers=api.headers()).json()
    assert [m["activity_date"] for m in metrics] == ["2026-11-02", "2026-11-03"]
    attribution = api.client.get("/marketing/analytics/attribution", headers=api.headers()).json()
    assert attribution == [{"model": "markov", "model_family": "data_driven", "channel": "email", "conversions": 7.0, "revenue": 700.0}]
    # globex's rows are in the same snapshots; its campaign id is unknown to acme
    assert api.client.get("/marketing/analytics/campaigns/cmp_globex/roi", headers=api.headers()).status_code == 404


def test_analytics_before_any_build_say_what_to_run(api: Api) -> None:
    campaign = api.create()
    answer = api.client.get(f"/marketing/analytics/campaigns/{campaign['id']}/roi", headers=api.headers())
    assert answer.status_code == 404 and "campaigns build" in answer.json()["detail"]


def test_allocation_recommendations_and_rebalance_refusal(api: Api) -> None:
    campaign = api.create()
    with session_scope(api.store_url) as s:
        s.add_all([BudgetAllocation(merchant_id="acme", campaign_id=campaign["id"], channel="email", allocated=Decimal("60.00")),
                   BudgetAllocation(merchant_id="acme", campaign_id=None, channel="email", allocated=Decimal("500.00"),
                                    recommended_allocation=Decimal("650.00"), recommendation="raise email: marginal ROAS 2.1",
                                    period_start=date(2026, 11, 1), period_end=date(2026, 11, 30)),
                   BudgetAllocation(merchant_id="globex", campaign_id=None, channel="x", allocated=Decimal("9.00"))])
    allocation = api.client.get(f"/marketing/budget/campaigns/{campaign['id']}/allocation", headers=api.headers(Role.VIEWER)).json()
    assert allocation == {"campaign_id": campaign["id"], "channels": {"email": 60.0}}
    recommended = api.client.get("/marketing/budget/recommendations", headers=api.headers()).json()
    assert recommended == [{"channel": "email", "allocated": 500.0, "recommended_allocation": 650.0, "recommendation": "raise email: marginal ROAS 2.1"}]
    assert api.client.get("/marketing/analytics/suggestions", headers=api.headers()).json()[0]["recommendation"].startswith("raise email")
    preview = api.client.post(f"/marketing/budget/campaigns/{campaign['id']}/rebalance", json={}, headers=api.headers(Role.VIEWER))
    assert preview.status_code == 422 and "campaigns build" in preview.json()["detail"]  # no warehouse to fit curves on yet
    assert api.client.post(f"/marketing/budget/campaigns/{campaign['id']}/rebalance", json={"apply": True},
                           headers=api.headers(Role.MARKETER)).status_code == 403


def test_roi_reads_a_replaced_snapshot_and_matches_the_marts_query(api: Api) -> None:
    """ROI rows come from an in-process copy of the snapshot: a new build's file (replaced by rename) is read again,
    and the rows equal what a query of the served marts returns."""
    import os

    import polars as pl

    from campaigns.warehouse.serving import query_marts

    campaign = api.create()
    write_marts(api.home, "acme", campaign["id"])
    url = f"/marketing/analytics/campaigns/{campaign['id']}/roi"
    first = api.client.get(url, headers=api.headers()).json()
    queried = query_marts(api.client.app.state.settings, "select model, model_family, channel, spend, conversions, revenue, roas, roi "
                          "from marts.roi_by_model_all_models where merchant_id = ? and campaign_id = ? order by model, channel",
                          ["acme", campaign["id"]]).to_dicts()
    assert first == queried
    snapshot = api.home / "serving" / "roi_by_model_all_models.parquet"
    rebuilt = pl.read_parquet(snapshot).with_columns(pl.col("roi") * 2)
    rebuilt.write_parquet(snapshot.with_suffix(".tmp"))
    os.replace(snapshot.with_suffix(".tmp"), snapshot)
    again = api.client.get(url, params={"model": "markov"}, headers=api.headers()).json()
    assert [r["roi"] for r in again] == [4.0, 4.0]
