"""Images on posts: read and checked per platform, stored by content, served by name, and uploaded to X on publish."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.social import media, video
from campaigns.social.accounts import QueueError, add_account
from campaigns.social.scheduling import schedule_text
from campaigns.social.worker import publish_due
from publishers.x import XPublisher
from tests.publishers.fake_platforms import FakeX


def image(kind: str = "JPEG", size: tuple[int, int] = (1080, 1080)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, kind)
    return buffer.getvalue()


def test_read_image_takes_the_real_type_and_pixels() -> None:
    facts = media.read_image(image("PNG", (640, 480)), "a.jpg")  # the name says jpg; the bytes are a PNG
    assert (facts.mime, facts.width, facts.height) == ("image/png", 640, 480)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "is empty"),
    (b"%PDF-1.7 not an image", "not a readable image"),
    (image()[:200], "not a readable image"),  # truncated
])
def test_unreadable_files_are_refused_with_the_fix(data, message) -> None:
    with pytest.raises(QueueError, match=message):
        media.read_image(data, "upload.jpg")


def test_huge_files_and_pixel_bombs_are_refused_before_decoding(monkeypatch) -> None:
    monkeypatch.setattr(media, "MAX_BYTES", 1000)
    with pytest.raises(QueueError, match="MB; images of up to"):
        media.read_image(image(), "big.jpg")
    monkeypatch.setattr(media, "MAX_BYTES", 10**8)
    monkeypatch.setattr(media, "MAX_PIXELS", 1000)
    with pytest.raises(QueueError, match="megapixels"):
        media.read_image(image(), "bomb.jpg")


def test_store_is_content_addressed_and_serves_only_its_own_names(tmp_path: Path) -> None:
    data = image()
    first, again = media.store_image(tmp_path, data, "a.jpg"), media.store_image(tmp_path, data, "b.jpg")
    assert first.name == again.name and first.name.endswith(".jpg") and len(list(tmp_path.iterdir())) == 1
    assert media.open_stored(tmp_path, first.name) == (first.path, "image/jpeg")
    (tmp_path / "app.db").write_text("secret")
    for name in ("../app.db", "app.db", first.name.replace(".jpg", ".png"), "%2e%2e/app.db"):
        assert media.open_stored(tmp_path, name) is None


def test_each_platforms_rules_are_checked_with_the_fix(tmp_path: Path) -> None:
    base = "https://shop.example.com"
    urls, alts = media.attach_images(tmp_path, base, "x", [("a.png", image("PNG"))], ["A blue mug"])
    assert urls[0].startswith("https://shop.example.com/media/") and alts == ["A blue mug"]
    with pytest.raises(QueueError, match=r"a.png to a instagram post: .*takes JPEG: convert"):
        media.attach_images(tmp_path, base, "instagram", [("a.png", image("PNG"))], [])
    with pytest.raises(QueueError, match=r"aspect ratio of 3.00; instagram takes 0.80 to 1.91.*crop"):
        media.attach_images(tmp_path, base, "instagram", [("wide.jpg", image("JPEG", (1500, 500)))], [])
    with pytest.raises(QueueError, match="alt text is 1001 characters"):
        media.attach_images(tmp_path, base, "x", [("a.jpg", image())], ["x" * 1001])
    with pytest.raises(QueueError, match="2 alt texts for 1 images"):
        media.attach_images(tmp_path, base, "x", [("a.jpg", image())], ["a", "b"])
    with pytest.raises(QueueError, match="CAMPAIGNS_PUBLIC_URL is not set"):
        media.attach_images(tmp_path, None, "x", [("a.jpg", image())], [])


def test_a_post_with_images_publishes_to_x_with_the_uploaded_bytes_and_alt_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    folder = tmp_path / "media"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))  # serves /media/<name> as the endpoint does
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake = FakeX().start()
    cipher = TokenCipher(generate_key())
    publisher = XPublisher(fake.url(), client_id="client-abc", timeout=3.0)
    try:
        files = [("front.jpg", image()), ("back.png", image("PNG", (800, 600)))]
        urls, alts = media.attach_images(folder, f"http://127.0.0.1:{server.server_address[1]}", "x", files, ["Front of the tote"])
        now = datetime.now(UTC).replace(microsecond=0)
        with session_scope(url) as s:
            ensure_merchant(s, "acme")
            account = add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", cipher=cipher).id
            schedule_text(s, "acme", account_id=account, text="The tote is back", scheduled_at=now - timedelta(minutes=1), author="ana",
                          media=urls, media_alt=alts)
        report = publish_due(url, {"x": publisher}, "w1", now, cipher=cipher)
    finally:
        publisher.close()
        fake.stop()
        server.shutdown()
        server.server_close()
    assert report.counts() == {"PUBLISHED": 1}
    (tweet,) = fake.tweets
    uploads = [fake.uploads[m] for m in tweet["media_ids"]]
    assert [u["data"] for u in uploads] == [data for _, data in files]
    assert [u["alt_text"] for u in uploads] == ["Front of the tote", None]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_every_refused_file_is_named_and_nothing_is_stored(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    files = [("good.jpg", image()), ("wide.jpg", image("JPEG", (1500, 500))), ("notes.txt", b"not an image")]
    with pytest.raises(media.ImageProblemsError) as refused:
        media.check_images("instagram", files, [])
    assert [p.split(" ")[0:3] for p in refused.value.problems] == [["cannot", "attach", "wide.jpg"], ["notes.txt", "is", "not"]]
    checked = media.check_images("instagram", files[:1], ["A mug"])
    assert [(c.filename, c.alt) for c in checked] == [("good.jpg", "A mug")] and not folder.exists()
    media.store_checked(folder, checked)
    assert [p.name for p in folder.iterdir()] == [checked[0].name] == [media.store_image(folder, files[0][1], "again.jpg").name]


def test_a_post_refused_for_its_text_stores_no_image(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    folder = tmp_path / "media"
    with session_scope(url) as s:
        ensure_merchant(s, "acme")
        account = add_account(s, "acme", "x", "@acme", actor="ana").id
    with pytest.raises(QueueError, match="over x's 280"), session_scope(url) as s:
        video.schedule_with_media(s, "acme", account_id=account, text="x" * 300, scheduled_at=datetime(2030, 1, 1, tzinfo=UTC), author="ana",
                                  files=[("a.jpg", image())], alts=["A mug"], store=folder, base_url="https://shop.example.com")
    assert not folder.exists()
    with session_scope(url) as s:
        item = video.schedule_with_media(s, "acme", account_id=account, text="Mugs", scheduled_at=datetime(2030, 1, 1, tzinfo=UTC), author="ana",
                                         files=[("a.jpg", image())], alts=["A mug"], store=folder, base_url="https://shop.example.com")
        assert item.media_alt == ["A mug"] and item.media[0].endswith(".jpg")
    assert [p.name for p in folder.iterdir()] == [item.media[0].rsplit("/", 1)[1]]
