"""Images on a post in the app: an uploader with an alt text per image, checked by the platform's rules before anything
is stored, and the pictures for the preview. Any form that schedules a post (the Social Scheduler's compose form, a
Content Studio draft) calls `image_uploader` and passes its files and alt texts to the social context's service.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from campaigns.social.accounts import QueueError
from campaigns.social.media import check_images
from dashboards import ui
from publishers.limits import IMAGE_RULES, LIMITS

UPLOAD_TYPES = ["jpg", "jpeg", "png", "gif", "webp"]
PREVIEW_SIDE = 480  # pixels: the preview gets a small copy, never the whole upload


@dataclass(frozen=True)
class Attachments:
    """What the person attached: (filename, bytes) files, an alt text per file, and what the platform would refuse."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counted(self) -> list[str]:
        """Stand-ins for the images' URLs, for the text checks that count images (the real URLs exist once stored)."""
        return [f"https://upload.invalid/{n}" for n in range(len(self.files))]

    def previews(self) -> list[str]:
        """The images as small data URIs for the platform previews."""
        return [preview_uri(data) for _, data in self.files]


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


def image_uploader(key: str, platform: str) -> Attachments:
    """The uploader and one alt-text field per image; the images are checked for `platform` and problems shown under them.

    Widget keys: `{key}_images` and `{key}_alt_<first 12 hex digits of the file's SHA-256>`.
    """
    limits, rules = LIMITS[platform], IMAGE_RULES.get(platform)
    if limits.sendable_media == 0 or rules is None:
        st.caption(f"Images cannot be attached to {platform} posts yet; put a link in the text instead.")
        return Attachments()
    kinds = ", ".join(sorted(t.split("/")[1].upper() for t in rules.types))
    uploaded = st.file_uploader("Images", type=UPLOAD_TYPES, accept_multiple_files=True, key=f"{key}_images",
                                help=f"{platform} takes {kinds}, up to {rules.max_bytes // 1024 // 1024} MB and "
                                     f"{limits.sendable_media} image(s) per post. Nothing is stored until the post is scheduled.")
    files = [(Path(f.name).name or "image", f.getvalue()) for f in uploaded or []]
    alts = []
    for name, data in files:
        digest = hashlib.sha256(data).hexdigest()[:12]
        alts.append(st.text_input(f"Alt text for {name}", key=f"{key}_alt_{digest}", max_chars=rules.max_alt_text,
                                  placeholder="What the image shows, for people who cannot see it"))
    problems: list[str] = []
    if files:
        try:
            check_images(platform, files, alts)
        except QueueError as exc:
            problems = list(getattr(exc, "problems", [str(exc)]))
    for problem in problems:
        ui.field_error(problem)
    return Attachments(files, alts, problems)
