"""Images and short videos on a post in the app: an uploader with an alt text per image, checked by the platform's rules
before anything is stored, and the pictures (a video's placeholder with its duration) for the preview. Any form that
schedules a post (the Social Scheduler's compose form, a Content Studio draft) calls `media_uploader` and passes its files
and alt texts to the social context's service (`campaigns.social.video.schedule_with_media`).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from campaigns.content.approvals import KIND_REPURPOSED
from campaigns.social.accounts import QueueError
from campaigns.social.media_store import media_store
from campaigns.social.scheduling import schedule_time
from campaigns.social.video import NotMp4, check_media, is_video, probe_mp4, schedule_approved_with_media
from dashboards import queries, ui
from dashboards.formatting import plain
from publishers.base import SocialPost
from publishers.limits import IMAGE_RULES, LIMITS, NO_VIDEO_FIX, VIDEO_RULES

UPLOAD_TYPES = ["jpg", "jpeg", "png", "gif", "webp", "mp4"]
PREVIEW_SIDE = 480  # pixels: the preview gets a small copy, never the whole upload


@dataclass(frozen=True)
class Attachments:
    """What the person attached: (filename, bytes) files, an alt text per file ("" for a video), and what the platform would refuse."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    videos: dict[int, float | None] = field(default_factory=dict)  # position of each video -> its duration in seconds, if readable

    @property
    def ok(self) -> bool:
        return not self.problems

    def counted(self) -> list[str]:
        """Stand-ins for the files' URLs, for the text checks that count media (the real URLs exist once stored)."""
        return [f"https://upload.invalid/{n}" for n in range(len(self.files))]

    def previews(self) -> list[str]:
        """The images as small data URIs and each video as a stand-in URL ending .mp4, for the platform previews."""
        return [f"https://upload.invalid/{n}.mp4" if n in self.videos else preview_uri(data) for n, (_, data) in enumerate(self.files)]

    def durations(self) -> dict[str, float]:
        """The videos' durations by their stand-in URL in `previews`, so the placeholder shows how long each runs."""
        return {f"https://upload.invalid/{n}.mp4": seconds for n, seconds in self.videos.items() if seconds is not None}

    def summary(self) -> str:
        """"1 image(s)", "1 video" or "2 image(s) and 1 video(s)", for the message once scheduled."""
        videos, images = len(self.videos), len(self.files) - len(self.videos)
        if not videos:
            return f"{images} image(s)"
        if not images:
            return "1 video" if videos == 1 else f"{videos} videos"
        return f"{images} image(s) and {videos} video(s)"


def preview_uri(data: bytes) -> str:
    """A small PNG copy of an image as a data URI (empty when it cannot be read: the uploader says why)."""
    from PIL import Image  # Pillow loads only when an image is attached

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            buffer = io.BytesIO()
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(buffer, "PNG")
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _duration(data: bytes) -> float | None:
    try:
        return probe_mp4(data).duration
    except NotMp4:
        return None  # the uploader shows why (read_video's message)


def _help(platform: str) -> str:
    limits, rules = LIMITS[platform], IMAGE_RULES[platform]
    kinds = ", ".join(sorted(t.split("/")[1].upper() for t in rules.types))
    images = f"{platform} takes {kinds} images up to {rules.max_bytes // 1024 // 1024} MB, {limits.sendable_media} per post"
    video = VIDEO_RULES.get(platform)
    if video is None:
        videos = NO_VIDEO_FIX.get(platform, f"{platform} takes no video from this product yet")
    else:
        alone = " on its own (not beside images)" if limits.video_alone else ""
        videos = (f"MP4 video{alone} up to {video.max_bytes // 1024 // 1024} MB, {video.min_seconds:g} to {video.max_seconds:g} seconds; "
                  "alt text is for images only")
    return f"{images}; {videos}. Nothing is stored until the post is scheduled."


