"""Images in the Social Scheduler's compose form and on approved Content Studio drafts (AppTest, empty home): checked by the platform's rules with the fix and
nothing stored on a refusal; on Schedule stored under the media folder and attached, with their alt texts, to the queued
post that the author's approval covers; the preview shows them."""

from __future__ import annotations

import io
from datetime import date, time
from pathlib import Path

import numpy  # noqa: F401  (imported before the app runs, as the Streamlit server has it; otherwise AppTest's script thread can find it half imported)
import pytest
from PIL import Image
from sqlalchemy import select

from campaigns.content.approvals import KIND_QUEUE_TEXT, content_hash
from campaigns.core.merchants import ensure_merchant
from campaigns.core.settings import get_settings
from campaigns.core.store.db import migrate, session_scope
from campaigns.core.store.models import Approval, AuditLog, SocialQueueItem
from campaigns.social.accounts import add_account
from tests.dashboards.helpers import assert_clean

SOCIAL = "views/social.py"
PUBLIC = "https://shop.example.com"


def image(kind: str = "JPEG", size: tuple[int, int] = (1080, 1080)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, kind)
    return buffer.getvalue()


def connect_accounts(monkeypatch: pytest.MonkeyPatch, handles: dict[str, str]) -> dict[str, int]:
    """The default merchant on a migrated store with one account per platform (`handles`); media served at PUBLIC."""
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", PUBLIC)
    get_settings.cache_clear()
    migrate(get_settings().store_url)
    merchant = get_settings().default_merchant
    with session_scope(get_settings().store_url) as s:
        ensure_merchant(s, merchant)
        return {platform: add_account(s, merchant, platform, handle, actor="tests").id for platform, handle in handles.items()}


