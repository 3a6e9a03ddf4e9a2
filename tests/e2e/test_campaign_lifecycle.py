"""One campaign through its whole life in Chromium, on a fresh store, with the clock under the test's control.

A marketer builds the campaign in the wizard (X and email, a budget split, the wizard's default flight: tomorrow 09:00 for
30 days in the merchant's zone, UTC) and, on its Content step, pastes a blog post and has Leo write two drafts per channel
("Start from a blog post"; the builder saves each as its own campaign content). On the campaign page (Content tab) they
approve both X drafts and the first email draft, schedule the posts at their best slots and make the email an email
campaign, schedule it as a broadcast in the Email Designer, then schedule the campaign. Time then passes: the functions
the Dagster sensors call run in this process with an injected `now` derived from what the store holds (the campaign's
start and end, the posts' slots), never from today:

* `tick_campaigns` at the start activates it; `deliver_due_broadcasts` sends the email through the sandbox provider;
  `run_worker(live=True)` publishes the first post to the fake X over HTTP;
* pause (in the browser) holds the second post: the worker at its slot leaves it queued; resume releases it and the
  worker publishes it;
* the `post_metrics` asset reads the counters back from the fake X; dbt builds `marts.social_post_performance` and
  `marts.email_engagement_daily` (with their staging views only) from them and the store's email events; the
  `campaign_metrics` asset fills the store's `campaign_metrics`; the `serving` asset publishes the marts to the app
  (`marts.campaign_performance_daily`, ad spend and attributed revenue, needs the whole attribution chain over sources a
  fresh organic campaign has none of: it is written empty, as the build would leave it for this campaign);
* the campaign page shows plan vs actual (Budget tab) and each post's engagements (Performance tab); `tick_campaigns` at
  the end completes it.

The app caches store reads for a minute: after each scheduler step the test presses the sidebar's Refresh, as a
marketer would. The campaign page shows plan vs actual (budget per channel) and what the channels delivered (email
sends, post engagements) from `campaign_metrics`.

Clock choice: the app server keeps the real clock (the product has no test-clock hook). The browser steps never depend
on a date the test picks: the flight is the wizard's default relative to the server's today, the post slots are the best
slots inside it (after the start, so in the future for the server: resume releases them), the broadcast is the Email
Designer's default (tomorrow 09:00 = the start). Everything the scheduler does runs here with `now` taken from those
stored instants, so the test passes on any date (also under CAMPAIGNS_TEST_CLOCK_SHIFT_DAYS).

Screenshots of each stage go to the test's temporary folder (printed). Chromium as the other browser tests: skips without
it locally, fails when CI=true.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from assets.dbt_project import dbt_executable
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Campaign, CampaignContent, CampaignMetric, EmailCampaign, SocialQueueItem
from tests.e2e.test_browser import ERRORS, ROOT, SCROLL_TO_TOP, assert_no_errors, browser, chromium, new_tab, open_tab, running_app, settled, sign_in  # noqa: F401
from tests.e2e.test_merchant_onboarding import cli, open_page, stage
from tests.publishers.fake_platforms import FakeX

pytestmark = pytest.mark.slow

MERCHANT, OWNER, PASSWORD = "larch", "owner@larch.example", "the owner's long passphrase"
NAME = "Trail shoes relaunch"
DBT_DIR = ROOT / "dbt_project"
DBT = dbt_executable()  # as the product runs it: dbt behind campaigns-dbt (assets/dbt_guard.py)
POST = ROOT / "tests" / "agents" / "posts" / "short.md"
CONTACTS = "email,first_name,consent_source\nana@example.com,Ana,website form\nbo@example.com,Bo,website form\ncy@example.com,Cy,checkout\n"


def test_one_campaign_runs_through_its_life(chromium: Path, browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    started = time.monotonic()
    home, shots = tmp_path / "home", tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots of the campaign's life: {shots}")
    x = FakeX(access_token="x-access-1").start()
    try:
        env = {"CAMPAIGNS_HOME": str(home), "CAMPAIGNS_DEFAULT_MERCHANT": MERCHANT, "CAMPAIGNS_TOKEN_KEY": Fernet.generate_key().decode(),
               "CAMPAIGNS_X_BASE_URL": x.url(), "CAMPAIGNS_EMAIL_PROVIDER": "sandbox",
               "CAMPAIGNS_PUBLISH_MODE": "live"}  # the posts reach the fake X; their metrics are read back from it
        for name in ("CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE", "CAMPAIGNS_WAREHOUSE_URL", "CAMPAIGNS_PUBLISH_MODE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        env = {**os.environ, **env}
        settings = Settings(home=home)
        run_life(settings, env, x, browser, tmp_path, shots, started)
    finally:
        x.stop()


def run_life(settings: Settings, env: dict[str, str], x: FakeX, browser, tmp_path: Path, shots: Path, started: float) -> None:  # noqa: F811
    # 0. a fresh store: the merchant, its owner, an X account (the fake X's token), three consenting contacts, a segment, templates
    stage(started, "0. a fresh store")
    assert not settings.home_path.exists()
    fresh_merchant(settings, env, tmp_path)

    with running_app(settings.home_path, tmp_path / "streamlit.log") as app:
        tab = new_tab(browser)
        try:
            tab.goto(app)
            settled(tab)
            sign_in(tab, OWNER, PASSWORD)
            tab.locator('[data-testid="stSidebar"]').get_by_text(OWNER).wait_for()
            settled(tab)

            # 1-2. the wizard: X and email, a budget split evenly, Leo's drafts from the blog post (two per channel), the default flight
            stage(started, "1. the wizard, Leo's drafts from the blog post")
            campaign_id = build_in_wizard(tab, shots)
            with session_scope(settings.store_url) as s:
                campaign = s.get(Campaign, campaign_id)
                assert (campaign.status.value, campaign.channels, float(campaign.budget)) == ("DRAFT", ["x", "email"], 1000.0)
                start, end = campaign.start_date, campaign.end_date
                contents = s.scalars(select(CampaignContent).where(CampaignContent.campaign_id == campaign_id).order_by(CampaignContent.id)).all()
                drafts = {f: [c.id for c in contents if c.channel == f] for f in ("x", "email")}
                x_texts = [c.body for c in contents if c.channel == "x"]
                assert {c.status.value for c in contents} == {"DRAFT"}, [(c.id, c.status) for c in contents]
            assert [len(ids) for ids in drafts.values()] == [2, 2], drafts
            assert x_texts[0] != x_texts[1] and all(re.search(r"\bzips?\b", t, re.I) for t in x_texts), x_texts  # Leo's, from the post

            # 3. the campaign page: two X drafts and one email draft approved, the posts scheduled at their best slots
            stage(started, "3. approvals and scheduling on the campaign page")
            approve_and_schedule(tab, shots, drafts)
            with session_scope(settings.store_url) as s:
                posts = s.scalars(select(SocialQueueItem).where(SocialQueueItem.campaign_id == campaign_id).order_by(SocialQueueItem.scheduled_at)).all()
                slots = [p.scheduled_at for p in posts]
                [email] = s.scalars(select(EmailCampaign).where(EmailCampaign.campaign_id == campaign_id)).all()
                email_id = email.id
            assert len(slots) == 2 and start <= slots[0] < slots[1] < end, (start, slots, end)

            # 4. the email broadcast scheduled in the Email Designer (its default: tomorrow 09:00, the flight's start)
            stage(started, "4. the broadcast scheduled")
            schedule_broadcast(tab, shots, email_id)
            with session_scope(settings.store_url) as s:
                email = s.get(EmailCampaign, email_id)
                assert email.status.value == "SCHEDULED" and start <= email.scheduled_at < slots[1], (email.scheduled_at, start)
                send_at = email.scheduled_at

            # 5. the campaign scheduled on its page
            stage(started, "5. the campaign scheduled")
            open_campaign(tab)
            campaign_action(tab, "Schedule")
            assert status_of(settings, campaign_id) == "SCHEDULED"
            tab.screenshot(path=str(shots / "05-scheduled.png"))

            # 6. its start: the tick activates it, the email goes out through the sandbox, the first post to the fake X
            stage(started, "6. the start")
            assert status_of(settings, campaign_id) == "SCHEDULED"
            from pipelines.campaign_status import tick_campaigns
            from pipelines.email_sends import deliver_due_broadcasts
            from campaigns.social.worker import run_worker

            just_before = start - timedelta(minutes=1)
            tick_campaigns(settings, "test-scheduler", just_before)
            assert status_of(settings, campaign_id) == "SCHEDULED"  # not before its start
            result = tick_campaigns(settings, "test-scheduler", start)
            assert result.metadata["activated"] == 1, result
            assert status_of(settings, campaign_id) == "ACTIVE"
            sent = deliver_due_broadcasts(settings, "test-email", max(send_at, start))
            assert sent.metadata["sent"] == 3 and not sent.problems, sent
            assert not x.tweets
            report = run_worker(settings, worker_id="test-publisher", now=slots[0], live=True)
            assert len(x.tweets) == 1, report.summary()
            refresh(tab, "ACTIVE")
            tab.screenshot(path=str(shots / "06-active-first-post-published.png"))

            # 7. pause holds the next post: at its slot the worker leaves it queued
            stage(started, "7. pause")
            campaign_action(tab, "Pause")
            assert status_of(settings, campaign_id) == "PAUSED"
            tab.get_by_text("1 queued items held").first.wait_for()
            tab.screenshot(path=str(shots / "07-paused.png"))
            run_worker(settings, worker_id="test-publisher", now=slots[1], live=True)
            assert len(x.tweets) == 1
            assert post_statuses(settings, campaign_id) == ["PUBLISHED", "QUEUED"]

            # 8. resume releases it (its slot is still ahead for the server's clock), the worker publishes it
            stage(started, "8. resume")
            campaign_action(tab, "Resume")
            assert status_of(settings, campaign_id) == "ACTIVE"
            tab.get_by_text("1 queued items released").first.wait_for()
            tab.screenshot(path=str(shots / "08-resumed.png"))
            run_worker(settings, worker_id="test-publisher", now=slots[1], live=True)
            assert len(x.tweets) == 2
            assert post_statuses(settings, campaign_id) == ["PUBLISHED", "PUBLISHED"]

            # 9. the counters come back from the fake X, the marts and campaign_metrics follow
            stage(started, "9. metrics")
            engagements = fetch_metrics_and_results(settings, {s.date() for s in slots}, x)
            with session_scope(settings.store_url) as s:
                rows = s.scalars(select(CampaignMetric).where(CampaignMetric.campaign_id == campaign_id)).all()
            assert sum(r.social_engagements for r in rows if r.channel == "x") == engagements, [(r.channel, r.social_engagements) for r in rows]

            # 10. the campaign page: plan vs actual, the posts and the email
            stage(started, "10. actual vs plan on the campaign page")
            refresh(tab, "ACTIVE")
            show_results(tab, shots)
            # the grids drawn there (on a canvas) hold what the app's read layer returns for this campaign
            plan, (shown_posts, shown_emails) = read_as_the_page(settings, campaign_id)
            assert plan.select("channel", "allocated", "spent").rows() == [("email", 500.0, 0.0), ("x", 500.0, 0.0)], plan
            assert shown_posts.select("status", "engagements").rows() == [("PUBLISHED", 18), ("PUBLISHED", 6)], shown_posts
            assert [(e["status"], e["sent"]) for e in shown_emails] == [("SENT", 3)], shown_emails

            # 11. its end: the tick completes it
            stage(started, "11. the end")
            tick_campaigns(settings, "test-scheduler", end - timedelta(minutes=1))
            assert status_of(settings, campaign_id) == "ACTIVE"
            result = tick_campaigns(settings, "test-scheduler", end)
            assert result.metadata["completed"] == 1, result
            assert status_of(settings, campaign_id) == "COMPLETED"
            refresh(tab, "COMPLETED")
            assert_no_errors(tab, "the completed campaign")
            tab.screenshot(path=str(shots / "11-completed.png"))
        except BaseException:
            tab.screenshot(path=str(shots / "failed-here.png"))  # where it stopped, for whoever reads the failure
            raise
        finally:
            tab.context.close()
    stage(started, "done")


# --- the fresh store ------------------------------------------------------------------------------
def fresh_merchant(settings: Settings, env: dict[str, str], tmp_path: Path) -> None:
    from campaigns.access import users
    from campaigns.audiences.segments import EVERYONE, save_segment
    from campaigns.core.crypto import cipher_from_settings
    from campaigns.core.merchants import ensure_merchant
    from campaigns.core.store.db import migrate
    from campaigns.email.templates import install_starters
    from campaigns.social.accounts import add_account

    migrate(settings.store_url)
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, MERCHANT, "Larch & Co", timezone="UTC", actor="tests")
        users.add_user(s, OWNER, "tests", display_name="Lee Owner", password=PASSWORD)
        users.grant(s, OWNER, MERCHANT, "owner", "tests")
        add_account(s, MERCHANT, "x", "@larch", actor="tests", access_token="x-access-1", cipher=cipher_from_settings(settings))
        save_segment(s, MERCHANT, "Everyone", EVERYONE, "tests")
        install_starters(s, MERCHANT, actor="tests")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS, encoding="utf-8")
    cli(env, "contacts", "import", str(contacts))


# --- the browser steps ----------------------------------------------------------------------------
def button(tab, key: str):
    return tab.locator(f".st-key-{key} button").first


def build_in_wizard(tab, shots: Path) -> str:
    """The campaign in the builder; on the Content step Leo writes two drafts per channel from the blog post. Returns its id."""
    open_page(tab, "Campaign builder")
    name = tab.get_by_label("Campaign name")
    name.fill(NAME)
    name.press("Enter")
    settled(tab)
    for heading in ("Goal and KPI", "Audience", "Channels and budget"):
        tab.get_by_role("button", name="Next", exact=True).click()
        settled(tab, heading)
    channels = tab.locator('[data-testid="stMultiSelect"]').filter(has_text="Channels")
    for label in ("X", "Email"):
        channels.locator("input").click()
        tab.keyboard.type(label)
        tab.get_by_role("option", name=label, exact=True).click()
        tab.keyboard.press("Escape")
        tab.get_by_role("spinbutton", name=label, exact=True).wait_for()
    budget = tab.get_by_label("Total budget (USD)")
    budget.fill("1000")
    budget.press("Enter")
    tab.get_by_text("of $1,000.00").wait_for()
    tab.get_by_role("button", name="Split evenly", exact=True).click()
    tab.get_by_text("Allocated $1,000.00 of $1,000.00").wait_for()
    settled(tab)
    tab.screenshot(path=str(shots / "01-wizard-channels-and-budget.png"))
    tab.get_by_role("button", name="Next", exact=True).click()
    settled(tab, "Content")
    leo_drafts_from_the_post(tab, shots)
    for heading in ("Schedule", "Review"):
        tab.get_by_role("button", name="Next", exact=True).click()
        settled(tab, heading)
    tab.get_by_text("Ready to save").wait_for()
    assert_no_errors(tab, "the wizard's review")
    tab.screenshot(path=str(shots / "02-wizard-review.png"))
    tab.get_by_role("button", name="Save campaign", exact=True).click()
    saved = tab.locator('[data-testid="stAlertContentSuccess"]', has_text=NAME)
    saved.wait_for()
    text = saved.inner_text()
    return text[text.index("(cmp_") + 1:text.index(")", text.index("(cmp_"))]


def leo_drafts_from_the_post(tab, shots: Path) -> None:
    """The Content step's "Start from a blog post": the post pasted, two drafts per channel, Leo writes them into the fields."""
    post = tab.get_by_label("Blog post (Markdown, HTML or plain text)")
    post.fill(POST.read_text(encoding="utf-8"))
    post.press("Control+Enter")  # Streamlit takes a text area's value on Ctrl+Enter (or blur)
    variations = tab.get_by_role("spinbutton", name="Drafts per channel", exact=True)
    variations.fill("2")
    variations.press("Enter")
    write = tab.get_by_role("button", name="Write drafts with Leo", exact=True)
    expect_enabled(write)
    settled(tab)
    write.click()
    tab.get_by_text("Leo wrote 4 draft(s) from the post").wait_for()  # two X posts, two emails
    settled(tab)
    tab.get_by_role("textbox", name="X · draft 2", exact=True).wait_for()
    tab.get_by_role("textbox", name="Email · draft 2", exact=True).wait_for()
    assert_no_errors(tab, "Leo's drafts in the builder")
    tab.get_by_text("Leo wrote 4 draft(s)").first.evaluate(SCROLL_TO_TOP)
    tab.screenshot(path=str(shots / "02-wizard-leo-drafts.png"))


