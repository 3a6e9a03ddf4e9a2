"""Every page of the app with AppTest: the built demo, an empty home, and actions that change the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns.core.enums import CampaignStatus, ContentStatus, QueueStatus
from campaigns.lifecycle import service as campaign_service
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import (
    BudgetAllocation,
    Campaign,
    CampaignContent,
    RepurposedContent,
    Segment,
    SocialAccount,
    SocialQueueItem,
)
from dashboards import queries
from dashboards.formatting import plain
from tests.dashboards.helpers import PAGES, assert_clean


def _texts(at) -> str:
    """Everything a person reads on the page, as one string."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _independent_count(db: str, merchant: str, tag: str) -> int:
    """Contacts with `tag` counted in plain Python over raw rows, not through the rule compiler."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("select tags from contacts where merchant_id = ?", [merchant]).fetchall()
    finally:
        con.close()
    return sum(1 for (tags,) in rows if tag in json.loads(tags))


def migrated(home) -> Settings:
    """The empty home's settings, with the store created (as the app's first run would)."""
    settings = get_settings()
    migrate(settings.store_url)
    return settings


# --- read-only walks ---------------------------------------------------------------------------
@pytest.mark.slow
def test_every_page_renders_with_the_demo(built_home, app) -> None:
    at = app(built_home)
    assert at.title[0].value == "Overview"
    assert [m.label for m in at.metric] == ["Spend", "Revenue", "ROAS", "Conversions"]
    text = _texts(at)
    assert "Top and bottom campaigns" in text and "Alerts" in text and "Needs approval" in text

    at.switch_page(PAGES["Campaigns"]).run()
    assert_clean(at)
    assert at.title[0].value == "Campaigns"
    assert {"campaigns_search", "campaigns_status", "campaigns_type", "campaigns_channel", "campaigns_dates", "campaign_pick"} <= {
        w.key for w in [*at.text_input, *at.multiselect, *at.date_input, *at.selectbox]
    }
    # an active demo campaign: metrics and ROI from the marts
    active = next(o for o in at.selectbox(key="campaign_pick").options if "Autumn colours contest" in o)
    at.selectbox(key="campaign_pick").set_value("cmp_demo_16").run()
    assert_clean(at)
    assert "Autumn colours contest" in active
    labels = [m.label for m in at.metric]
    assert labels[:5] == ["Spend", "Revenue", "ROAS", "ROI", "Conversions"]
    assert at.metric[0].value.startswith("$") and at.metric[0].value != "$0"
    assert "ROI by attribution model" in _texts(at)
    # plan vs actual: spent per channel comes from the campaign's results, no longer $0
    assert "Plan vs actual" in _texts(at) and "Posts of this campaign" in _texts(at)
    plan = next(d.value for d in at.dataframe if "used" in d.value.columns)
    assert plan["spent"].sum() > 0

    at.switch_page(PAGES["Campaign builder"]).run()
    assert_clean(at)
    assert at.text_input(key="wiz_name") and at.button(key="wiz_next")

    at.switch_page(PAGES["Templates"]).run()
    assert_clean(at)
    assert {b.key for b in at.button if b.key and b.key.startswith("tpl_use_")} >= {
        "tpl_use_product_launch", "tpl_use_webinar", "tpl_use_seasonal_sale", "tpl_use_newsletter_growth", "tpl_use_re_engagement"}

    at.switch_page(PAGES["Audiences"]).run()
    assert_clean(at)
    assert [m.label for m in at.metric][:2] == ["Contacts", "Social accounts"]
    assert at.metric[0].value == "400"
    assert "Customers" in [row for row in at.dataframe[0].value["Segment"]]


@pytest.mark.slow
@pytest.mark.postgres
def test_every_page_renders_on_postgres(built_postgres_home, app) -> None:
    """Store and marts on PostgreSQL: the same pages and the campaign metrics read through psycopg."""
    at = app(built_postgres_home)
    for title, path in PAGES.items():
        at.switch_page(path).run()
        assert_clean(at)
        assert at.title[0].value == title
    at.switch_page(PAGES["Campaigns"]).run()
    at.selectbox(key="campaign_pick").set_value("cmp_demo_16").run()
    assert_clean(at)
    assert [m.label for m in at.metric][:3] == ["Spend", "Revenue", "ROAS"] and at.metric[0].value != "$0"
    at.switch_page(PAGES["Audiences"]).run()
    assert at.metric[0].value == "400"


def test_every_page_has_an_empty_state(home, app) -> None:
    at = app(migrated(home))
    for title, path in PAGES.items():
        at.switch_page(path).run()
        assert_clean(at)
        assert at.title[0].value == title
        assert at.info, f"{title} shows no guidance on an empty home"
        assert "campaigns demo-data" in at.info[0].value


def test_a_new_merchant_sees_what_to_do_next(home, app) -> None:
    """A merchant with nothing built: no marts, no campaigns, no contacts; each page says what to do."""
    settings = migrated(home)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", "Acme", timezone="Europe/Berlin")
    at = app(settings)
    assert "campaigns build" in at.info[0].value  # overview: no marts yet
    assert "No campaign results yet" in _texts(at)
    at.switch_page(PAGES["Campaigns"]).run()
    assert_clean(at)
    assert "No campaigns yet" in at.info[0].value
    at.switch_page(PAGES["Audiences"]).run()
    assert_clean(at)
    assert "No contacts for this merchant yet" in at.info[0].value

    # a campaign without marts: its performance tab explains instead of failing
    with session_scope(settings.store_url) as s:
        campaign_service.create_campaign(
            s, "acme", campaign_service.CampaignInput(name="First one", type="AWARENESS", channels=["email"]), actor="test")
    queries.clear_store_caches()  # written behind the app's back: do what the TTL would do
    at.switch_page(PAGES["Campaigns"]).run()
    assert_clean(at)
    assert any("campaign_performance_daily" in i.value and "campaigns build" in i.value for i in at.info), [i.value for i in at.info]


# --- the wizard, end to end --------------------------------------------------------------------
@pytest.mark.slow
def test_wizard_builds_a_campaign_that_can_be_launched_and_paused(demo_copy, app) -> None:
    store = demo_copy.store_url
    at = app(demo_copy)
    at.switch_page(PAGES["Campaign builder"]).run()
    assert_clean(at)

    # Basics: Next without a name says what is missing, next to the field
    at.button(key="wiz_next").click().run()
    assert "give the campaign a name" in _texts(at)
    at.text_input(key="wiz_name").input("Winter boots push")
    at.selectbox(key="wiz_type").set_value("CONVERSION")
    at.text_area(key="wiz_description").input("Boots for the cold months")
    at.button(key="wiz_next").click().run()
    assert_clean(at)
    with session_scope(store) as s:  # the draft is in the store from the first step on
        draft = s.scalar(select(Campaign).where(Campaign.merchant_id == "demo", Campaign.name == "Winter boots push"))
        assert draft is not None and draft.status is CampaignStatus.DRAFT
        campaign_id = draft.id

    # Goal and KPI
    assert "Goal and KPI" in [h.value for h in at.subheader]
    at.selectbox(key="wiz_goal").set_value("seasonal_sale")
    at.selectbox(key="wiz_kpi").set_value("roas")
    at.number_input(key="wiz_target").set_value(3.0)
    at.button(key="wiz_next").click().run()
    assert_clean(at)

    # Audience: rules with a live size estimate that matches an independent count
    at.radio(key="wiz_audience_mode").set_value("rules").run()
    at.button(key="wiz_rules_add").click().run()
    value_key = next(t.key for t in at.text_input if t.key.startswith("wiz_rules_") and t.key.endswith("_value_text"))
    at.text_input(key=value_key).input("customer").run()
    assert_clean(at)
    expected = _independent_count(str(demo_copy.home_path / "app.db"), "demo", "customer")
    assert 0 < expected < 400
    assert at.metric[0].label == "Contacts in the audience" and at.metric[0].value == f"{expected:,}"
    at.button(key="wiz_next").click().run()
    assert_clean(at)

    # Channels and budget: a split that does not add up is refused with the gap
    at.multiselect(key="wiz_channels").set_value(["email", "x", "google_ads"]).run()
    at.number_input(key="wiz_budget").set_value(3000.0).run()
    at.number_input(key="wiz_split_email").set_value(500.0)
    at.number_input(key="wiz_split_x").set_value(500.0)
    at.number_input(key="wiz_split_google_ads").set_value(1500.0)
    at.button(key="wiz_next").click().run()
    assert "add up to 2,500.00, not the total 3,000.00: add 500.00" in _texts(at)
    assert "Channels and budget" in [h.value for h in at.subheader]
    at.number_input(key="wiz_split_google_ads").set_value(2000.0)
    at.button(key="wiz_next").click().run()
    assert_clean(at)

    # Content: one draft per channel; an X post over 280 characters is refused
    assert "Content" in [h.value for h in at.subheader]
    at.text_area(key="wiz_draft_email").input("Subject: Warm feet, big savings\n\nOur winter boots are 20% off.")
    at.text_area(key="wiz_draft_x").input("x" * 300)
    at.text_area(key="wiz_draft_google_ads").input("Winter boots 20% off | Free returns")
    at.button(key="wiz_next").click().run()
    assert "over x's 280" in _texts(at)
    at.text_area(key="wiz_draft_x").input("Winter boots, 20% off this week only.")
    at.button(key="wiz_next").click().run()
    assert_clean(at)

    # Schedule, in the merchant's time zone (demo: America/New_York)
    assert "America/New_York" in _texts(at)
    at.date_input(key="wiz_start_day").set_value(date(2026, 12, 1))
    at.date_input(key="wiz_end_day").set_value(date(2026, 11, 30)).run()
    assert "end_date must be after start_date" in _texts(at)
    at.date_input(key="wiz_end_day").set_value(date(2026, 12, 31))
    at.button(key="wiz_next").click().run()
    assert_clean(at)

    # Review: the preview shows the whole campaign, then save it
    review = _texts(at)
    assert "Winter boots push" in review and "Ready to save" in review and "tagged 'customer'" in review
    at.button(key="wiz_next").click().run()
    assert_clean(at)
    assert "Saved **Winter boots push**" in at.success[0].value

    with session_scope(store) as s:
        c = campaign_service.get_campaign(s, "demo", campaign_id)
        assert (c.status, c.type.value, c.channels, c.budget) == (CampaignStatus.DRAFT, "CONVERSION", ["email", "x", "google_ads"], Decimal("3000.00"))
        assert c.start_date == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 in New York
        assert c.end_date == datetime(2026, 12, 31, 14, 0, tzinfo=UTC)
        assert c.goals["goal"] == "seasonal_sale" and c.goals["kpi"] == "roas"
        assert c.target_audience["rules"] == {"all": [{"field": "tags", "op": "contains", "value": "customer"}]}
        contents = s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id)).all()
        assert {x.channel: x.status for x in contents} == dict.fromkeys(["email", "x", "google_ads"], ContentStatus.DRAFT)
        assert all(len(x.content_hash) == 64 for x in contents)
        split = {a.channel: a.allocated for a in s.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id == campaign_id))}
        assert split == {"email": Decimal("500.00"), "x": Decimal("500.00"), "google_ads": Decimal("2000.00")}

    # Campaigns: the new campaign is open; an illegal action shows the reason, legal ones need a confirmation
    at.button(key="wiz_open").click().run()
    assert_clean(at)
    assert at.title[0].value == "Campaigns" and at.selectbox(key="campaign_pick").value == campaign_id
    at.switch_page(PAGES["Campaigns"])  # AppTest keeps its own idea of the page; follow the app's st.switch_page
    at.button(key="action_pause").click().run()
    assert "cannot pause a DRAFT campaign: pause needs status ACTIVE" in at.warning[0].value
    at.button(key="action_launch").click().run()
    assert at.button(key="action_confirm").label == "Confirm launch"
    with session_scope(store) as s:  # nothing happens before the confirmation
        assert campaign_service.get_campaign(s, "demo", campaign_id).status is CampaignStatus.DRAFT
    at.button(key="action_confirm").click().run()
    assert_clean(at)
    assert f"is now {CampaignStatus.ACTIVE.value}" in at.success[0].value
    at.button(key="action_pause").click().run()
    at.button(key="action_confirm").click().run()
    with session_scope(store) as s:
        assert campaign_service.get_campaign(s, "demo", campaign_id).status is CampaignStatus.PAUSED
    at.button(key="action_launch").click().run()
    assert "cannot launch a PAUSED campaign" in at.warning[0].value

    # the overview lists its three drafts among everything waiting for approval
    with session_scope(store) as s:
        waiting = len(s.scalars(select(CampaignContent.id).where(CampaignContent.merchant_id == "demo",
                                                                 CampaignContent.status == ContentStatus.DRAFT)).all())
        waiting += len(s.scalars(select(RepurposedContent.id).where(RepurposedContent.merchant_id == "demo",
                                                                    RepurposedContent.status == ContentStatus.DRAFT)).all())
    at.switch_page(PAGES["Overview"]).run()
    assert_clean(at)
    assert waiting >= 3 and f"Needs approval ({waiting})" in [h.value for h in at.subheader]
    assert "Winter boots push" in at.dataframe[-1].value["campaign"].to_list()


@pytest.mark.slow
def test_delete_a_draft_after_confirming(demo_copy, app) -> None:
    at = app(demo_copy)
    at.switch_page(PAGES["Campaigns"]).run()
    at.multiselect(key="campaigns_status").set_value(["DRAFT"]).run()
    at.selectbox(key="campaign_pick").set_value("cmp_demo_19").run()  # a demo draft without dates
    at.button(key="action_launch").click().run()
    assert "cannot launch: set a start date and an end date first" in at.warning[0].value
    at.button(key="action_delete").click().run()
    at.button(key="action_cancel").click().run()
    with session_scope(demo_copy.store_url) as s:
        assert s.get(Campaign, "cmp_demo_19") is not None
    at.button(key="action_delete").click().run()
    assert at.button(key="action_confirm").label == "Confirm delete draft"
    at.button(key="action_confirm").click().run()
    assert_clean(at)
    assert "Deleted the draft" in at.success[0].value
    with session_scope(demo_copy.store_url) as s:
        assert s.get(Campaign, "cmp_demo_19") is None
    assert "cmp_demo_19" not in at.selectbox(key="campaign_pick").options
    # a live campaign offers no delete: the reason says why
    at.multiselect(key="campaigns_status").set_value(["ACTIVE"]).run()
    at.button(key="action_delete").click().run()
    assert "only drafts can be deleted" in at.warning[0].value


@pytest.mark.slow
def test_a_template_prefills_the_wizard(built_home, app) -> None:
    at = app(built_home)
    at.switch_page(PAGES["Templates"]).run()
    at.button(key="tpl_preview_webinar").click().run()
    assert "Preview: Webinar registrations" in [h.value for h in at.subheader]
    at.button(key="tpl_use_webinar").click().run()
    assert_clean(at)
    assert at.title[0].value == "Campaign builder"
    assert "Webinar registrations" in at.info[0].value
    draft = at.session_state["wizard"]
    assert (draft["template_id"], draft["goal"], draft["kpi"], draft["type"]) == ("webinar", "webinar", "signups", "ENGAGEMENT")
    assert draft["channels"] == ["email", "linkedin", "x"]
    assert draft["split"] == {"email": 900.0, "linkedin": 1500.0, "x": 600.0} and draft["budget"] == 3000.0
    assert draft["drafts"]["linkedin"].startswith("Live on [date]")
    assert at.selectbox(key="wiz_template_pick").value == "webinar"
    assert "Webinar registrations" in _texts(at)  # the preview names the template


@pytest.mark.slow
def test_audiences_estimate_matches_an_independent_count_and_saves(demo_copy, app) -> None:
    at = app(demo_copy)
    at.switch_page(PAGES["Audiences"]).run()
    at.button(key="aud_rules_add").click().run()
    value_key = next(t.key for t in at.text_input if t.key.startswith("aud_rules_") and t.key.endswith("_value_text"))
    at.text_input(key=value_key).input("prospect").run()
    assert_clean(at)
    expected = _independent_count(str(demo_copy.home_path / "app.db"), "demo", "prospect")
    sizes = {m.label: m.value for m in at.metric}
    assert sizes["Contacts matching"] == f"{expected:,}"
    # a bad rule in JSON names its path and the page keeps working
    at.toggle(key="aud_rules_json_mode").set_value(True).run()
    at.text_area(key="aud_rules_json_text").input('{"any": [{"field": "shoe_size", "op": "eq", "value": "9"}]}').run()
    assert_clean(at)
    assert plain("rules.any[0].field: unknown field 'shoe_size'") in _texts(at)  # shown as text
    at.text_area(key="aud_rules_json_text").input(json.dumps({"all": [{"field": "tags", "op": "contains", "value": "prospect"}]})).run()
    at.text_input(key="audience_name_None").input("Prospects")
    at.button(key="audience_save").click().run()
    assert_clean(at)
    assert "Saved the segment" in at.success[0].value
    with session_scope(demo_copy.store_url) as s:
        saved = s.scalar(select(Segment).where(Segment.merchant_id == "demo", Segment.name == "Prospects"))
        assert saved.rules == {"all": [{"field": "tags", "op": "contains", "value": "prospect"}]}


@pytest.mark.slow
def test_overview_alerts_on_failed_posts(demo_copy, app) -> None:
    with session_scope(demo_copy.store_url) as s:
        account = s.scalar(select(SocialAccount).where(SocialAccount.merchant_id == "demo", SocialAccount.platform == "x"))
        for i, status in enumerate([QueueStatus.FAILED, QueueStatus.NEEDS_REVIEW, QueueStatus.PUBLISHED]):
            s.add(SocialQueueItem(merchant_id="demo", account_id=account.id, text=f"post {i}", content_hash="0" * 64,
                                  scheduled_at=datetime(2026, 11, 20, tzinfo=UTC), status=status, idempotency_key=f"test-{i}"))
    queries.clear_store_caches()
    at = app(demo_copy)
    assert "1 social post failed and 1 needs review" in "\n".join(w.value for w in at.warning)
