"""The Campaign builder page for a new merchant (no demo, no marts needed): templates, audiences, splits, refusals.

The page reads only the store, so these run on a fresh home with one merchant.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from campaigns.audiences.segments import save_segment
from campaigns.core.enums import CampaignStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import Settings, get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import BudgetAllocation, Campaign
from campaigns.lifecycle import service as campaign_service
from dashboards import queries
from tests.dashboards.helpers import PAGES, assert_clean


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def acme(home) -> Settings:
    settings = get_settings()
    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, "acme", "Acme", timezone="Europe/Berlin")
    queries.clear_store_caches()
    return settings


@pytest.fixture
def builder(acme: Settings, app: Callable[[Settings], AppTest]) -> AppTest:
    at = app(acme)
    at.switch_page(PAGES["Campaign builder"]).run()
    assert_clean(at)
    assert at.title[0].value == "Campaign builder"
    return at


def _next(at: AppTest) -> AppTest:
    at.button(key="wiz_next").click().run()
    assert_clean(at)
    return at


def _to_step(at: AppTest, name: str, step: str) -> None:
    at.text_input(key="wiz_name").input(name)
    while step not in [h.value for h in at.subheader]:
        _next(at)


def _campaign(store: str, name: str) -> Campaign:
    with session_scope(store) as s:
        c = s.scalar(select(Campaign).where(Campaign.merchant_id == "acme", Campaign.name == name))
        assert c is not None
        s.expunge(c)
        return c


def test_applying_a_template_keeps_the_name_and_start_over_clears_it(builder: AppTest) -> None:
    at = builder
    at.text_input(key="wiz_name").input("Spring launch")
    at.selectbox(key="wiz_template_pick").set_value("product_launch").run()
    at.button(key="wiz_template_apply").click().run()
    assert_clean(at)
    draft = at.session_state["wizard"]
    assert draft["template_id"] == "product_launch" and draft["name"] == "Spring launch"
    assert draft["channels"] == ["google_ads", "meta_ads", "instagram", "x", "email"]
    assert at.button(key="wiz_template_apply").disabled  # the template in use: nothing to apply
    assert "Spring launch" in _texts(at)  # the preview
    at.button(key="wiz_start_over").click().run()
    assert_clean(at)
    assert at.session_state["wizard"]["name"] == "" and at.session_state["wizard"]["channels"] == []
    assert at.text_input(key="wiz_name").value == ""


def test_audience_without_segments_or_accounts_says_where_to_make_them_then_uses_a_saved_segment(builder: AppTest, acme: Settings) -> None:
    at = builder
    _to_step(at, "Audience test", "Audience")
    at.radio(key="wiz_audience_mode").set_value("saved").run()
    assert_clean(at)
    assert "No saved segments yet" in at.info[0].value and "Audiences" in at.info[0].value
    assert "No social accounts connected" in _texts(at)
    assert at.session_state["wizard"]["rules"] == {"all": []}  # falls back to every contact

    with session_scope(acme.store_url) as s:
        save_segment(s, "acme", "VIPs", {"all": [{"field": "tags", "op": "contains", "value": "vip"}]}, actor="test")
    queries.clear_store_caches()
    at.run()
    assert_clean(at)
    assert at.selectbox(key="wiz_segment").format_func(at.selectbox(key="wiz_segment").value) == "VIPs"
    assert "Contacts who are tagged 'vip'" in _texts(at)
    draft = at.session_state["wizard"]
    assert (draft["segment_name"], draft["rules"]) == ("VIPs", {"all": [{"field": "tags", "op": "contains", "value": "vip"}]})
    assert "segment “VIPs”" in _texts(at)  # the preview names it
    assert at.metric[0].label == "Contacts in the audience" and at.metric[0].value == "0"


def test_split_evenly_and_the_templates_split_fill_the_channel_amounts(builder: AppTest) -> None:
    at = builder
    at.selectbox(key="wiz_template_pick").set_value("webinar").run()
    at.button(key="wiz_template_apply").click().run()
    _to_step(at, "Webinar push", "Channels and budget")
    at.number_input(key="wiz_budget").set_value(1000.0).run()
    at.button(key="wiz_split_even").click().run()
    assert_clean(at)
    assert [at.number_input(key=f"wiz_split_{c}").value for c in ("email", "linkedin", "x")] == [333.34, 333.33, 333.33]
    assert "Allocated $1,000.00 of $1,000.00" in at.get("progress")[-1].proto.text
    at.button(key="wiz_split_template").click().run()
    assert_clean(at)
    assert [at.number_input(key=f"wiz_split_{c}").value for c in ("email", "linkedin", "x")] == [300.0, 500.0, 200.0]
    _next(at)
    assert "Content" in [h.value for h in at.subheader]
    with session_scope(get_settings().store_url) as s:  # saved on the step change
        c = s.scalar(select(Campaign).where(Campaign.merchant_id == "acme", Campaign.name == "Webinar push"))
        split = {a.channel: float(a.allocated) for a in s.scalars(select(BudgetAllocation).where(BudgetAllocation.campaign_id == c.id))}
    assert split == {"email": 300.0, "linkedin": 500.0, "x": 200.0}


def test_content_without_channels_points_back(builder: AppTest) -> None:
    at = builder
    _to_step(at, "No channels", "Channels and budget")
    at.button(key="wiz_next").click().run()  # refused: no channel, no budget
    assert "choose at least one channel" in _texts(at) and "set a total budget above zero" in _texts(at)
    at.button(key="wiz_back").click().run()
    at.button(key="wiz_back").click().run()
    assert "Goal and KPI" in [h.value for h in at.subheader]
    draft = at.session_state["wizard"]
    draft["step"] = 4  # the Content step, as a reopened half-built draft may be
    at.run()
    assert_clean(at)
    assert "Choose channels in the previous step first" in at.info[0].value


def test_a_name_in_use_is_flagged_on_the_name_until_it_changes(builder: AppTest, acme: Settings) -> None:
    with session_scope(acme.store_url) as s:
        campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Taken", type="AWARENESS"), actor="test")
    at = builder
    at.text_input(key="wiz_name").input("Taken")
    _next(at)
    assert "Basics" in [h.value for h in at.subheader]  # stays on the step
    assert "already exists" in _texts(at)
    at.text_input(key="wiz_name").input("Taken 2")
    at.run()
    assert "already exists" not in _texts(at)
    _next(at)
    assert "Goal and KPI" in [h.value for h in at.subheader]
    assert _campaign(acme.store_url, "Taken 2").status is CampaignStatus.DRAFT


def test_a_draft_launched_elsewhere_is_not_overwritten(builder: AppTest, acme: Settings) -> None:
    at = builder
    _to_step(at, "Launched elsewhere", "Goal and KPI")
    campaign_id = at.session_state["wizard"]["campaign_id"]
    with session_scope(acme.store_url) as s:
        s.get(Campaign, campaign_id).status = CampaignStatus.SCHEDULED
    at.number_input(key="wiz_target").set_value(5.0)
    at.button(key="wiz_save").click().run()
    assert_clean(at)
    assert any("Could not save the draft" in w.value and "Change it from Campaigns" in w.value for w in at.warning)
    with session_scope(acme.store_url) as s:
        assert s.get(Campaign, campaign_id).goals.get("target", 0) == 0  # nothing written


def test_save_draft_flashes_the_id_and_the_finished_screen_starts_another(builder: AppTest, acme: Settings) -> None:
    at = builder
    assert at.button(key="wiz_save").disabled  # nothing to save without a name
    at.text_input(key="wiz_name").input("Saved early").run()
    at.button(key="wiz_save").click().run()
    assert_clean(at)
    campaign_id = _campaign(acme.store_url, "Saved early").id
    assert f"Draft saved as {campaign_id}." in at.success[0].value
    assert f"Draft {campaign_id} saved" in _texts(at)
    at.session_state["wizard"]["finished"] = True  # as after "Save campaign" on the Review step
    at.run()
    assert f"Saved **Saved early** ({campaign_id})" in at.success[0].value
    at.button(key="wiz_again").click().run()
    assert_clean(at)
    assert at.session_state["wizard"]["campaign_id"] is None and "Basics" in [h.value for h in at.subheader]


def _webinar_at_content(at: AppTest, name: str) -> None:
    """The webinar template (email, LinkedIn, X) named `name`, a budget split evenly, on the Content step."""
    at.selectbox(key="wiz_template_pick").set_value("webinar").run()
    at.button(key="wiz_template_apply").click().run()
    _to_step(at, name, "Channels and budget")
    at.number_input(key="wiz_budget").set_value(900.0).run()
    at.button(key="wiz_split_even").click().run()
    _next(at)
    assert "Content" in [h.value for h in at.subheader]


def test_leo_writes_the_content_step_from_a_blog_post_and_the_drafts_are_saved_with_the_campaign(builder: AppTest, acme: Settings) -> None:
    from pathlib import Path

    from campaigns.core.store.models import CampaignContent

    post = (Path(__file__).parents[1] / "agents" / "leo" / "corpus" / "07-product-launch.md").read_text(encoding="utf-8")
    at = builder
    _webinar_at_content(at, "From the blog")
    at.text_area(key="wiz_blog_post").input(post).run()
    at.button(key="wiz_leo").click().run()
    assert_clean(at)
    drafts = {c: at.text_area(key=f"wiz_draft_{c}").value for c in ("email", "linkedin", "x")}
    assert drafts["email"].startswith("Subject: ") and "\nPreview: " in drafts["email"]
    assert drafts["x"] and drafts["linkedin"] and drafts["x"] != drafts["linkedin"]
    assert not any("--- html ---" in d for d in drafts.values())
    _next(at)  # the step change saves the campaign with its drafts, waiting for approval
    campaign = _campaign(acme.store_url, "From the blog")
    with session_scope(acme.store_url) as s:
        saved = {c.platform or c.channel: c.body for c in s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign.id))}
    assert saved["x"] == drafts["x"] and saved["linkedin"] == drafts["linkedin"]


def test_leo_writes_several_drafts_per_channel_and_each_is_saved_on_its_own(builder: AppTest, acme: Settings) -> None:
    from pathlib import Path

    from campaigns.core.store.models import CampaignContent

    post = (Path(__file__).parents[1] / "agents" / "leo" / "corpus" / "07-product-launch.md").read_text(encoding="utf-8")
    at = builder
    _webinar_at_content(at, "Two of each")
    at.text_area(key="wiz_blog_post").input(post).run()
    at.number_input(key="wiz_leo_variations").set_value(2).run()
    at.button(key="wiz_leo").click().run()
    assert_clean(at)
    assert "Leo wrote 6 draft(s)" in at.success[0].value  # two per channel: email, LinkedIn, X
    drafts = {c: [at.text_area(key=f"wiz_draft_{c}").value, at.text_area(key=f"wiz_draft_{c}_2").value] for c in ("email", "linkedin", "x")}
    assert all(first and second and first != second for first, second in drafts.values()), drafts
    assert drafts["email"][1].startswith("Subject: ")
    # a third X post written by hand; an emptied LinkedIn variation is dropped
    at.button(key="wiz_more_x").click().run()
    at.text_area(key="wiz_draft_x_3").input("Our own words: the launch is on.").run()
    at.text_area(key="wiz_draft_linkedin_2").input("").run()
    assert at.dataframe[0].value.set_index("channel").loc["X", "draft"].endswith("(+2 more)")  # the preview counts the further drafts
    _next(at)
    campaign = _campaign(acme.store_url, "Two of each")
    with session_scope(acme.store_url) as s:
        saved: dict[str, list[str]] = {}
        for c in s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign.id).order_by(CampaignContent.id)):
            saved.setdefault(c.channel, []).append(c.body)
    assert saved == {"email": drafts["email"], "linkedin": drafts["linkedin"][:1], "x": [*drafts["x"], "Our own words: the launch is on."]}
    # back on the Content step (its widgets were gone on the Schedule step), the further drafts are there again
    at.button(key="wiz_back").click().run()
    assert at.text_area(key="wiz_draft_x_3").value == "Our own words: the launch is on."
    assert_clean(at)


def test_a_blog_post_leo_cannot_read_is_said_and_the_drafts_stay(builder: AppTest) -> None:
    at = builder
    _webinar_at_content(at, "Empty post")
    before = {c: at.text_area(key=f"wiz_draft_{c}").value for c in ("email", "linkedin", "x")}  # the template's starting drafts
    at.text_area(key="wiz_blog_post").input("# Only a title").run()
    at.button(key="wiz_leo").click().run()
    assert "no paragraphs" in at.error[0].value
    assert {c: at.text_area(key=f"wiz_draft_{c}").value for c in ("email", "linkedin", "x")} == before