def expect_enabled(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_enabled()


def approve_and_schedule(tab, shots: Path, drafts: dict[str, list[int]]) -> None:
    """On the campaign page's Content tab: approve both X drafts and the first email draft; schedule each post at its best slot
    and make the email an email campaign (the Everyone segment, the first template with a content slot the form offers)."""
    tab.get_by_role("button", name="Open in Campaigns", exact=True).click()  # the builder's way to the saved campaign
    settled(tab, "Campaigns")
    tab.get_by_role("heading", name=NAME).wait_for()
    content_tab(tab)
    for cc in drafts["x"] + drafts["email"]:
        button(tab, f"approve_{cc}").wait_for()  # four drafts, each to approve on its own
    tab.screenshot(path=str(shots / "03-drafts-to-approve.png"))
    for cc in [*drafts["x"], drafts["email"][0]]:
        content_tab(tab)
        button(tab, f"approve_{cc}").click()
        # an approved draft gets its way onto its channel (in a folded expander: in the page, not visible)
        action = "email" if cc in drafts["email"] else "schedule"
        tab.locator(f".st-key-campaign_cc_{cc}_{action}").wait_for(state="attached")
        settled(tab)
    content_tab(tab)
    assert button(tab, f"approve_{drafts['email'][1]}").is_visible()  # the other email variation stays a draft
    channel_heading(tab, "X").evaluate(SCROLL_TO_TOP)
    tab.screenshot(path=str(shots / "03-drafts-approved.png"))
    for cc in drafts["x"]:
        content_tab(tab)
        open_expander(tab, f"campaign_cc_{cc}_schedule")
        settled(tab)
        click_for(tab, button(tab, f"campaign_cc_{cc}_schedule"), tab.get_by_text(f"Queued cc-{cc} as post"))
        settled(tab)
    content_tab(tab)
    channel_heading(tab, "X").evaluate(SCROLL_TO_TOP)
    tab.screenshot(path=str(shots / "03-x-scheduled.png"))
    cc = drafts["email"][0]
    content_tab(tab)
    open_expander(tab, f"campaign_cc_{cc}_email")
    settled(tab)
    made = tab.get_by_text(re.compile(r"email campaign \d+ \(a DRAFT\) from"))
    click_for(tab, button(tab, f"campaign_cc_{cc}_email"), made)
    assert_no_errors(tab, "making the email campaign")
    made.wait_for()
    tab.screenshot(path=str(shots / "03-email-made.png"))


def click_for(tab, target, outcome, tries: int = 3) -> None:
    """Click `target` until `outcome` (or an error the app shows instead) appears.

    On a machine busy with other test workers a click sometimes reaches the page while Streamlit is re-rendering and is
    dropped (the button is there, no run follows, nothing is shown). A click that did run shows its note or an error, and
    is never repeated: the step's own idempotence is not what this relies on.
    """
    for attempt in range(tries):
        target.click()
        try:
            outcome.or_(tab.locator(ERRORS)).first.wait_for(timeout=20_000)
            break
        except Exception:  # nothing at all came of the click: settle and click again
            if attempt == tries - 1:
                raise
            settled(tab)
    settled(tab)
    assert_no_errors(tab, "after a click on the campaign page")
    outcome.wait_for()


def channel_heading(tab, label: str):
    """A channel's heading in the campaign page's Content tab."""
    return tab.locator('[data-testid="stMarkdownContainer"]').filter(has_text=re.compile(rf"^\s*{label}\s*$")).first


def content_tab(tab) -> None:
    open_tab(tab, "Content", exact=True)


def open_expander(tab, key: str) -> None:
    """Unfold the expander holding the element of `key` (its content is in the page while folded, not visible)."""
    expander = tab.locator('[data-testid="stExpander"]').filter(has=tab.locator(f".st-key-{key}"))
    if expander.locator("details").get_attribute("open") is None:
        expander.locator("summary").click()
    tab.locator(f".st-key-{key}").wait_for()


def schedule_broadcast(tab, shots: Path, email_id: int) -> None:
    open_page(tab, "Email Designer")
    tab.get_by_role("tab", name="Broadcasts").first.click()
    settled(tab)
    button(tab, "bc_schedule").click()
    settled(tab)
    tab.get_by_role("button", name="Yes, schedule", exact=True).click()
    tab.get_by_text(f"Broadcast #{email_id} is SCHEDULED").first.wait_for()
    settled(tab)
    tab.get_by_role("tab", name="Broadcasts").first.click()
    tab.get_by_text(f"#{email_id} ").filter(has_text="SCHEDULED").first.wait_for()
    tab.screenshot(path=str(shots / "04-broadcast-scheduled.png"))


def open_campaign(tab) -> None:
    open_page(tab, "Campaigns")
    tab.get_by_role("heading", name=NAME).wait_for()


def campaign_action(tab, label: str) -> None:
    """Press a lifecycle button on the campaign page and confirm it; wait for the flash saying what happened."""
    button(tab, f"action_{label.lower()}").click()
    settled(tab)
    tab.get_by_role("button", name=f"Confirm {label.lower()}", exact=True).click()
    tab.locator('[data-testid="stAlertContentSuccess"]', has_text="is now").first.wait_for()
    settled(tab)
    assert_no_errors(tab, f"the campaign after {label}")


def refresh(tab, status: str) -> None:
    """The campaign page after the scheduler changed the store outside the app, showing `status`: the sidebar's Refresh
    reads the store again (the app caches its reads for a minute)."""
    tab.locator('[data-testid="stSidebar"]').get_by_role("button", name="Refresh", exact=True).click()
    settled(tab)
    open_campaign(tab)
    tab.locator('[data-testid="stMarkdownContainer"]').filter(has_text=re.compile(rf"{status}\s+Conversion\s+cmp_")).first.wait_for()
    settled(tab)


def show_results(tab, shots: Path) -> None:
    """Plan vs actual (Budget tab) and the posts with the engagement read back from X (Performance tab)."""
    open_tab(tab, "Budget", exact=True)
    tab.get_by_text("Plan vs actual").first.wait_for()
    tab.get_by_text("Planned $1,000 · spent $0 (0%)").wait_for()  # organic channels: nothing spent of the plan
    engagements = tab.locator('[data-testid="stMetric"]').filter(has_text="Post engagements")
    engagements.locator('[data-testid="stMetricValue"]').filter(has_text=re.compile(r"^\s*24\s*$")).wait_for()  # 18 + 6 from the fake X
    assert_no_errors(tab, "the Budget tab")
    tab.get_by_text("Plan vs actual").first.evaluate(SCROLL_TO_TOP)
    tab.screenshot(path=str(shots / "10-plan-vs-actual.png"))
    open_tab(tab, "Performance", exact=True)
    tab.get_by_text("Posts of this campaign").first.wait_for()
    assert_no_errors(tab, "the Performance tab")
    tab.get_by_text("Posts of this campaign").first.evaluate(SCROLL_TO_TOP)
    tab.screenshot(path=str(shots / "10-posts.png"))


# --- the store and the pipeline -------------------------------------------------------------------
def read_as_the_page(settings: Settings, campaign_id: str):
    """The campaign page's plan vs actual, its posts (Performance tab) and its emails (Summary tab), from the read functions the page calls."""
    from campaigns.core.settings import get_settings
    from dashboards import queries

    get_settings.cache_clear()  # this process's settings: the test's home
    assert queries.settings().home_path == settings.home_path
    return (queries.campaign_plan_vs_actual(queries.source(), MERCHANT, campaign_id),
            (queries.campaign_posts(queries.source(), MERCHANT, campaign_id),
             queries.email_broadcasts(queries.source(), MERCHANT, campaign_id, every_kind=True)))


def status_of(settings: Settings, campaign_id: str) -> str:
    with session_scope(settings.store_url) as s:
        return s.get(Campaign, campaign_id).status.value


def post_statuses(settings: Settings, campaign_id: str) -> list[str]:
    with session_scope(settings.store_url) as s:
        return [p.status.value for p in s.scalars(select(SocialQueueItem).where(SocialQueueItem.campaign_id == campaign_id)
                                                  .order_by(SocialQueueItem.scheduled_at))]


def fetch_metrics_and_results(settings: Settings, days: set[date], x: FakeX) -> int:
    """What the pipeline does after the posts went out, on this home: the `post_metrics` asset for each publish day (the fake
    X answers each post's public_metrics), the store's email events snapshot, dbt for the social and email engagement marts
    (and their staging views only), then the `campaign_metrics` asset. Returns the engagements the fake X reported.

    `marts.campaign_performance_daily` (ad spend and attributed revenue) needs the whole attribution chain over the ad and
    web-analytics sources, none of which a fresh merchant with an organic campaign has: it is written empty here, as the
    build would leave it for this merchant, so the asset reads all three marts it reads in production.
    """
    import dagster as dg
    import polars as pl
    import time_machine

    from assets.ingest.post_metrics import post_metrics_asset
    from assets.ingest.raw_tables import raw_email_events
    from assets.resources import CampaignsResource
    from assets.results.campaign_metrics import campaign_metrics
    from tests.merchant_runs import materialize_for
    from assets.serving.snapshots import serving_asset
    from campaigns.warehouse.connection import open_warehouse

    counters = [{"impression_count": 900, "like_count": 12, "retweet_count": 3, "reply_count": 2, "quote_count": 1},
                {"impression_count": 400, "like_count": 5, "retweet_count": 1, "reply_count": 0, "quote_count": 0}]
    for tweet, metrics in zip(x.tweets, counters, strict=True):
        tweet["public_metrics"] = metrics
    expected = sum(m["like_count"] + m["retweet_count"] + m["reply_count"] + m["quote_count"] for m in counters)

    resource = CampaignsResource(home=str(settings.home_path))
    fetch = post_metrics_asset(min(days))
    # the day after the last post: the daily partitions of the publish days exist (they end at "now")
    with time_machine.travel(datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=6), tick=False):
        for day in sorted(days):
            assert dg.materialize([fetch], partition_key=day.isoformat(), resources={"campaigns": resource}).success
    assert dg.materialize([raw_email_events], resources={"campaigns": resource}).success
    fetched = [r for r in x.requests if r["method"] == "GET" and r["path"].startswith("/2/tweets/")]
    assert len(fetched) == 2, x.requests  # each published post's counters were asked for

    work = settings.home_path / "dbt-test"
    result = subprocess.run(
        [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--select", "+social_post_performance", "+email_engagement_daily"],
        env={**os.environ, **settings.dbt_env()}, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    open_warehouse(settings).replace_table("marts", "campaign_performance_daily", pl.DataFrame(schema={
        "merchant_id": pl.String, "campaign_id": pl.String, "channel": pl.String, "activity_date": pl.Date, "attribution_model": pl.String,
        "impressions": pl.Int64, "clicks": pl.Int64, "conversions": pl.Float64, "spend": pl.Float64, "revenue": pl.Float64}))
    assert materialize_for([campaign_metrics], [settings.default_merchant], {"campaigns": resource}).success
    assert dg.materialize([serving_asset([])], resources={"campaigns": resource}).success  # the marts as the app reads them
    return expected
