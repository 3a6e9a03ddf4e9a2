"""Images on posts: checked per platform, stored content-addressed under CAMPAIGNS_HOME/media, served by URL.

Platforms fetch or receive images from a URL: Instagram downloads `image_url` itself, and X
takes an upload this product makes from the same URL. So every image is stored once under its
SHA-256 (the same file attached twice is one file) and served at
``CAMPAIGNS_PUBLIC_URL/media/<sha256>.<ext>`` by the public endpoint. A file is read with
Pillow before anything is stored: its real type (not its name), its pixels, and each target
platform's rules from `publishers.limits`. Where the bytes live (the local folder or an
S3-compatible bucket) is the `media_store.MediaStore` the caller passes; a folder stands for the
local store. Scheduling a post with its images (and videos) is `video.schedule_with_media`.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from campaigns.social.accounts import QueueError
from campaigns.social.media_store import LocalMediaStore, MediaStore, product_url
from publishers.limits import ImageFacts, check_image

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif"), "WEBP": ("image/webp", "webp")}
VIDEO_FORMATS = {"MP4": ("video/mp4", "mp4")}  # probed and stored by campaigns.social.video
MIME_OF_EXT = {ext: mime for mime, ext in (*FORMATS.values(), *VIDEO_FORMATS.values())}
MAX_BYTES = 15 * 1024 * 1024  # the largest any platform takes; each platform's own limit is checked too
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding
NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|gif|webp|mp4)$")


@dataclass(frozen=True)
class StoredImage:
    name: str  # <sha256>.<ext>
    path: Path | None  # the file in a local store; None in a bucket
    facts: ImageFacts


def as_store(store: MediaStore | Path, base_url: str | None = None) -> MediaStore:
    """A folder stands for the local store serving at `base_url`/media/."""
    return LocalMediaStore(store, base_url) if isinstance(store, Path) else store


def read_image(data: bytes, where: str) -> ImageFacts:
    """The type and pixels of an image file, or a QueueError naming the file and the fix."""
    from PIL import Image, UnidentifiedImageError  # Pillow loads only when an image is attached

    if not data:
        raise QueueError(f"{where} is empty; attach the image file itself")
    if len(data) > MAX_BYTES:
        raise QueueError(f"{where} is {len(data) / 1024 / 1024:.1f} MB; images of up to {MAX_BYTES // 1024 // 1024} MB can be attached: compress it")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise QueueError(f"{where} is {image.width}x{image.height} px; resize it under {MAX_PIXELS // 1_000_000} megapixels")
            kind = image.format
            image.verify()  # a truncated or corrupt file fails here, not on the platform
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise QueueError(f"{where} is not a readable image; attach a JPEG, PNG, GIF or WebP file") from None
    if kind not in FORMATS:
        raise QueueError(f"{where} is a {kind} image; attach a JPEG, PNG, GIF or WebP file")
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return ImageFacts(FORMATS[kind][0], len(data), width, height)


def store_image(store: MediaStore | Path, data: bytes, where: str) -> StoredImage:
    """Check and store one image under its content hash (idempotent: the same bytes give the same name, stored once)."""
    facts = read_image(data, where)
    name = f"{hashlib.sha256(data).hexdigest()}.{FORMATS[next(k for k, v in FORMATS.items() if v[0] == facts.mime)][1]}"
    target = as_store(store)
    target.put(name, data, facts.mime)
    return StoredImage(name, target.path(name) if isinstance(target, LocalMediaStore) else None, facts)


def public_url(base: str | None, name: str) -> str:
    return product_url(base, name)


def attach_images(store: MediaStore | Path, base_url: str | None, platform: str, files: list[tuple[str, bytes]],
                  alts: list[str]) -> tuple[list[str], list[str]]:
    """Store each (name, bytes) file and check it against `platform`'s rules; returns (URLs, alt texts) for the post.

    `store` is the media store (its own public URL), or a folder served at `base_url`/media/."""
    if len(alts) > len(files):
        raise QueueError(f"{len(alts)} alt texts for {len(files)} images; give at most one alt text per image, in order")
    target = as_store(store, base_url)
    urls = []
    for number, (filename, data) in enumerate(files):
        alt = alts[number] if number < len(alts) else ""
        facts = read_image(data, filename)
        if issues := check_image(platform, facts, alt, where=filename):  # checked before anything is uploaded
            raise QueueError(f"cannot attach {filename} to a {platform} post: " + "; ".join(str(i) for i in issues))
        urls.append(target.url(store_image(target, data, filename).name))
    return urls, [alts[n] if n < len(alts) else "" for n in range(len(files))]


def read_stored(store: MediaStore, name: str) -> tuple[bytes, str] | None:
    """(bytes, MIME type) of a stored image for the public endpoint, or None: only names this module writes are asked for."""
    if not NAME.match(name):
        return None
    data = store.open(name)
    return None if data is None else (data, MIME_OF_EXT[name.rsplit(".", 1)[1]])


def stored_name(data: bytes, facts: ImageFacts) -> str:
    """The name `store_image` gives these bytes: <sha256>.<ext>."""
    return f"{hashlib.sha256(data).hexdigest()}.{FORMATS[next(k for k, v in FORMATS.items() if v[0] == facts.mime)][1]}"


class ImageProblemsError(QueueError):
    """Images a platform would refuse: one message per file, each naming the file and the fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class CheckedImage:
    """An image read and checked for one platform, not stored yet."""

    filename: str
    name: str  # <sha256>.<ext>, its name once stored
    data: bytes = field(repr=False)
    alt: str
    facts: ImageFacts


def check_images(platform: str, files: Sequence[tuple[str, bytes]], alts: Sequence[str]) -> list[CheckedImage]:
    """Read every (filename, bytes) file and check it against `platform`'s rules, storing nothing.

    Every file's problems are gathered before anything is refused, so one QueueError names them all, each with its fix.
    """
    if len(alts) > len(files):
        raise QueueError(f"{len(alts)} alt texts for {len(files)} images; give at most one alt text per image, in order")
    checked, problems = [], []
    for number, (filename, data) in enumerate(files):
        alt = alts[number] if number < len(alts) else ""
        try:
            facts = read_image(data, filename)
        except QueueError as exc:
            problems.append(str(exc))
            continue
        if issues := check_image(platform, facts, alt, where=filename):
            problems.append(f"cannot attach {filename} to a {platform} post: " + "; ".join(str(i) for i in issues))
            continue
        checked.append(CheckedImage(filename, stored_name(data, facts), data, alt, facts))
    if problems:
        raise ImageProblemsError(problems)
    return checked


def store_checked(store: MediaStore | Path, images: Sequence[CheckedImage]) -> None:
    """Write files already checked (images, or the videos of `video.check_media`) under their content names."""
    target = as_store(store)
    for image in images:
        target.put(image.name, image.data, image.facts.mime)


def open_stored(media_dir: Path, name: str) -> tuple[Path, str] | None:
    """(path, MIME type) of a stored image or video for the public endpoint, or None: only names this module wrote are served."""
    if not NAME.match(name):
        return None
    path = media_dir / name
    return (path, MIME_OF_EXT[name.rsplit(".", 1)[1]]) if path.is_file() else None
