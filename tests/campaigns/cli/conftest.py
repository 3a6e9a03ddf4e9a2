"""A store with merchant acme, 20 contacts, a campaign and an everyone segment: what the A/B commands' tests start from."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from campaigns.audiences.segments import save_segment
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Contact
from campaigns.lifecycle import service as campaign_service


@pytest.fixture
def ab_store(home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int, str]:
    """(campaign id, segment id, store URL)."""
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    url = get_settings().store_url
    migrate(url)
    with session_scope(url) as s:
        ensure_merchant(s, "acme", name="Acme")
        s.add_all([Contact(merchant_id="acme", email=f"p{i}@example.com") for i in range(20)])
        campaign = campaign_service.create_campaign(s, "acme", campaign_service.CampaignInput(name="Winter", type="CONVERSION"), actor="ana")
        segment = save_segment(s, "acme", "Everyone", {}, actor="ana")
        return campaign.id, segment.id, url
