"""Videos on posts: MP4 files probed without a media library, checked per platform, stored by content.

A short MP4 is read by walking its boxes (ISO/IEC 14496-12): `moov/mvhd` gives the duration
(timescale and duration), the `tkhd` of the track whose `hdlr` says `vide` gives the display
width and height (16.16 fixed point; a 90° matrix swaps them). Nothing is decoded, so no
ffmpeg is needed. Videos are stored beside the images (same folder, same content-addressed
names, ``<sha256>.mp4``) and served by the same public endpoint; each platform's rules come
from `publishers.limits.VIDEO_RULES`.

A post's whole set of files (images, videos, or both where the platform allows) is checked here (`check_media`), and
scheduling a post with files attached is `schedule_with_media` / `schedule_approved_with_media`, for images alone too.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from campaigns.content.approvals import content_hash, require_approval
from campaigns.core.audit import record
from campaigns.core.store.models import SocialQueueItem
from campaigns.social.accounts import QueueError, get_account
from campaigns.social.media import NAME, CheckedImage, ImageProblemsError, as_store, check_images, store_checked
from campaigns.social.media_store import LocalMediaStore, MediaStore
from campaigns.social.scheduling import schedule_text
from publishers.limits import VideoFacts, check_media_set, check_video, limits_for

MAX_VIDEO_BYTES = 512 * 1024 * 1024  # the largest any platform here takes (X); each platform's own limit is checked too
MAX_INDEX_BYTES = 64 * 1024 * 1024  # a short video's moov box is kilobytes to a few megabytes
_CONTAINERS = {b"moov", b"trak", b"mdia"}


@dataclass(frozen=True)
class Mp4Facts:
    """What the boxes of an MP4 say: duration in seconds, display pixels, and whether `moov` comes before `mdat`."""

    duration: float
    width: int
    height: int
    faststart: bool


class NotMp4(ValueError):
    """The bytes are not an MP4 this module can read; the message says what is wrong."""


def looks_like_mp4(data: bytes) -> bool:
    """An ISO base media file starts with an `ftyp` box."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if pos + 16 > end:
                raise NotMp4(f"the {kind.decode('latin-1')} box at byte {pos} is cut off")
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = end - pos
        if size < header or pos + size > end:
            raise NotMp4(f"the {kind.decode('latin-1')} box at byte {pos} claims {size} bytes; the file is truncated or not an MP4")
        yield kind, pos + header, pos + size
        pos += size


def probe_mp4(data: bytes) -> Mp4Facts:
    """Duration, display size and box order of an MP4, from `mvhd`, `tkhd` and `hdlr` alone (pure; raises NotMp4)."""
    if not looks_like_mp4(data):
        raise NotMp4("no ftyp box at the start; it is not an MP4 file")
    top = list(_boxes(data, 0, len(data)))
    kinds = [kind for kind, _, _ in top]
    if b"moov" not in kinds:
        raise NotMp4("no moov box: the file has no index (was it cut off while recording or copying?)")
    _, moov_start, moov_end = top[kinds.index(b"moov")]
    faststart = b"mdat" not in kinds or kinds.index(b"moov") < kinds.index(b"mdat")
    duration: float | None = None
    size: tuple[int, int] | None = None
    for kind, start, end in _boxes(data, moov_start, moov_end):
        if kind == b"mvhd":
            duration = _movie_duration(data, start, end)
        elif kind == b"trak" and size is None:
            size = _video_track_size(data, start, end)
    if duration is None:
        raise NotMp4("the moov box has no mvhd (movie header), so its duration is unknown")
    if size is None:
        raise NotMp4("no video track (a trak whose handler is vide with a width and height); it may be audio only")
    return Mp4Facts(duration, size[0], size[1], faststart)


def probe_mp4_file(path: Path) -> Mp4Facts:
    """`probe_mp4` for a stored file, reading only its `ftyp` and `moov` boxes (the media data is skipped, not read)."""
    kept, order = [], []
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        pos = 0
        while pos + 8 <= size:
            handle.seek(pos)
            header = handle.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            header_size = 8
            if box_size == 1 and len(header) == 16:
                box_size, header_size = struct.unpack(">Q", header[8:16])[0], 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < header_size or pos + box_size > size:
                raise NotMp4(f"the {kind.decode('latin-1')} box at byte {pos} claims {box_size} bytes; the file is truncated or not an MP4")
            order.append(kind)
            if kind in (b"ftyp", b"moov"):
                if box_size > MAX_INDEX_BYTES:
                    raise NotMp4(f"the {kind.decode('latin-1')} box is {box_size} bytes, more than a short video's index")
                handle.seek(pos)
                kept.append(handle.read(box_size))
            pos += box_size
    facts = probe_mp4(b"".join(kept))
    faststart = b"mdat" not in order or (b"moov" in order and order.index(b"moov") < order.index(b"mdat"))
    return replace(facts, faststart=faststart)


