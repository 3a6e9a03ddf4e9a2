"""Post images in an S3-compatible bucket: real boto3 over real HTTP against the local fake S3 server (SigV4 checked)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from campaigns.api.app import create_app
from campaigns.core.settings import Settings
from campaigns.social import media
from campaigns.social.media_store import LocalMediaStore, MediaStoreError, S3MediaStore, media_store
from tests.campaigns.social.fake_s3 import FakeS3


def image(kind: str = "JPEG", colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1080, 1080), colour).save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture
def s3():
    fake = FakeS3().start()
    yield fake
    fake.stop()


def settings_for(fake: FakeS3, tmp_path: Path, **overrides) -> Settings:
    values = {"home": tmp_path / "home", "public_url": "https://shop.example.com", "media_s3_bucket": "media", "media_s3_endpoint_url": fake.url,
              "media_s3_access_key_id": "AKIDFAKE", "media_s3_secret_access_key": "fake-secret-key", **overrides}
    return Settings(**values)


def test_an_attached_image_goes_to_the_bucket_and_is_served_by_the_media_route(s3, tmp_path, store_url) -> None:
    settings = settings_for(s3, tmp_path)
    store = media_store(settings)
    assert isinstance(store, S3MediaStore)
    data = image()
    urls, alts = media.attach_images(store, None, "instagram", [("hero.jpg", data)], ["A blue mug on a shelf"])
    name = urls[0].rsplit("/", 1)[1]
    assert urls[0] == f"https://shop.example.com/media/{name}" and alts == ["A blue mug on a shelf"]
    assert s3.buckets["media"][name] == (data, "image/jpeg")
    assert not (tmp_path / "home" / "media").exists()  # nothing written locally
    client = TestClient(create_app(settings, store_url, api=False))
    served = client.get(f"/media/{name}")
    assert served.status_code == 200 and served.content == data and served.headers["content-type"] == "image/jpeg"
    assert "immutable" in served.headers["cache-control"]
    assert client.get(f"/media/{'0' * 64}.jpg").status_code == 404  # a well-formed name the bucket does not hold
    assert client.get("/media/..%2Fapp.db").status_code == 404


def test_a_public_bucket_url_is_used_when_configured(s3, tmp_path) -> None:
    store = media_store(settings_for(s3, tmp_path, media_s3_public_url="https://cdn.example.com/media/"))
    (url,), _ = media.attach_images(store, None, "x", [("a.png", image("PNG"))], [])
    assert url.startswith("https://cdn.example.com/media/") and url.endswith(".png")


def test_the_same_bytes_twice_are_uploaded_once(s3, tmp_path) -> None:
    store = media_store(settings_for(s3, tmp_path))
    data = image()
    first = media.store_image(store, data, "a.jpg")
    again = media.store_image(store, data, "b.jpg")
    other = media.store_image(store, image(colour=(200, 10, 10)), "c.jpg")
    assert first.name == again.name != other.name and first.path is None
    assert s3.puts() == 2 and [m for m, _ in s3.requests] == ["HEAD", "PUT", "HEAD", "HEAD", "PUT"]
    assert store.exists(first.name) and store.open(first.name) == data and store.open(f"{'f' * 64}.jpg") is None


@pytest.mark.parametrize(("overrides", "code"), [
    ({"media_s3_secret_access_key": "not-the-secret"}, "403"),  # HEAD answers carry no XML body: the status tells
    ({"media_s3_access_key_id": "AKIDWRONG"}, "403"),
])
def test_wrong_credentials_name_the_settings_and_never_the_secret(s3, tmp_path, overrides, code) -> None:
    store = media_store(settings_for(s3, tmp_path, **overrides))
    with pytest.raises(MediaStoreError) as caught:
        media.store_image(store, image(), "a.jpg")
    message = str(caught.value)
    assert "CAMPAIGNS_MEDIA_S3_ACCESS_KEY_ID" in message and "CAMPAIGNS_MEDIA_S3_SECRET_ACCESS_KEY" in message and code in message
    assert f"key id {overrides.get('media_s3_access_key_id', 'AKIDFAKE')}" in message
    assert "not-the-secret" not in message and "fake-secret-key" not in message and "fake-secret-key" not in repr(store)
    assert s3.buckets["media"] == {}


def test_a_missing_bucket_names_the_setting(s3, tmp_path, store_url) -> None:
    settings = settings_for(s3, tmp_path, media_s3_bucket="no-such-bucket")
    with pytest.raises(MediaStoreError, match="bucket 'no-such-bucket' does not exist at http://127.0.0.1:.*CAMPAIGNS_MEDIA_S3_BUCKET"):
        media.store_image(media_store(settings), image(), "a.jpg")
    # the public route does not leak the configuration to whoever fetches the image
    served = TestClient(create_app(settings, store_url, api=False)).get(f"/media/{'a' * 64}.jpg")
    assert served.status_code == 503 and "bucket" not in served.text


def test_slow_down_is_retried_by_boto3_then_succeeds(s3, tmp_path) -> None:
    store = media_store(settings_for(s3, tmp_path))
    s3.fail_next(503, "SlowDown", times=2)  # the HEAD twice: retried with backoff, then the PUT
    stored = media.store_image(store, image(), "a.jpg")
    assert [m for m, _ in s3.requests] == ["HEAD", "HEAD", "HEAD", "PUT"] and stored.name in s3.buckets["media"]


def test_throttling_past_the_retries_is_a_clear_error(s3, tmp_path, monkeypatch) -> None:
    store = media_store(settings_for(s3, tmp_path))
    s3.fail_next(503, "SlowDown", times=10)
    with pytest.raises(MediaStoreError, match="failed .*after 4 attempts; try again later"):
        store.put(f"{'b' * 64}.jpg", b"x", "image/jpeg")
    assert len(s3.requests) == 4


def test_the_local_folder_is_the_default_and_half_a_key_pair_is_refused(tmp_path) -> None:
    local = media_store(Settings(home=tmp_path, public_url="https://shop.example.com"))
    assert isinstance(local, LocalMediaStore) and local.folder == tmp_path.resolve() / "media"
    with pytest.raises(MediaStoreError, match="set both CAMPAIGNS_MEDIA_S3_ACCESS_KEY_ID and CAMPAIGNS_MEDIA_S3_SECRET_ACCESS_KEY"):
        media_store(Settings(home=tmp_path, media_s3_bucket="media", media_s3_access_key_id="AKIDFAKE"))


def test_an_unreachable_endpoint_names_the_setting(tmp_path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = media_store(Settings(home=tmp_path, media_s3_bucket="media", media_s3_endpoint_url=f"http://127.0.0.1:{port}",
                                 media_s3_access_key_id="AKIDFAKE", media_s3_secret_access_key="fake-secret-key"))
    with pytest.raises(MediaStoreError, match="cannot reach the S3 endpoint .*CAMPAIGNS_MEDIA_S3_ENDPOINT_URL"):
        store.exists(f"{'c' * 64}.jpg")
