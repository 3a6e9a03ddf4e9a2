"""The app's social queue says "held: campaign paused" for the queued posts of a paused campaign, and only for those."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.lifecycle import service
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import schedule_text
from dashboards import queries


def test_held_posts_say_so(home) -> None:
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        c = service.create_campaign(s, "acme", service.CampaignInput(name="Winter", type="AWARENESS", channels=["x"], budget=Decimal("10"),
                                                                     start_date=datetime(2026, 12, 1, tzinfo=UTC), end_date=datetime(2026, 12, 9, tzinfo=UTC)),
                                    actor="ana")
        account = add_account(s, "acme", "x", "@acme", actor="ana")
        at = datetime(2026, 12, 2, 9, tzinfo=UTC)
        schedule_text(s, "acme", account_id=account.id, text="Campaign post", scheduled_at=at, author="ana", campaign_id=c.id)
        schedule_text(s, "acme", account_id=account.id, text="Loose post", scheduled_at=at.replace(hour=12), author="ana")
        service.transition(s, "acme", c.id, "launch", "ana")
        service.transition(s, "acme", c.id, "pause", "ana")
    queries.clear_store_caches()
    rows = {r["text"]: r["reason"] for r in queries.social_queue(queries.source(), "acme").iter_rows(named=True)}
    assert rows == {"Campaign post": "held: campaign paused", "Loose post": ""}
