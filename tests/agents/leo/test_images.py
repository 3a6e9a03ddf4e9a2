"""Leo's image choice: the post's own image for each social draft, with its alt text; fetched and stored when the draft is scheduled.

The blog post and its images are served by a local HTTP server, read and stored over real HTTP.
"""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from agents.figures import Figure
from agents.leo.images import choose_image, resolve
from agents.leo.repurpose import repurpose
from agents.leo.store import approve_campaign_content, edit_repurposed, save_result
from agents.source import parse_post, read_post
from campaigns.content.approvals import NotApprovedError
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.core.store.models import Approval, CampaignContent
from campaigns.lifecycle.service import CampaignInput, create_campaign
from campaigns.social.accounts import QueueError, add_account
from campaigns.social.campaign_content import schedule_draft
from campaigns.social.media_store import LocalMediaStore

START = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

POST = """<!doctype html><html><head><title>Why enamel mugs last | Juniper &amp; Finch</title>
<meta property="og:image" content="/images/hero.png"><meta property="og:image:alt" content="Six enamel mugs in a row">
<meta name="description" content="Enamel mugs survive campfires, dishwashers and decades of coffee."></head>
<body><nav><img src="/images/logo.png" alt="Juniper and Finch logo"></nav><article>
<h1>Why enamel mugs last</h1>
<p>Enamel mugs survive campfires, dishwashers and decades of morning coffee. We fire every mug twice at 820 degrees.</p>
<h2>Glass fused to steel</h2>
<figure><img src="images/mug.jpg" alt=""><figcaption>A blue enamel mug on a wooden shelf</figcaption></figure>
<p>The enamel is glass fused to a steel body, so it does not hold smells or stain from tea.</p>
<p>A chipped rim is cosmetic: the steel underneath keeps the mug watertight for years.</p>
<h2>Caring for your mug</h2>
<p>Wash it by hand or in the dishwasher, and never heat it empty on a stove.</p>
<p>Our customers tell us their mugs travel from the kitchen to the campsite every summer.</p>
</article><footer><img src="/images/badge.png" alt="Badge"></footer></body></html>"""


