"""Short MP4 videos in the Social Scheduler's compose form and on approved Content Studio drafts (AppTest, empty home): a video
stands alone on X and LinkedIn and is refused on Facebook, each refusal naming the fix with nothing stored; a video takes
no alt-text field; the preview shows its placeholder with the duration before anything is stored; on Schedule the MP4 is
stored under the media folder and attached to the queued post."""

from __future__ import annotations

from datetime import date, time

import numpy  # noqa: F401  (imported before the app runs, as the Streamlit server has it; otherwise AppTest's script thread can find it half imported)
import pytest
from sqlalchemy import select

from campaigns.content.approvals import KIND_QUEUE_TEXT, content_hash
from campaigns.core.settings import get_settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Approval, SocialQueueItem
from tests.dashboards.helpers import assert_clean
from tests.dashboards.test_compose_images import PUBLIC, _approved_x_draft, _errors, _stored, connect_accounts, image
from tests.publishers.mp4 import mp4

SOCIAL = "views/social.py"
CLIP = mp4(72.0, 1280, 720, mdat_bytes=80 * 1024)  # 1:12, over LinkedIn's 75 KB minimum, within X's 140 seconds


@pytest.fixture
def accounts(home, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    return connect_accounts(monkeypatch, {"x": "@shop", "linkedin": "urn:li:organization:1", "facebook": "1000001"})


def _compose(app, account_id: int, text: str):
    at = app(get_settings())
    at.switch_page(SOCIAL).run()
    assert_clean(at)
    at.selectbox(key="social_account").set_value(account_id).run()
    at.radio(key="compose_when").set_value("Pick a time").run()
    at.date_input(key="compose_date").set_value(date(2030, 1, 5)).run()
    at.time_input(key="compose_time").set_value(time(9, 0)).run()
    at.text_area(key="compose_text").input(text).run()
    return at


def _queued() -> list[SocialQueueItem]:
    with session_scope(get_settings().store_url) as s:
        items = s.scalars(select(SocialQueueItem)).all()
        s.expunge_all()
        return list(items)


@pytest.mark.parametrize("platform", ["linkedin", "x"])
def test_a_video_is_previewed_with_its_duration_then_stored_and_attached(accounts, app, platform: str) -> None:
    at = _compose(app, accounts[platform], "How the tote is made")
    at.file_uploader(key="compose_0_images").set_value(("making-of.mp4", CLIP, "video/mp4")).run()
    assert_clean(at)
    assert _errors(at) == []
    assert [t.label for t in at.text_input if t.label.startswith("Alt text")] == []  # alt text is for images only
    assert any("preview-video" in h.proto.body and "Video · 1:12" in h.proto.body for h in at.get("html")), "the placeholder shows 1:12"
    assert _stored() == []  # nothing stored before Schedule
    at.button(key="compose_schedule").click().run()
    assert_clean(at)
    assert any("with 1 video" in s.value for s in at.success), [s.value for s in at.success]

    [name] = _stored()
    assert name.endswith(".mp4") and (get_settings().media_dir / name).read_bytes() == CLIP
    [item] = _queued()
    assert item.account_id == accounts[platform] and item.media == [f"{PUBLIC}/media/{name}"] and item.media_alt == [""]
    with session_scope(get_settings().store_url) as s:
        approval = s.scalar(select(Approval).where(Approval.content_kind == KIND_QUEUE_TEXT, Approval.content_id == item.id))
        assert approval.content_hash == item.content_hash == content_hash(item.text, item.media, item.media_alt)


def test_x_refuses_an_image_beside_a_video_naming_the_fix_and_stores_nothing(accounts, app) -> None:
    at = _compose(app, accounts["x"], "Two ways to see the tote")
    at.file_uploader(key="compose_0_images").set_value([("tote.jpg", image(), "image/jpeg"),
                                                         ("making-of.mp4", CLIP, "video/mp4")]).run()
    assert_clean(at)
    assert [t.label for t in at.text_input if t.label.startswith("Alt text")] == ["Alt text for tote.jpg"]  # the image only
    problems = _errors(at)
    assert any("mixes a video with images" in p and "post them separately" in p for p in problems), problems
    assert at.button(key="compose_schedule").disabled
    assert _stored() == [] and _queued() == []


def test_facebook_refuses_a_video_with_the_way_round(accounts, app) -> None:
    at = _compose(app, accounts["facebook"], "How the tote is made")
    at.file_uploader(key="compose_0_images").set_value(("making-of.mp4", CLIP, "video/mp4")).run()
    assert_clean(at)
    problems = _errors(at)
    assert any("Facebook Page videos need Meta" in p and "Meta Business Suite" in p for p in problems), problems
    assert len(problems) == 1, "the refusal is said once, not once per rule"
    assert at.button(key="compose_schedule").disabled
    assert _stored() == [] and _queued() == []


def test_a_broken_video_is_named_as_a_video_with_its_fix(accounts, app) -> None:
    at = _compose(app, accounts["x"], "How the tote is made")
    at.file_uploader(key="compose_0_images").set_value(("cut.mp4", CLIP[:-500], "video/mp4")).run()
    assert_clean(at)
    problems = _errors(at)
    assert any("cut.mp4 is not a readable MP4 video" in p and "export it again as MP4" in p for p in problems), problems
    assert at.button(key="compose_schedule").disabled


def test_an_approved_studio_draft_is_scheduled_with_a_video(accounts, app) -> None:
    rid = _approved_x_draft()
    at = app(get_settings())
    at.switch_page("views/studio.py").run()
    assert_clean(at)
    at.file_uploader(key=f"studio_media_{rid}_0_images").set_value(("making-of.mp4", CLIP, "video/mp4")).run()
    assert_clean(at)
    assert any("Video · 1:12" in h.proto.body for h in at.get("html"))
    at.button(key=f"studio_media_{rid}_schedule").click().run()
    assert_clean(at)
    assert any(f"Scheduled rc-{rid} as post" in s.value and "with 1 video" in s.value for s in at.success)
    [name] = _stored()
    [item] = _queued()
    assert item.media == [f"{PUBLIC}/media/{name}"] and name.endswith(".mp4") and item.media_alt == [""]