def _movie_duration(data: bytes, start: int, end: int) -> float:
    version = data[start] if start < end else None
    if version == 0 and end - start >= 20:
        timescale, duration = struct.unpack(">II", data[start + 12:start + 20])
    elif version == 1 and end - start >= 32:
        timescale, duration = struct.unpack(">IQ", data[start + 20:start + 32])
    else:
        raise NotMp4("the mvhd box is too short or of an unknown version")
    if timescale == 0:
        raise NotMp4("the mvhd box has a timescale of 0")
    return duration / timescale


def _video_track_size(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(width, height) as displayed, if this trak is a video track."""
    header = None
    handler = None
    for kind, s, e in _boxes(data, start, end):
        if kind == b"tkhd":
            header = (s, e)
        elif kind == b"mdia":
            for inner, hs, he in _boxes(data, s, e):
                if inner == b"hdlr" and he - hs >= 12:
                    handler = data[hs + 8:hs + 12]
    if header is None or handler != b"vide":
        return None
    s, e = header
    version = data[s]
    offset = s + (88 if version == 1 else 76)  # past the times, ids, duration, layer, volume and the 3x3 matrix
    if offset + 8 > e:
        raise NotMp4("the video track's tkhd box is too short")
    matrix_at = offset - 36
    a, b, _u, c, d = struct.unpack(">5i", data[matrix_at:matrix_at + 20])
    width, height = (v >> 16 for v in struct.unpack(">II", data[offset:offset + 8]))
    if a == 0 and d == 0 and b != 0 and c != 0:  # rotated a quarter turn: shown the other way round
        width, height = height, width
    return (width, height) if width and height else None


def read_video(data: bytes, where: str) -> VideoFacts:
    """The facts of an MP4 file, or a QueueError naming the file and the fix."""
    if not data:
        raise QueueError(f"{where} is empty; attach the video file itself")
    if len(data) > MAX_VIDEO_BYTES:
        raise QueueError(f"{where} is {len(data) / 1024 / 1024:.0f} MB; videos of up to {MAX_VIDEO_BYTES // 1024 // 1024} MB can be attached: "
                         "shorten or compress it")
    if data[8:12] == b"qt  ":  # QuickTime's brand: the same boxes, but not every platform takes a .mov
        raise QueueError(f"{where} is a QuickTime (MOV) file; export it as MP4 (H.264) and attach that")
    try:
        facts = probe_mp4(data)
    except NotMp4 as exc:
        raise QueueError(f"{where} is not a readable MP4 video ({exc}); export it again as MP4 (H.264)") from None
    return VideoFacts("video/mp4", len(data), facts.duration, facts.width, facts.height, facts.faststart)


@dataclass(frozen=True)
class StoredVideo:
    name: str  # <sha256>.mp4
    path: Path | None  # the local file; None in a bucket
    facts: VideoFacts


def store_video(store: MediaStore | Path, data: bytes, where: str) -> StoredVideo:
    """Check and store one MP4 under its content hash, beside the images (the same bytes give the same name, stored once)."""
    facts = read_video(data, where)
    name = f"{hashlib.sha256(data).hexdigest()}.mp4"
    target = as_store(store)
    target.put(name, data, "video/mp4")
    return StoredVideo(name, target.path(name) if isinstance(target, LocalMediaStore) else None, facts)


VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")


def is_video(filename: str, data: bytes) -> bool:
    """A file is read as a video when its bytes are an MP4 or its name says it is one (so a broken video is named as a video)."""
    return looks_like_mp4(data) or filename.lower().endswith(VIDEO_SUFFIXES)


@dataclass(frozen=True)
class CheckedVideo:
    """An MP4 read and checked for one platform, not stored yet (the video counterpart of `media.CheckedImage`)."""

    filename: str
    name: str  # <sha256>.mp4, its name once stored
    data: bytes = field(repr=False)
    alt: str  # always "": alt text is for images only
    facts: VideoFacts


CheckedMedia = CheckedImage | CheckedVideo


def check_media(platform: str, files: Sequence[tuple[str, bytes]], alts: Sequence[str]) -> list[CheckedMedia]:
    """Read every image and MP4 video and check it, and the set of them, against `platform`'s rules, storing nothing.

    As `media.check_images`, every file's problems are gathered before anything is refused: one ImageProblemsError
    names them all, each with its fix (a video on Facebook, a video beside images on X or LinkedIn, too long a clip...).
    """
    if len(alts) > len(files):
        raise QueueError(f"{len(alts)} alt texts for {len(files)} files; give at most one alt text per file, in order")
    kinds = ["video" if is_video(filename, data) else "image" for filename, data in files]
    problems: list[str] = []
    if issues := check_media_set(platform, kinds):
        problems.append(f"cannot attach these files to a {platform} post: " + "; ".join(str(i) for i in issues))
    takes_video = limits_for(platform).max_videos > 0  # otherwise the set's problem already says why and what to do
    checked: list[CheckedMedia] = []
    for number, (filename, data) in enumerate(files):
        alt = alts[number] if number < len(alts) else ""
        if kinds[number] == "image":
            try:
                [image] = check_images(platform, [(filename, data)], [alt])
            except ImageProblemsError as exc:
                problems.extend(exc.problems)
            else:
                checked.append(image)
            continue
        try:
            facts = read_video(data, filename)
        except QueueError as exc:
            problems.append(str(exc))
            continue
        if takes_video and (issues := check_video(platform, facts, alt, where=filename)):
            problems.append(f"cannot attach {filename} to a {platform} post: " + "; ".join(str(i) for i in issues))
            continue
        checked.append(CheckedVideo(filename, f"{hashlib.sha256(data).hexdigest()}.mp4", data, "", facts))
    if problems:
        raise ImageProblemsError(problems)
    return checked


def attach_media(store: MediaStore | Path, base_url: str | None, platform: str, files: list[tuple[str, bytes]],
                 alts: list[str]) -> tuple[list[str], list[str]]:
    """Check every image and MP4 video against `platform`'s rules, then store them all; returns (URLs, alt texts) for the post.

    `store` is the media store, or a folder served at `base_url`/media/ (as for `attach_images`). A refusal stores nothing.
    Inside a transaction that queues the post, prefer `check_media`, queue, then `store_checked` (as `schedule_with_media`)."""
    checked = check_media(platform, files, alts)
    target = as_store(store, base_url)
    store_checked(target, checked)
    return [target.url(item.name) for item in checked], [item.alt for item in checked]


# Kept as first named for compatibility: audit log rows and their readers use it, and it covers posts with videos too.
AUDIT_SCHEDULE_APPROVED_WITH_MEDIA = "social.schedule_with_images"


def schedule_with_media(session: Session, merchant_id: str, *, account_id: int, text: str, scheduled_at: datetime, author: str,
                        files: Sequence[tuple[str, bytes]], alts: Sequence[str], store: MediaStore | Path, base_url: str | None,
                        campaign_id: str | None = None) -> SocialQueueItem:
    """Queue a person's own post with images or MP4 videos (as `scheduling.schedule_text`; their approval covers the text, the
    files and the alt texts). The one way a post is scheduled with files attached (the CLI and the app call it).

    The files are checked against the account's platform first (`check_media`) and stored last, inside the caller's
    transaction: when the files, the text or the account are refused, no file is written and nothing is queued.
    """
    account = get_account(session, merchant_id, account_id)
    checked = check_media(account.platform, files, alts)
    target = as_store(store, base_url)
    item = schedule_text(session, merchant_id, account_id=account_id, text=text, scheduled_at=scheduled_at, author=author,
                         media=[target.url(c.name) for c in checked], media_alt=[c.alt for c in checked], campaign_id=campaign_id)
    store_checked(target, checked)  # a failed write raises here, and the transaction (the queued item) rolls back
    return item


def schedule_approved_with_media(session: Session, merchant_id: str, *, kind: str, content_id: int, text: str, account_id: int,
                                 scheduled_at: datetime, actor: str, files: Sequence[tuple[str, bytes]], alts: Sequence[str],
                                 store: MediaStore | Path, base_url: str | None) -> SocialQueueItem:
    """Queue approved text (`kind` `content_id`, approved for exactly `text`) with images or videos added while scheduling.

    The draft's approval covers its text only; the person adding the files approves the post with them as their author,
    so the queue item's approval covers text, files and alt texts. Under the merchant's four-eyes rule that is refused
    (FourEyesError): nobody approves media they added themselves.
    """
    text_approval = require_approval(session, merchant_id, kind, content_id, content_hash(text))
    item = schedule_with_media(session, merchant_id, account_id=account_id, text=text, scheduled_at=scheduled_at, author=actor,
                               files=files, alts=alts, store=store, base_url=base_url)
    record(session, merchant_id, actor, AUDIT_SCHEDULE_APPROVED_WITH_MEDIA, "social_queue", str(item.id), text_approved_as=f"{kind}:{content_id}",
           text_approval_id=text_approval.id, images=len(item.media or ()))
    return item


def video_durations(store: MediaStore | Path, urls: Sequence[str]) -> dict[str, float]:
    """Duration in seconds of each stored video among `urls` (by its content name), for previews; others are left out.

    Read off local files only: a preview never downloads a video from a bucket (it then says "Video")."""
    target = as_store(store)
    if not isinstance(target, LocalMediaStore):
        return {}
    media_dir = target.folder
    durations = {}
    for url in urls:
        name = url.rsplit("/", 1)[-1]
        if not name.endswith(".mp4") or not NAME.match(name):
            continue
        try:
            durations[url] = probe_mp4_file(media_dir / name).duration
        except (OSError, NotMp4):
            continue
    return durations