def picture(kind: str, size: tuple[int, int], colour=(20, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()


class _Blog(SimpleHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def blog(tmp_path: Path):
    site = tmp_path / "site"
    (site / "blog" / "images").mkdir(parents=True)
    (site / "images").mkdir()
    (site / "blog" / "enamel.html").write_text(POST)
    (site / "images" / "hero.png").write_bytes(picture("PNG", (1600, 800)))  # 2:1, PNG: Instagram needs a JPEG crop
    (site / "blog" / "images" / "mug.jpg").write_bytes(picture("JPEG", (1080, 1080), (200, 40, 40)))
    handler = type("Blog", (_Blog,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _read(base: str):
    page = httpx.get(f"{base}/blog/enamel.html", timeout=5)
    return parse_post(page.content, filename="enamel.html", url=f"{base}/blog/enamel.html")


def test_figures_are_read_with_alt_caption_section_and_hero(blog) -> None:
    base, _ = blog
    source = _read(base)
    assert [(f.src, f.alt, f.caption, f.section, f.hero) for f in source.figures] == [
        ("/images/hero.png", "Six enamel mugs in a row", "", "", True),
        ("images/mug.jpg", "", "A blue enamel mug on a wooden shelf", "Glass fused to steel", False),
    ]  # the logo in <nav> and the badge in <footer> are not the post's images
    assert resolve("/images/hero.png", source.url, None) == f"{base}/images/hero.png"
    assert resolve("images/mug.jpg", source.url, None) == f"{base}/blog/images/mug.jpg"


def test_the_image_matching_the_quoted_sentences_wins_then_the_hero(blog) -> None:
    base, _ = blog
    source = _read(base)
    glass = next(s.id for s in source.sentences if s.text.startswith("The enamel is glass fused"))
    lead = next(s.id for s in source.sentences if s.text.startswith("Enamel mugs survive"))
    matched = choose_image(source, [glass])
    assert matched.src == f"{base}/blog/images/mug.jpg" and matched.alt == "A blue enamel mug on a wooden shelf"  # the caption stands in
    assert "shares" in matched.why
    hero = choose_image(source, [lead])  # "enamel" and "mugs" are in the hero's alt text, only "enamel" near the other image
    assert hero.src == f"{base}/images/hero.png" and "shares 2 word(s)" in hero.why
    unrelated = choose_image(source, [])
    assert (unrelated.src, unrelated.alt, unrelated.why) == (f"{base}/images/hero.png", "Six enamel mugs in a row", "the post's hero image")


def test_alt_text_falls_back_and_local_images_stay_inside_the_post_folder(tmp_path: Path) -> None:
    folder = tmp_path / "blog"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "a.jpg").write_bytes(picture("JPEG", (400, 400)))
    (tmp_path / "secret.jpg").write_bytes(picture("JPEG", (400, 400)))
    post = folder / "post.md"
    post.write_text("---\ntitle: Packing light for a week\n---\n\n## Three shirts\n\n![](img/a.jpg)\n\nThree shirts cover a week of travel.\n\n"
                    "![Outside](../secret.jpg)\n\n![Gone](img/missing.jpg)\n\n![Inline](data:image/png;base64,AAAA)\n\n```\n![Code](img/a.jpg)\n```\n")
    source = read_post(post)
    assert [f.src for f in source.figures] == ["img/a.jpg", "../secret.jpg", "img/missing.jpg"]
    choice = choose_image(source, [])
    assert choice.src == str((folder / "img" / "a.jpg").resolve()) and choice.alt == "Three shirts"  # no alt, no caption: the section
    assert resolve("../secret.jpg", None, str(folder)) is None and resolve("img/missing.jpg", None, str(folder)) is None
    bare = replace(source, figures=(Figure("img/a.jpg"),))
    assert choose_image(bare, []).alt == "Packing light for a week"  # no alt, caption or section: the post's title


def test_a_post_without_images_gives_no_media_and_instagram_says_so(posts_dir, offline_settings) -> None:
    result = repurpose(read_post(posts_dir / "short.md"), ["x", "instagram"], 1, settings=offline_settings)
    assert result.outputs and all(o.media is None for o in result.outputs)
    assert all("media" not in o.to_dict() for o in result.outputs)
    instagram = next(o for o in result.outputs if o.format == "instagram")
    assert any(n.startswith("instagram needs an image") for n in instagram.notes)


def test_a_scheduled_draft_carries_the_approved_image_stored_once(blog, store_url, offline_settings, tmp_path) -> None:
    base, server = blog
    result = repurpose(_read(base), ["x", "instagram"], 1, settings=offline_settings)
    outputs = {o.format: o for o in result.outputs}
    assert {o.media.src for o in outputs.values()} <= {f"{base}/images/hero.png", f"{base}/blog/images/mug.jpg"}
    assert all(o.to_dict()["media"]["alt"] for o in outputs.values())
    settings = Settings(home=tmp_path / "home", public_url="https://shop.example.com")
    store = LocalMediaStore(tmp_path / "media", settings.public_url)
    with session_scope(store_url) as s:
        campaign = create_campaign(s, "acme", CampaignInput(name="Mugs", type="AWARENESS", channels=["instagram"], start_date=START,
                                                            end_date=START + timedelta(days=5)), "ana")
        saved = {x.format: x for x in save_result(s, "acme", result, actor="leo", campaign_id=campaign.id)}
        account = add_account(s, "acme", "instagram", "@juniper", actor="ana").id
        content = s.get(CampaignContent, saved["instagram"].content_id)
        assert content.media == [] and content.media_choice["src"] == outputs["instagram"].media.src
        server.hits.clear()
        with pytest.raises(NotApprovedError):  # the choice is part of what is approved: nothing is fetched before
            schedule_draft(settings, s, "acme", content.id, account, actor="ana", at=START + timedelta(hours=2), now=NOW, store=store)
        assert server.hits == []
    with session_scope(store_url) as s:
        approve_campaign_content(s, "acme", saved["instagram"].content_id, "boss")
        item, note = schedule_draft(settings, s, "acme", saved["instagram"].content_id, account, actor="ana", at=START + timedelta(hours=2),
                                    now=NOW, store=store)
        (url,) = item.media
        assert url.startswith("https://shop.example.com/media/") and url.endswith(".jpg") and item.media_alt == [outputs["instagram"].media.alt]
        assert "image from the post attached" in note
        stored = Image.open(io.BytesIO((tmp_path / "media" / url.rsplit("/", 1)[1]).read_bytes()))
        assert stored.format == "JPEG" and 0.8 <= stored.width / stored.height <= 1.91  # fitted for Instagram
        carried = s.scalars(select(Approval).where(Approval.content_id == item.content_id, Approval.content_kind == "campaign_content").order_by(Approval.id)).all()
        assert [a.approved_by for a in carried] == ["boss", "boss"] and "image chosen from the post" in carried[-1].note
        second_account = add_account(s, "acme", "instagram", "@juniper_shop", actor="ana").id  # once per account: a second account's own post
        again, _ = schedule_draft(settings, s, "acme", saved["instagram"].content_id, second_account, actor="ana", at=START + timedelta(hours=30),
                                  now=NOW, store=store)
        assert again.id != item.id and again.media == item.media
    assert len([h for h in server.hits if "/images/" in h]) == 1  # fetched once; the second post reuses the stored image
    assert len(list((tmp_path / "media").iterdir())) == 1
    with session_scope(store_url) as s:  # an edit goes back to the chosen image and needs a new approval
        edit_repurposed(s, "acme", saved["instagram"].repurposed_id, {"text": "Enamel mugs: glass fused to steel, made to last."}, "ed")
        content = s.get(CampaignContent, saved["instagram"].content_id)
        assert content.media == [] and content.status.value == "DRAFT"


def test_a_missing_image_and_an_imageless_instagram_draft_are_clear_errors(blog, store_url, offline_settings, tmp_path) -> None:
    base, _ = blog
    settings = Settings(home=tmp_path / "home", public_url="https://shop.example.com")
    with session_scope(store_url) as s:
        campaign = create_campaign(s, "acme", CampaignInput(name="Mugs", type="AWARENESS"), "ana")
        account = add_account(s, "acme", "instagram", "@juniper", actor="ana").id
        broken = CampaignContent(merchant_id="acme", campaign_id=campaign.id, channel="instagram", platform="instagram", body="Enamel lasts",
                                 media_choice={"src": f"{base}/images/gone.jpg", "alt": "A mug", "why": "the post's first image"})
        bare = CampaignContent(merchant_id="acme", campaign_id=campaign.id, channel="instagram", platform="instagram", body="Enamel lasts")
        s.add_all([broken, bare])
        s.flush()
        approve_campaign_content(s, "acme", broken.id, "boss")
        approve_campaign_content(s, "acme", bare.id, "boss")
        with pytest.raises(QueueError, match=r"images/gone.jpg answered HTTP 404; fix the image's address in the post"):
            schedule_draft(settings, s, "acme", broken.id, account, actor="ana", at=START, now=NOW, store=LocalMediaStore(tmp_path / "m"))
        with pytest.raises(QueueError, match=r"has no image and instagram requires one.*campaigns social schedule --media FILE"):
            schedule_draft(settings, s, "acme", bare.id, account, actor="ana", at=START, now=NOW)


def test_the_chosen_image_goes_to_an_s3_bucket_once(blog, store_url, offline_settings, tmp_path) -> None:
    from campaigns.social.media_store import media_store
    from tests.campaigns.social.fake_s3 import FakeS3

    base, _ = blog
    s3 = FakeS3().start()
    try:
        settings = Settings(home=tmp_path / "home", public_url="https://shop.example.com", media_s3_bucket="media", media_s3_endpoint_url=s3.url,
                            media_s3_access_key_id="AKIDFAKE", media_s3_secret_access_key="fake-secret-key",
                            media_s3_public_url="https://cdn.example.com")
        result = repurpose(_read(base), ["x"], 1, settings=offline_settings)
        with session_scope(store_url) as s:
            campaign = create_campaign(s, "acme", CampaignInput(name="Mugs", type="AWARENESS"), "ana")
            (saved,) = save_result(s, "acme", result, actor="leo", campaign_id=campaign.id)
            account = add_account(s, "acme", "x", "@juniper", actor="ana").id
            approve_campaign_content(s, "acme", saved.content_id, "boss")
            first, _ = schedule_draft(settings, s, "acme", saved.content_id, account, actor="ana", at=START, now=NOW, store=media_store(settings))
        with session_scope(store_url) as s:  # another draft of the same post with the same image: no second upload
            other = CampaignContent(merchant_id="acme", campaign_id=campaign.id, channel="x", platform="x", body="Enamel lasts for decades",
                                    media_choice=s.get(CampaignContent, saved.content_id).media_choice)
            s.add(other)
            s.flush()
            approve_campaign_content(s, "acme", other.id, "boss")
            second, _ = schedule_draft(settings, s, "acme", other.id, account, actor="ana", at=START + timedelta(hours=3), now=NOW,
                                       store=media_store(settings))
    finally:
        s3.stop()
    (name,) = s3.buckets["media"]
    assert first.media == second.media == [f"https://cdn.example.com/{name}"] and s3.puts() == 1
    assert first.media_alt == [result.outputs[0].media.alt]
