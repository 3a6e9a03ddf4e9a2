"""Videos on posts: MP4 boxes probed without a media library, checked per platform, stored by content, published once."""

from __future__ import annotations

import json
import struct
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.cli.main import app
from campaigns.core.crypto import TokenCipher, generate_key
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope
from campaigns.social import media, video
from campaigns.social.accounts import QueueError, add_account
from campaigns.social.scheduling import schedule_text
from campaigns.social.worker import publish_due
from publishers.x import XPublisher
from tests.campaigns.social.test_media import image
from tests.publishers.fake_platforms import FakeX
from tests.publishers.mp4 import box, mp4

BASE = "https://shop.example.com"


# --- probing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "expected"), [
    (mp4(12.0, 1280, 720), (12.0, 1280, 720, True)),
    (mp4(3.5, 720, 1280, version=1, timescale=90_000), (3.5, 720, 1280, True)),  # 64-bit header fields
    (mp4(5.0, 1920, 1080, rotated=True), (5.0, 1080, 1920, True)),  # a phone video turned a quarter: shown portrait
    (mp4(7.25, 640, 480, moov_first=False), (7.25, 640, 480, False)),  # index after the media data
])
def test_probe_reads_duration_display_size_and_box_order(data: bytes, expected) -> None:
    facts = video.probe_mp4(data)
    assert (facts.duration, facts.width, facts.height, facts.faststart) == expected


def test_probe_follows_64_bit_and_to_the_end_box_sizes() -> None:
    data = mp4(4.0, 320, 240)
    ftyp_len = struct.unpack(">I", data[:4])[0]
    moov_len = struct.unpack(">I", data[ftyp_len:ftyp_len + 4])[0]
    ftyp, moov = data[:ftyp_len], data[ftyp_len:ftyp_len + moov_len]
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 10) + b"\0" * 10  # size 1: a 64-bit size follows
    open_ended = struct.pack(">I4s", 0, b"free") + b"\0" * 5  # size 0: runs to the end of the file
    assert video.probe_mp4(ftyp + moov + large_mdat + open_ended).duration == 4.0


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "no ftyp box"),
    (mp4()[:-30], "truncated or not an MP4"),
    (box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", b"\0" * 8), "no moov box"),
    (mp4(audio_only=True), "no video track"),
    (box(b"ftyp", b"isom\0\0\0\0") + box(b"moov", box(b"trak", b""))[:], "no mvhd"),
])
def test_probe_says_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(video.NotMp4, match=message):
        video.probe_mp4(data)


@pytest.mark.parametrize("data", [mp4(7.25, 640, 480, moov_first=False, mdat_bytes=100_000), mp4(3.0, 720, 1280, version=1)])
def test_probing_a_stored_file_agrees_with_probing_its_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    assert video.probe_mp4_file(path) == video.probe_mp4(data)
    path.write_bytes(data[:-10])
    with pytest.raises(video.NotMp4, match="truncated"):
        video.probe_mp4_file(path)


