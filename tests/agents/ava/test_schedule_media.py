"""Ava's schedule step queues an approved draft with the image Leo chose from the post, stored through the media store."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from agents.ava.steps import run_schedule
from agents.leo.store import approve_campaign_content
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import CampaignContent, CampaignWorkflow, SocialQueueItem
from campaigns.lifecycle.service import CampaignInput, create_campaign
from campaigns.social.accounts import add_account
from campaigns.workflows.models import StepContext


def test_the_schedule_step_attaches_the_chosen_image(store_url, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", "https://shop.example.com")
    get_settings.cache_clear()
    picture = tmp_path / "blog" / "hero.jpg"
    picture.parent.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 80, 40)).save(buffer, "JPEG")
    picture.write_bytes(buffer.getvalue())
    try:
        with session_scope(store_url) as s:
            campaign = create_campaign(s, "acme", CampaignInput(name="Trails", type="AWARENESS"), "ana")
            content = CampaignContent(merchant_id="acme", campaign_id=campaign.id, channel="instagram", platform="instagram",
                                      body="Trails at dawn", media_choice={"src": str(picture), "alt": "A trail at dawn", "why": "the post's hero image"})
            s.add(content)
            s.flush()
            approve_campaign_content(s, "acme", content.id, "boss")
            add_account(s, "acme", "instagram", "@trails", actor="ana")
            plan = CampaignWorkflow(merchant_id="acme", campaign_id=campaign.id, step_order=1, step_type="plan",
                                    config={"plan": {"timezone": "UTC", "start": "2026-12-01", "end": "2026-12-05"}})
            step = CampaignWorkflow(merchant_id="acme", campaign_id=campaign.id, step_order=2, step_type="schedule", config={"slots": []})
            s.add_all([plan, step])
            s.flush()
            outcome = run_schedule(StepContext(s, "acme", campaign.id, step, datetime(2026, 11, 20, tzinfo=UTC), settings=None))
            (queued,) = outcome.result["queued"]
            item = s.get(SocialQueueItem, queued["queue_item_id"])
            assert item.media[0].startswith("https://shop.example.com/media/") and item.media_alt == ["A trail at dawn"]
            assert (tmp_path / "home" / "media" / item.media[0].rsplit("/", 1)[1]).read_bytes() == picture.read_bytes()  # a fitting JPEG as it is
    finally:
        get_settings.cache_clear()