def media_uploader(key: str, platform: str) -> Attachments:
    """The uploader (images and MP4 videos) and one alt-text field per image; every file is checked for `platform` and the
    problems shown under them, nothing stored.

    Widget keys: `{key}_images` and `{key}_alt_<first 12 hex digits of the file's SHA-256>`.
    """
    limits = LIMITS[platform]
    if limits.sendable_media == 0 or platform not in IMAGE_RULES:
        st.caption(f"Images cannot be attached to {platform} posts yet; put a link in the text instead.")
        return Attachments()
    rules = IMAGE_RULES[platform]
    uploaded = st.file_uploader("Images or video", type=UPLOAD_TYPES, accept_multiple_files=True, key=f"{key}_images", help=_help(platform))
    files = [(Path(f.name).name or "upload", f.getvalue()) for f in uploaded or []]
    alts: list[str] = []
    videos: dict[int, float | None] = {}
    for number, (name, data) in enumerate(files):
        if is_video(name, data):  # a video carries no alt text (the platforms refuse it): describe it in the text
            videos[number] = _duration(data)
            alts.append("")
            continue
        digest = hashlib.sha256(data).hexdigest()[:12]
        alts.append(st.text_input(f"Alt text for {plain(name)}", key=f"{key}_alt_{digest}", max_chars=rules.max_alt_text,
                                  placeholder="What the image shows, for people who cannot see it"))
    problems: list[str] = []
    if files:
        try:
            check_media(platform, files, alts)
        except QueueError as exc:
            problems = list(getattr(exc, "problems", [str(exc)]))
    for problem in problems:
        ui.field_error(problem)
    return Attachments(files, alts, problems, videos)


def schedule_draft_with_media(merchant_id: str, row: dict[str, Any]) -> None:
    """Content Studio: schedule an approved social draft (`row` of queries.repurposed) with images or a video attached now.

    The draft's approval covers its text; scheduling with media is the scheduler's approval of the post with them
    (`campaigns.social.video.schedule_approved_with_media`), so it needs the APPROVE permission.
    """
    platform = row["format"]
    accounts = [a for a in queries.social_accounts(queries.source(), merchant_id) if a["platform"] == platform]
    with st.expander("Schedule with images or video", icon=":material/add_photo_alternate:"):
        if not accounts:
            st.caption(f"Connect a {platform} account on the Social Scheduler page first.")
            return
        key = f"studio_media_{row['id']}"
        by_id = {a["id"]: a for a in accounts}
        account_id = st.selectbox("Account", list(by_id), key=f"{key}_account",
                                  format_func=lambda i: f"@{by_id[i]['handle'].removeprefix('@')} · {by_id[i]['timezone']}")
        zone = by_id[account_id]["timezone"]
        day_col, time_col = st.columns(2)
        ui.seed(f"{key}_date", datetime.now(UTC).astimezone(ZoneInfo(zone)).date() + timedelta(days=1))
        ui.seed(f"{key}_time", time(9, 0))
        on_day = day_col.date_input("Date", key=f"{key}_date", format="YYYY-MM-DD")
        at_time = time_col.time_input("Time", key=f"{key}_time", step=timedelta(minutes=15))
        st.caption(f"In the account's time zone, {zone}.")
        upload_round = st.session_state.setdefault(f"{key}_round", 0)
        attached = media_uploader(f"{key}_{upload_round}", platform)
        if attached.files:
            try:
                st.html(ui.publishers()[platform].preview(SocialPost(text=row["text"], media=attached.previews()),
                                                          durations=attached.durations()))
            except Exception as exc:  # a preview is a help, never a blocker
                st.caption(f"No preview: {plain(exc)}")
        ready = bool(attached.files) and attached.ok
        if ui.can("post.schedule_with_media") and st.button("Schedule with this media", key=f"{key}_schedule", type="primary",
                                                              icon=":material/schedule_send:", disabled=not ready):
            settings = queries.settings()
            try:
                item = ui.write("post.schedule_with_media", schedule_approved_with_media, merchant_id, kind=KIND_REPURPOSED,
                                content_id=row["id"], text=row["text"], account_id=account_id,
                                scheduled_at=schedule_time(datetime.combine(on_day, at_time), zone), actor=ui.actor(),
                                files=attached.files, alts=attached.alts, store=media_store(settings), base_url=settings.public_url)
            except (LookupError, ValueError, PermissionError) as exc:
                ui.flash(f"Not scheduled: {plain(exc)}", "warning")
            else:
                ui.flash(f"Scheduled rc-{row['id']} as post #{item.id} with {attached.summary()}.")
                st.session_state[f"{key}_round"] = upload_round + 1
            st.rerun()