def test_read_video_turns_probe_failures_into_the_fix() -> None:
    with pytest.raises(QueueError, match=r"clip.mp4 is not a readable MP4 video \(no moov box.*export it again as MP4"):
        video.read_video(box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", b""), "clip.mp4")
    with pytest.raises(QueueError, match="clip.mp4 is empty"):
        video.read_video(b"", "clip.mp4")
    quicktime = mp4()
    quicktime = quicktime[:8] + b"qt  " + quicktime[12:]
    with pytest.raises(QueueError, match=r"clip.mov is a QuickTime \(MOV\) file; export it as MP4"):
        video.read_video(quicktime, "clip.mov")


# --- storing and attaching ---------------------------------------------------------------------------
def test_videos_are_stored_by_content_beside_images_and_served_by_name(tmp_path: Path) -> None:
    data = mp4()
    first, again = video.store_video(tmp_path, data, "a.mp4"), video.store_video(tmp_path, data, "b.mp4")
    assert first.name == again.name and first.name.endswith(".mp4") and len(list(tmp_path.iterdir())) == 1
    assert media.open_stored(tmp_path, first.name) == (first.path, "video/mp4")
    assert media.open_stored(tmp_path, first.name.replace(".mp4", ".mov")) is None
    assert video.video_durations(tmp_path, [f"{BASE}/media/{first.name}", f"{BASE}/media/{'0' * 64}.mp4", f"{BASE}/x.jpg"]) == {
        f"{BASE}/media/{first.name}": 12.0}


def test_attach_media_checks_each_platforms_rule_and_names_the_fix(tmp_path: Path) -> None:
    clip = mp4(12.0, 1280, 720, mdat_bytes=80 * 1024)  # over LinkedIn's 75 KB minimum
    urls, alts = video.attach_media(tmp_path, BASE, "linkedin", [("clip.mp4", clip)], [])
    assert urls[0].endswith(".mp4") and alts == [""]
    mixed, mixed_alts = video.attach_media(tmp_path, BASE, "instagram", [("a.jpg", image()), ("clip.mp4", clip)], ["A mug"])
    assert [u.rsplit(".", 1)[1] for u in mixed] == ["jpg", "mp4"] and mixed_alts == ["A mug", ""]
    with pytest.raises(QueueError, match="clip.mp4 to a x post: clip.mp4: runs 150.0 seconds; x takes 0.5 seconds to 140 seconds: trim it"):
        video.attach_media(tmp_path, BASE, "x", [("clip.mp4", mp4(150.0))], [])
    with pytest.raises(QueueError, match="a x post takes either images or one video"):
        video.attach_media(tmp_path, BASE, "x", [("a.jpg", image()), ("clip.mp4", clip)], [])
    with pytest.raises(QueueError, match="Facebook Page videos need Meta's resumable upload.*Meta Business Suite"):
        video.attach_media(tmp_path, BASE, "facebook", [("clip.mp4", clip)], [])
    with pytest.raises(QueueError, match="moov box\\) after the media data; instagram needs it at the front"):
        video.attach_media(tmp_path, BASE, "instagram", [("late.mp4", mp4(12.0, 1080, 1920, moov_first=False))], [])
    with pytest.raises(QueueError, match="alt text is sent with images only"):
        video.attach_media(tmp_path, BASE, "x", [("clip.mp4", clip)], ["A clip"])
    with pytest.raises(QueueError, match="2 alt texts for 1 files"):
        video.attach_media(tmp_path, BASE, "x", [("clip.mp4", clip)], ["a", "b"])


def test_the_cli_attaches_a_video_and_refuses_one_for_facebook_with_the_fix(home: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", BASE)
    runner = CliRunner()
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    for platform in ("x", "facebook"):
        assert runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", platform, "--handle", "acme"]).exit_code == 0
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(20.0, 1280, 720))
    ok = runner.invoke(app, ["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Watch", "--at", "2030-01-01T10:00",
                             "--media", str(clip)])
    assert ok.exit_code == 0, ok.output
    assert len(list((home / "media").glob("*.mp4"))) == 1
    refused = runner.invoke(app, ["social", "schedule", "--merchant", "acme", "--account", "2", "--text", "Watch", "--at", "2030-01-01T10:00",
                                  "--media", str(clip)])
    assert refused.exit_code == 2 and "resumable upload" in refused.output and "Meta Business Suite" in refused.output


def test_check_media_names_every_refused_file_and_stores_nothing(tmp_path: Path) -> None:
    clip = mp4(12.0, 1080, 1350)
    files = [("clip.mp4", clip), ("late.mp4", mp4(12.0, 1080, 1920, moov_first=False)), ("wide.jpg", image("JPEG", (1500, 500))),
             ("cut.mp4", clip[:-30])]
    with pytest.raises(media.ImageProblemsError) as refused:
        video.check_media("instagram", files, [])
    assert [p.split(" ")[:3] for p in refused.value.problems] == [
        ["cannot", "attach", "late.mp4"], ["cannot", "attach", "wide.jpg"], ["cut.mp4", "is", "not"]]
    with pytest.raises(QueueError, match="these files to a facebook post: media: has a video; Facebook Page videos") as once:
        video.check_media("facebook", [("clip.mp4", clip)], [])
    assert len(once.value.problems) == 1  # the platform's refusal, said once
    checked = video.check_media("instagram", [("a.jpg", image()), ("clip.mp4", clip)], ["A mug"])
    assert [(type(c).__name__, c.alt, c.name.rsplit(".", 1)[1]) for c in checked] == [("CheckedImage", "A mug", "jpg"), ("CheckedVideo", "", "mp4")]
    assert not any(tmp_path.iterdir())
    media.store_checked(tmp_path, checked)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(c.name for c in checked)
    assert (tmp_path / checked[1].name).read_bytes() == clip


def test_attach_media_stores_nothing_when_a_later_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    with pytest.raises(QueueError, match="late.mp4 to a instagram post"):
        video.attach_media(folder, BASE, "instagram", [("clip.mp4", mp4(12.0, 1080, 1350)), ("late.mp4", mp4(12.0, 1080, 1920, moov_first=False))], [])
    assert not folder.exists()


def test_the_cli_checks_every_file_before_storing_any(home: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMPAIGNS_PUBLIC_URL", BASE)
    runner = CliRunner()
    assert runner.invoke(app, ["merchants", "add", "acme"]).exit_code == 0
    assert runner.invoke(app, ["accounts", "add", "--merchant", "acme", "--platform", "instagram", "--handle", "17841400000000001"]).exit_code == 0
    good, late = tmp_path / "good.mp4", tmp_path / "late.mp4"
    good.write_bytes(mp4(12.0, 1080, 1350))
    late.write_bytes(mp4(12.0, 1080, 1920, moov_first=False))
    command = ["social", "schedule", "--merchant", "acme", "--account", "1", "--text", "Watch", "--at", "2030-01-01T10:00", "--media", str(good)]
    refused = runner.invoke(app, [*command, "--media", str(late)])
    assert refused.exit_code == 2 and "late.mp4" in refused.output and "faststart" in refused.output, refused.output
    media_dir = home / "media"
    assert not media_dir.exists() or not any(media_dir.iterdir())  # good.mp4, first and acceptable, was not stored either
    assert json.loads(runner.invoke(app, ["social", "queue", "--merchant", "acme", "--json"]).output) == []  # nothing queued
    ok = runner.invoke(app, command)
    assert ok.exit_code == 0 and "queued post 1" in ok.output, ok.output
    assert [p.read_bytes() for p in media_dir.glob("*.mp4")] == [good.read_bytes()]


# --- publishing ---------------------------------------------------------------------------------------
class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_a_video_post_survives_a_failed_upload_and_publishes_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))  # serves /media/<name> as the endpoint does
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake = FakeX().start()
    cipher = TokenCipher(generate_key())
    publisher = XPublisher(fake.url(), client_id="client-abc", timeout=3.0, chunk_size=1024, sleep=lambda _s: None)
    clip = mp4(9.0, 1280, 720, mdat_bytes=3000)
    try:
        urls, alts = video.attach_media(tmp_path / "media", f"http://127.0.0.1:{server.server_address[1]}", "x", [("clip.mp4", clip)], [])
        now = datetime.now(UTC).replace(microsecond=0)
        with session_scope(url) as s:
            ensure_merchant(s, "acme")
            account = add_account(s, "acme", "x", FakeX.USER_ID, actor="ana", access_token="x-access-1", cipher=cipher).id
            schedule_text(s, "acme", account_id=account, text="The making of the tote", scheduled_at=now - timedelta(minutes=1), author="ana",
                          media=urls, media_alt=alts)
        fake.fail_next("append", "500", times=3)  # one segment fails on every try: the post is retried later, nothing posted
        first = publish_due(url, {"x": publisher}, "w1", now, cipher=cipher)
        second = publish_due(url, {"x": publisher}, "w1", now + timedelta(hours=2), cipher=cipher)
        third = publish_due(url, {"x": publisher}, "w1", now + timedelta(hours=4), cipher=cipher)
    finally:
        publisher.close()
        fake.stop()
        server.shutdown()
        server.server_close()
    assert first.counts() == {"QUEUED": 1} and second.counts() == {"PUBLISHED": 1} and third.counts() == {}
    (tweet,) = fake.tweets
    assert fake.uploads[tweet["media_ids"][0]]["data"] == clip