@pytest.fixture
def accounts(home, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    return connect_accounts(monkeypatch, {"x": "@shop", "instagram": "17841400000000001"})


def _compose(app, account_id: int):
    at = app(get_settings())
    at.switch_page(SOCIAL).run()
    assert_clean(at)
    at.selectbox(key="social_account").set_value(account_id).run()
    at.radio(key="compose_when").set_value("Pick a time").run()
    at.date_input(key="compose_date").set_value(date(2030, 1, 5)).run()
    at.time_input(key="compose_time").set_value(time(9, 0)).run()
    return at


def _errors(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(":red[")]


def _stored() -> list[str]:
    folder = get_settings().media_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_refused_image_names_the_fix_and_nothing_is_stored(accounts, app) -> None:
    at = _compose(app, accounts["instagram"])
    at.text_area(key="compose_text").input("The new mugs are here").run()
    assert any("instagram needs an image" in e for e in _errors(at))
    at.file_uploader(key="compose_0_images").set_value(("mug.png", image("PNG"), "image/png")).run()
    assert_clean(at)
    problems = _errors(at)
    assert any("cannot attach mug.png to a instagram post" in e and "takes JPEG: convert the image" in e for e in problems), problems
    assert at.button(key="compose_schedule").disabled
    assert _stored() == []
    with session_scope(get_settings().store_url) as s:
        assert s.scalars(select(SocialQueueItem)).all() == []


def test_an_instagram_post_with_an_image_and_alt_text_is_stored_attached_and_approved(accounts, app) -> None:
    at = _compose(app, accounts["instagram"])
    data = image()
    at.text_area(key="compose_text").input("The new mugs are here").run()
    at.file_uploader(key="compose_0_images").set_value(("mug.jpg", data, "image/jpeg")).run()
    [alt] = [t for t in at.text_input if t.label == "Alt text for mug.jpg"]
    alt.input("A red mug on a wooden table").run()
    assert_clean(at)
    assert _errors(at) == []
    assert any("data:image/png;base64," in h.proto.body for h in at.get("html")), "the preview shows the image"
    at.button(key="compose_schedule").click().run()
    assert_clean(at)
    assert any("with 1 image(s)" in s.value for s in at.success)

    [name] = _stored()
    assert (get_settings().media_dir / name).read_bytes() == data
    with session_scope(get_settings().store_url) as s:
        [item] = s.scalars(select(SocialQueueItem)).all()
        assert item.media == [f"{PUBLIC}/media/{name}"] and item.media_alt == ["A red mug on a wooden table"]
        assert item.content_hash == content_hash("The new mugs are here", item.media, item.media_alt)
        approval = s.scalar(select(Approval).where(Approval.content_kind == KIND_QUEUE_TEXT, Approval.content_id == item.id))
        assert approval.content_hash == item.content_hash  # the approval covers the image and its alt text
    assert at.file_uploader(key="compose_1_images").value in (None, [])  # a fresh uploader for the next post


def test_an_x_post_takes_a_png_and_two_images_get_an_alt_field_each(accounts, app) -> None:
    at = _compose(app, accounts["x"])
    at.text_area(key="compose_text").input("Two colours this spring").run()
    at.file_uploader(key="compose_0_images").set_value([("blue.png", image("PNG", (800, 600)), "image/png"),
                                                         ("red.jpg", image(), "image/jpeg")]).run()
    assert [t.label for t in at.text_input if t.label.startswith("Alt text")] == ["Alt text for blue.png", "Alt text for red.jpg"]
    assert any(h.proto.body.count("data:image/png;base64,") == 2 for h in at.get("html"))
    at.button(key="compose_schedule").click().run()
    assert_clean(at)
    with session_scope(get_settings().store_url) as s:
        [item] = s.scalars(select(SocialQueueItem)).all()
        assert len(item.media) == 2 and item.media_alt == ["", ""]
    assert len(_stored()) == 2


def _approved_x_draft() -> int:
    from agents.leo.repurpose import repurpose
    from agents.leo.store import approve_repurposed, save_result
    from agents.settings import AgentSettings
    from agents.source import read_post

    post = read_post(Path(__file__).resolve().parents[1] / "agents" / "posts" / "short.md")
    with session_scope(get_settings().store_url) as s:
        [saved] = save_result(s, get_settings().default_merchant, repurpose(post, ["x"], 1, settings=AgentSettings(llm_engine="offline")),
                              actor="leo@example.com")
        approve_repurposed(s, get_settings().default_merchant, saved.repurposed_id, "approver@example.com")
        return saved.repurposed_id


def _studio_with_image(app, rid: int):
    at = app(get_settings())
    at.switch_page("views/studio.py").run()
    assert_clean(at)
    at.file_uploader(key=f"studio_media_{rid}_0_images").set_value(("tote.png", image("PNG", (1200, 800)), "image/png")).run()
    [alt] = [t for t in at.text_input if t.label == "Alt text for tote.png"]
    alt.input("A blue tote").run()
    assert_clean(at)
    return at


def test_an_approved_studio_draft_is_scheduled_with_an_image_the_scheduler_approves(accounts, app) -> None:
    rid = _approved_x_draft()
    at = _studio_with_image(app, rid)
    assert any("data:image/png;base64," in h.proto.body for h in at.get("html"))
    at.button(key=f"studio_media_{rid}_schedule").click().run()
    assert_clean(at)
    assert any(f"Scheduled rc-{rid} as post" in s.value for s in at.success)
    [name] = _stored()
    with session_scope(get_settings().store_url) as s:
        [item] = s.scalars(select(SocialQueueItem)).all()
        assert item.media == [f"{PUBLIC}/media/{name}"] and item.media_alt == ["A blue tote"] and item.account_id == accounts["x"]
        approval = s.scalar(select(Approval).where(Approval.content_kind == KIND_QUEUE_TEXT, Approval.content_id == item.id))
        assert approval.content_hash == item.content_hash == content_hash(item.text, item.media, item.media_alt)
        logged = s.scalar(select(AuditLog).where(AuditLog.action == "social.schedule_with_images"))
        assert logged.entity_id == str(item.id) and logged.details["text_approved_as"] == f"repurposed_content:{rid}"


def test_under_the_four_eyes_rule_the_scheduler_cannot_approve_images_they_added(accounts, app) -> None:
    from campaigns.access.users import set_four_eyes

    rid = _approved_x_draft()
    with session_scope(get_settings().store_url) as s:
        set_four_eyes(s, get_settings().default_merchant, True, "owner@example.com")
    at = _studio_with_image(app, rid)
    at.button(key=f"studio_media_{rid}_schedule").click().run()
    assert any("Not scheduled" in w.value and "four-eyes" in w.value for w in at.warning), [w.value for w in at.warning]
    assert _stored() == []
    with session_scope(get_settings().store_url) as s:
        assert s.scalars(select(SocialQueueItem)).all() == []
