"""Social Scheduler: a queued post's preview shows its media (a video with the duration read off its file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy  # noqa: F401  (imported before the app runs, as the Streamlit server has it; otherwise AppTest's script thread finds it half imported)
import pytest
from cryptography.fernet import Fernet

from campaigns.core.crypto import cipher_from_settings
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.social.accounts import add_account
from campaigns.social.scheduling import schedule_text
from campaigns.social.video import attach_media
from tests.campaigns.social.test_media import image
from tests.dashboards.helpers import assert_clean
from tests.publishers.mp4 import mp4

SOCIAL = "views/social.py"


@pytest.fixture
def queued(home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNS_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", "https://app.example.com")
    get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.store_url)
    urls, alts = attach_media(settings.media_dir, settings.public_url, "instagram",
                              [("clip.mp4", mp4(75.0, 1080, 1920)), ("a.jpg", image())], ["", "A red coat"])
    with session_scope(settings.store_url) as s:
        ensure_merchant(s, settings.default_merchant)
        account = add_account(s, settings.default_merchant, "instagram", "17841400000", actor="ana", access_token="t",
                              cipher=cipher_from_settings(settings)).id
        schedule_text(s, settings.default_merchant, account_id=account, text="The collection", author="ana",
                      scheduled_at=datetime.now(UTC) + timedelta(days=1), media=urls, media_alt=alts)


def test_the_queued_posts_preview_shows_its_video_with_the_duration_read_off_the_file(queued, app) -> None:
    at = app(get_settings())
    at.switch_page(SOCIAL).run()
    assert_clean(at)
    previews = [h.proto.body for h in at.get("html") if "preview-instagram" in h.proto.body]
    assert len(previews) == 1
    body = previews[0]
    assert "preview-video" in body and "Video · 1:15" in body  # the carousel's first item: the video, 75 seconds
    assert "1/2" in body  # a carousel of two
    assert "SANDBOX" in body
