"""The campaign page's plan vs actual, its posts and its emails (listed once), on a fresh store with hand-written results."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from campaigns.core.enums import EmailCampaignStatus, QueueStatus
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import (BudgetAllocation, CampaignMetric, EmailCampaign, EmailSend, EmailSendStatus, SocialAccount,
                                        SocialQueueItem)
from campaigns.lifecycle import service as svc
from tests.dashboards.helpers import assert_clean

PAGE = "views/campaigns.py"


def test_budget_tab_shows_allocated_against_spent_and_the_campaigns_posts_and_emails(home, app) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "demo")
        cid = svc.create_campaign(s, "demo", svc.CampaignInput(name="Spring <b>sale</b>", type="CONVERSION", budget=1500), actor="t").id
        s.add_all([BudgetAllocation(merchant_id="demo", campaign_id=cid, channel="google_ads", allocated=Decimal("1000")),
                   BudgetAllocation(merchant_id="demo", campaign_id=cid, channel="email", allocated=Decimal("500"))])
        for day, spend, revenue in ((1, "100", "300"), (2, "150", "0")):
            s.add(CampaignMetric(merchant_id="demo", campaign_id=cid, channel="google_ads", date=date(2026, 6, day), spend=Decimal(spend),
                                 revenue=Decimal(revenue), conversions=2, impressions=1000 * day, clicks=30))
            s.add(CampaignMetric(merchant_id="demo", campaign_id=cid, channel="email", date=date(2026, 6, day), email_sends=40 if day == 1 else 0,
                                 email_opens=12 + day, email_clicks=day))
            s.add(CampaignMetric(merchant_id="demo", campaign_id=cid, channel="x", date=date(2026, 6, day), social_engagements=18 if day == 1 else 6))
        account = SocialAccount(merchant_id="demo", platform="x", handle="@shop")
        s.add(account)
        s.flush()
        s.add(SocialQueueItem(merchant_id="demo", account_id=account.id, campaign_id=cid, text="New arrivals", content_hash="0" * 64,
                              idempotency_key="k", status=QueueStatus.PUBLISHED, scheduled_at=datetime(2026, 6, 1, 9, tzinfo=UTC)))
        email = EmailCampaign(merchant_id="demo", campaign_id=cid, subject="Spring is here", status=EmailCampaignStatus.SENT)
        s.add(email)
        s.flush()
        outcomes = [EmailSendStatus.SENT] * 40 + [EmailSendStatus.FAILED] + [EmailSendStatus.SUPPRESSED] * 2
        s.add_all(EmailSend(merchant_id="demo", email_campaign_id=email.id, email=f"c{n}@example.com", idempotency_key=f"send-{n}", status=status)
                  for n, status in enumerate(outcomes))
    at = app(get_settings())
    at.switch_page(PAGE).run()
    at.selectbox(key="campaign_pick").set_value(cid).run()
    assert_clean(at)
    plan = next(d.value for d in at.dataframe if "used" in d.value.columns)
    rows = {r["channel"]: r for r in plan.to_dict("records")}  # AppTest hands tables back as pandas
    assert rows["google_ads"]["allocated"] == 1000 and rows["google_ads"]["spent"] == 250 and rows["google_ads"]["used"] == 0.25
    assert rows["google_ads"]["roas"] == 300 / 250 and rows["email"]["spent"] == 0 and rows["email"]["roas"] != rows["email"]["roas"]  # NaN: no ratio without spend
    posts = next(d.value for d in at.dataframe if "platform" in d.value.columns)
    assert posts["text"].to_list() == ["New arrivals"] and posts["status"].to_list() == ["PUBLISHED"]
    # the emails are listed once on the page (the Summary's Emails), with their results from the send ledger
    [emails] = [d.value for d in at.dataframe if "subject" in d.value.columns]
    assert emails["subject"].to_list() == ["Spring is here"] and emails["status"].to_list() == ["SENT"]
    assert tuple(emails[["recipients", "sent", "failed", "suppressed", "waiting"]].iloc[0]) == (43, 40, 1, 2, 0)
    # what the channels delivered, summed over the days of campaign_metrics
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Emails sent"], shown["Email opens / clicks"], shown["Post engagements"], shown["Ad impressions / clicks"]) == (
        "40", "27 / 3", "24", "3,000 / 60")
    delivered = next(d.value for d in at.dataframe if "email_sends" in d.value.columns)
    assert sorted(delivered["channel"].to_list()) == ["email", "google_ads", "x"]