def test_the_public_endpoint_serves_a_stored_video_with_its_type_and_ranges(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet
    from fastapi.testclient import TestClient

    from campaigns.api.app import create_app
    from campaigns.core.settings import Settings

    settings = Settings(home=tmp_path / "home", token_key=Fernet.generate_key().decode(), public_url=BASE)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    clip = mp4(6.0, 640, 360, mdat_bytes=500)
    stored = video.store_video(settings.media_dir, clip, "clip.mp4")
    client = TestClient(create_app(settings, url, api=False))
    whole = client.get(f"/media/{stored.name}")
    assert whole.status_code == 200 and whole.content == clip and whole.headers["content-type"] == "video/mp4"
    part = client.get(f"/media/{stored.name}", headers={"Range": "bytes=0-7"})  # players and platforms fetch videos in ranges
    assert part.status_code == 206 and part.content == clip[:8]


def test_a_linkedin_video_whose_upload_urls_expired_is_retried_by_the_worker_and_posted_once(tmp_path: Path) -> None:
    from publishers.linkedin import LinkedInPublisher
    from tests.publishers.fake_platforms import FakeLinkedIn

    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake = FakeLinkedIn().start()
    fake.part_size = 40 * 1024
    cipher = TokenCipher(generate_key())
    publisher = LinkedInPublisher(fake.url(), timeout=3.0, poll_interval=0, sleep=lambda _s: None)
    clip = mp4(30.0, 1280, 720, mdat_bytes=100 * 1024)  # over LinkedIn's 75 KB minimum: three parts
    try:
        urls, alts = video.attach_media(tmp_path / "media", f"http://127.0.0.1:{server.server_address[1]}", "linkedin", [("clip.mp4", clip)], [])
        now = datetime.now(UTC).replace(microsecond=0)
        with session_scope(url) as s:
            ensure_merchant(s, "acme")
            account = add_account(s, "acme", "linkedin", "urn:li:organization:5515715", actor="ana", access_token="li-token-1", cipher=cipher).id
            schedule_text(s, "acme", account_id=account, text="How the tote is made", scheduled_at=now - timedelta(minutes=1), author="ana",
                          media=urls, media_alt=alts)
        fake.fail_next("upload", "expired", times=2)  # the first upload's URLs and the fresh one's both expire
        first = publish_due(url, {"linkedin": publisher}, "w1", now, cipher=cipher)
        second = publish_due(url, {"linkedin": publisher}, "w1", now + timedelta(hours=2), cipher=cipher)
    finally:
        publisher.close()
        fake.stop()
        server.shutdown()
        server.server_close()
    assert first.counts() == {"QUEUED": 1} and second.counts() == {"PUBLISHED": 1}
    (post,) = fake.posts
    assert fake.video_bytes(post["content"]["media"]["id"]) == clip and len(fake.videos) == 3
