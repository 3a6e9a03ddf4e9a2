"""Approved drafts onto their channels from the Content Studio and the campaign page (AppTest, a real store): schedule a post,
make an email campaign, download the ads files; a viewer sees none of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from agents.leo.finish import render_email
from agents.leo.outputs import Output
from agents.leo.store import approve_repurposed, save_outputs
from campaigns.access.roles import Role
from campaigns.audiences.segments import save_segment
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import EmailCampaign, SocialQueueItem
from campaigns.email.templates import install_starters
from campaigns.lifecycle import service
from campaigns.social.accounts import add_account
from tests.dashboards.helpers import APP, assert_clean, point_at, signed_in

STUDIO, CAMPAIGNS = "views/studio.py", "views/campaigns.py"
# relative to the real date, so the chosen times are always ahead (the app's date picker starts from today)
FIRST_DAY = date.today() + timedelta(days=3)


def _outputs() -> list[Output]:
    html, text = render_email(subject="Winter is here", preview="Stay warm", paragraphs=["Cold days ahead."], bullets=[], cta="Read it",
                              url="https://acme.example/winter", language="en", title="Winter")
    common = {"variant": 1, "angle": "benefit", "engine": "offline", "source_sentences": []}
    return [Output(format="x", text="Winter is here, stay warm", **common),
            Output(format="email", subject="Winter is here", preview_text="Stay warm", html=html, text=text, **common),
            Output(format="ads", headlines=["Winter gear", "Stay warm", "Shop now"], descriptions=["Warm coats.", "Free returns."],
                   primary_text="Stay warm this winter", final_url="https://acme.example/winter", **common)]


@pytest.fixture
def store(home: Path) -> dict[str, object]:
    """Campaign Winter with an approved post, email and ads draft, an x account, a segment and the starter templates."""
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        start = datetime.combine(FIRST_DAY, time(0), UTC)
        campaign = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["x", "email"], budget=Decimal("100"),
                                                                            start_date=start, end_date=start + timedelta(days=20)), actor="ana")
        saved = save_outputs(s, "acme", _outputs(), source_title="Winter post", source_url=None, source_hash="h", engine="offline", actor="leo",
                             campaign_id=campaign.id)
        for item in saved:
            approve_repurposed(s, "acme", item.repurposed_id, "bo")
        account = add_account(s, "acme", "x", "@acme", actor="ana", timezone="Europe/Berlin")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        install_starters(s, "acme")
        return {"url": url, "campaign": campaign.id, "account": account.id, "segment": segment.id,
                **{f"{i.format}_rc": i.repurposed_id for i in saved}, **{f"{i.format}_cc": i.content_id for i in saved}}


def _app(monkeypatch: pytest.MonkeyPatch, email: str = "owner@example.com", role: Role = Role.OWNER) -> AppTest:
    point_at(monkeypatch, get_settings())
    at = signed_in(AppTest.from_file(APP, default_timeout=60), get_settings(), email, {"acme": role})
    at.run()
    assert_clean(at)
    return at


def _flash(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("success", "warning") for e in getattr(at, kind))


def test_the_studio_schedules_a_post_makes_an_email_and_exports_the_ads(store, monkeypatch) -> None:
    at = _app(monkeypatch)
    at.switch_page(STUDIO).run()
    assert_clean(at)
    post = f"studio_cc_{store['x_rc']}"
    at.selectbox(key=f"{post}_account").set_value(store["account"])
    at.radio(key=f"{post}_when").set_value("Chosen time").run()
    at.date_input(key=f"{post}_day").set_value(FIRST_DAY + timedelta(days=1))
    at.time_input(key=f"{post}_time").set_value(time(10, 0))
    at.button(key=f"{post}_schedule").click().run()
    assert_clean(at)
    assert f"Queued cc-{store['x_cc']}" in _flash(at) and "at the time given" in _flash(at)
    with session_scope(store["url"]) as s:
        item = s.scalars(select(SocialQueueItem)).one()
        # 10:00 in Berlin, the account's time zone
        assert item.content_id == store["x_cc"] and item.scheduled_at.date() == FIRST_DAY + timedelta(days=1) and item.scheduled_at.hour in (8, 9)

    mail = f"studio_cc_{store['email_rc']}"
    assert at.selectbox(key=f"{mail}_template").value == "Article"
    at.selectbox(key=f"{mail}_segment").set_value(store["segment"])
    at.button(key=f"{mail}_email").click().run()
    assert_clean(at)
    assert "in template 'Article'" in _flash(at)
    at.button(key=f"{mail}_email").click().run()
    assert "already became email campaign" in _flash(at)
    with session_scope(store["url"]) as s:
        assert [(e.source_content_id, e.campaign_id) for e in s.scalars(select(EmailCampaign))] == [(store["email_cc"], store["campaign"])]

    assert not at.get("download_button")
    at.button(key=f"studio_ads_{store['ads_rc']}_export").click().run()
    assert_clean(at)
    assert len(at.get("download_button")) == 2


def test_the_campaign_page_offers_the_same_and_a_refused_draft_says_why(store, monkeypatch) -> None:
    at = _app(monkeypatch)
    at.switch_page(CAMPAIGNS).run()
    assert_clean(at)
    assert "**Send approved drafts**" in {m.value for m in at.markdown}
    mail = f"campaign_cc_{store['email_cc']}"
    at.selectbox(key=f"{mail}_template").set_value("Newsletter")
    at.button(key=f"{mail}_email").click().run()
    assert "no {{ content }} slot" in _flash(at).replace("\\", "")  # shown escaped, with the fix
    at.selectbox(key=f"{mail}_template").set_value("Article")
    at.button(key=f"{mail}_email").click().run()
    assert "in template 'Article'" in _flash(at)
    at.button(key=f"campaign_ads_{store['campaign']}_export").click().run()
    assert len(at.get("download_button")) == 2
    assert at.button(key=f"campaign_cc_{store['x_cc']}_schedule")  # best time by default


def test_a_viewer_sees_no_channel_actions(store, monkeypatch) -> None:
    at = _app(monkeypatch, "viewer@example.com", Role.VIEWER)
    for page in (STUDIO, CAMPAIGNS):
        at.switch_page(page).run()
        assert_clean(at)
        keys = {getattr(w, "key", None) or "" for kind in ("button", "selectbox", "radio") for w in getattr(at, kind)}
        assert not [k for k in keys if k.endswith(("_schedule", "_email", "_export"))], keys
    # marketers put approved content on its channels; an approver signs off, but does not edit or schedule
    wanted = {f"campaign_cc_{store['email_cc']}_email", f"campaign_ads_{store['campaign']}_export", f"campaign_cc_{store['x_cc']}_schedule"}
    for role, shown in ((Role.MARKETER, wanted), (Role.APPROVER, set())):
        at = _app(monkeypatch, f"{role.value}@example.com", role)
        at.switch_page(CAMPAIGNS).run()
        assert_clean(at)
        assert {w.key for w in at.button} & wanted == shown
