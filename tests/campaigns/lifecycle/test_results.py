"""Campaign results from the marts: combined by hand-computed cases, replaced per day, scoped to known campaigns."""

from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import select

from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignMetric
from campaigns.lifecycle import results
from campaigns.lifecycle import service as svc

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


def _performance(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["merchant_id", "campaign_id", "channel", "activity_date", "impressions", "clicks", "conversions", "spend",
                                      "revenue"], orient="row").with_columns(pl.lit("linear").alias("attribution_model"))


EMAIL = pl.DataFrame([
    ("acme", "c1", "sent", D1, 100, 100), ("acme", "c1", "opened", D1, 60, 40), ("acme", "c1", "clicked", D1, 12, 9),
    ("acme", "c1", "purchased", D1, 3, 3), ("acme", None, "opened", D1, 5, 5),
], schema=["merchant_id", "campaign_id", "event_type", "event_date", "events", "contacts"], orient="row")
SOCIAL = pl.DataFrame([
    ("acme", 11, "x", D1, 30), ("acme", 12, "x", D1, 20), ("acme", 13, "linkedin", D2, 7), ("acme", 99, "x", D1, 1000),
], schema=["merchant_id", "queue_item_id", "platform", "published_date", "engagements"], orient="row")


def test_sources_combine_into_one_row_per_campaign_channel_day() -> None:
    performance = _performance([("acme", "c1", "google_ads", D1, 1000, 50, 2.5, 100.0, 400.0), ("acme", "c1", "email", D1, 0, 0, 1.0, 0.0, 80.0),
                                ("acme", None, "google_ads", D1, 10, 1, 0.5, 5.0, 10.0)])
    frame = results.daily_results(performance, EMAIL, SOCIAL, {11: "c1", 12: "c1", 13: "c2"})  # item 99 is not a campaign's post
    rows = {(r["campaign_id"], r["channel"], r["date"]): r for r in frame.iter_rows(named=True)}
    assert set(rows) == {("c1", "google_ads", D1), ("c1", "email", D1), ("c1", "x", D1), ("c2", "linkedin", D2)}
    assert rows[("c1", "email", D1)] == {"merchant_id": "acme", "campaign_id": "c1", "channel": "email", "date": D1, "impressions": 0,
                                               "clicks": 0, "conversions": 1.0, "spend": 0.0, "revenue": 80.0, "email_sends": 100,
                                               "email_opens": 40, "email_clicks": 9, "social_engagements": 0}
    assert rows[("c1", "x", D1)]["social_engagements"] == 50 and rows[("c2", "linkedin", D2)]["social_engagements"] == 7
    assert rows[("c1", "google_ads", D1)]["spend"] == 100.0 and rows[("c1", "google_ads", D1)]["email_sends"] == 0


def test_no_source_gives_an_empty_frame() -> None:
    empty = results.daily_results(pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), {})
    assert empty.height == 0 and empty.schema == pl.Schema(results.RESULT_SCHEMA)


def _campaign(store_url: str, merchant: str, name: str) -> str:
    with session_scope(store_url) as s:
        return svc.create_campaign(s, merchant, svc.CampaignInput(name=name, type="CONVERSION"), actor="t").id


def test_replace_writes_ratios_skips_unknown_campaigns_and_is_idempotent_per_day(store_url) -> None:
    c1, other = _campaign(store_url, "acme", "Winter"), _campaign(store_url, "globex", "Theirs")
    performance = _performance([("acme", c1, "google_ads", D1, 1000, 50, 3.0, 100.0, 450.0), ("acme", c1, "google_ads", D2, 10, 1, 0.0, 0.0, 0.0),
                                ("acme", "cmp_unknown", "google_ads", D1, 5, 1, 1.0, 5.0, 5.0), ("acme", other, "x", D1, 1, 1, 1.0, 1.0, 1.0)])
    frame = results.daily_results(performance, pl.DataFrame(), pl.DataFrame(), {})
    for _ in range(2):
        with session_scope(store_url) as s:
            assert results.replace_results(s, frame, "linear") == 2  # globex's id under acme and the unknown id are left out
    with session_scope(store_url) as s:
        got = {r.date: r for r in s.scalars(select(CampaignMetric).where(CampaignMetric.merchant_id == "acme"))}
    assert set(got) == {D1, D2}
    day = got[D1]
    assert (day.spend, day.revenue, day.conversions, day.roas, day.cpa) == (Decimal("100.00"), Decimal("450.00"), 3, Decimal("4.5000"), Decimal("33.33"))
    assert got[D2].roas is None and got[D2].cpa is None  # no spend, no conversions: no ratio
    # a day that changed upstream is rewritten whole; the other day stays
    changed = results.daily_results(_performance([("acme", c1, "meta_ads", D1, 7, 7, 0.0, 7.0, 0.0)]), pl.DataFrame(), pl.DataFrame(), {})
    with session_scope(store_url) as s:
        results.replace_results(s, changed, "markov")
        left = [(r.date, r.channel, r.attribution_model) for r in s.scalars(select(CampaignMetric).order_by(CampaignMetric.date))]
    assert left == [(D1, "meta_ads", "markov"), (D2, "google_ads", "linear")]
