"""LinkedIn (versioned REST API): posts for a member or organization, with "little text" escaping,
images (Images API) and a video (Videos API).

Media is uploaded before the post and referenced by URN: an image is initialized
(``/rest/images?action=initializeUpload``), PUT to its upload URL, then named in the post's
``content.media`` (with ``altText``) or, for several, ``content.multiImage``; a video is
initialized with its size, each part PUT to its own upload URL, finalized with the parts'
ETags, and polled until AVAILABLE before the post names it. Uploads make nothing public, so
their failures are always safe to retry; only the post itself can be Ambiguous.

The commentary field is in LinkedIn's little text format, where ``\\ | { } @ [ ] ( ) < > # * _ ~``
are markup; literal ones must be backslash-escaped or the post is cut or refused. The
3,000-character limit applies to the text people see, before escaping.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from publishers import previews
from publishers.base import Credentials, Issue, Metrics, PlannedRequest, Receipt, RemotePost, SocialPost
from publishers.errors import Ambiguous, Duplicate, Rejected, Retryable
from publishers.http import DEFAULT_TIMEOUT, HttpPublisher, error_text, fetch_media, raise_for_status
from publishers.limits import IMAGE_RULES, VIDEO_RULES, check, media_kind

LITTLE_TEXT_RESERVED = frozenset("\\|{}@[]()<>#*_~")
DEFAULT_API_VERSION = "202510"  # LinkedIn-Version (YYYYMM); each version is served for about a year
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def escape_little_text(text: str) -> str:
    return "".join("\\" + ch if ch in LITTLE_TEXT_RESERVED else ch for ch in text)


def unescape_little_text(text: str) -> str:
    return _ESCAPED.sub(lambda m: m.group(1) if m.group(1) in LITTLE_TEXT_RESERVED else m.group(0), text)


class LinkedInPublisher(HttpPublisher):
    platform = "linkedin"

    def __init__(self, base_url: str, *, api_version: str = DEFAULT_API_VERSION, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None, part_attempts: int = 3, poll_interval: float = 3.0,
                 max_polls: int = 60, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        if not re.fullmatch(r"\d{6}", api_version):
            raise ValueError(f"LinkedIn-Version must be YYYYMM, e.g. {DEFAULT_API_VERSION}; got {api_version!r}")
        self.api_version = api_version
        self.part_attempts = part_attempts  # tries per uploaded part before the post is retried later
        self.poll_interval = poll_interval  # seconds between checks of a processing video
        self.max_polls = max_polls
        self._sleep = sleep

    def parts(self, post: SocialPost) -> list[str]:
        return [post.text]

    def validate(self, post: SocialPost) -> list[Issue]:
        return check("linkedin", post.text, post.media)

    def preview(self, post: SocialPost, *, name: str = "", durations: dict[str, float] | None = None) -> str:
        return previews.linkedin_preview(post.text, name=name, media=previews.media_views(post, durations))

    def _headers(self, credentials: Credentials | None = None) -> dict[str, str]:
        headers = {"LinkedIn-Version": self.api_version, "X-Restli-Protocol-Version": "2.0.0"}
        if credentials is not None:
            headers["Authorization"] = f"Bearer {credentials.access_token.get_secret_value()}"
        return headers

    def planned_requests(self, post: SocialPost, author: str = "{author-urn}") -> list[PlannedRequest]:
        uploads: list[PlannedRequest] = []
        for n, url in enumerate(post.media, start=1):
            if media_kind(url) == "video":
                uploads += [
                    PlannedRequest("POST", "/rest/videos?action=initializeUpload",
                                   {"initializeUploadRequest": {"owner": author, "fileSizeBytes": "<size>", "uploadCaptions": False, "uploadThumbnail": False},
                                    "media": url}, self._headers()),
                    PlannedRequest("PUT", "<each uploadUrl>", {"bytes": "firstByte..lastByte"}),
                    PlannedRequest("POST", "/rest/videos?action=finalizeUpload",
                                   {"finalizeUploadRequest": {"video": f"<video urn {n}>", "uploadToken": "", "uploadedPartIds": ["<etags>"]}}, self._headers()),
                    PlannedRequest("GET", f"/rest/videos/<video urn {n}>", {}, self._headers()),
                ]
            else:
                uploads += [
                    PlannedRequest("POST", "/rest/images?action=initializeUpload", {"initializeUploadRequest": {"owner": author}, "media": url}, self._headers()),
                    PlannedRequest("PUT", "<uploadUrl>", {"bytes": "the image"}),
                ]
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_little_text(post.text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.media:
            urns = [f"<{media_kind(url)} urn {n}>" for n, url in enumerate(post.media, start=1)]
            body["content"] = _content(post, urns)
        return [*uploads, PlannedRequest("POST", "/rest/posts", body, self._headers())]

    def publish(self, post: SocialPost, credentials: Credentials) -> Receipt:
        if issues := self.validate(post):
            raise Rejected("; ".join(map(str, issues)), platform="linkedin")
        if not credentials.account_ref.startswith("urn:li:"):
            raise Rejected(f"author {credentials.account_ref!r} is not a URN like urn:li:organization:123", platform="linkedin")
        planned = self.planned_requests(post, credentials.account_ref)[-1]
        body = dict(planned.body)
        if post.media:
            urns = [self._upload_video(url, credentials) if media_kind(url) == "video" else self._upload_image(url, credentials)
                    for url in post.media]
            body["content"] = _content(post, urns)
        response = self.send("POST", planned.path, creates=True, credentials=credentials, json=body, headers=self._headers(credentials))
        if response.status_code == 422 and "DUPLICATE_POST" in response.text:
            raise Duplicate(f"LinkedIn refused a duplicate post: {error_text(response)}", platform="linkedin", status_code=422, secrets=credentials.secrets())
        raise_for_status(response, "linkedin", creates=True, credentials=credentials)
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise Ambiguous(f"LinkedIn answered {response.status_code} without an x-restli-id header", platform="linkedin", status_code=response.status_code)
        return Receipt("linkedin", urn, url=f"https://www.linkedin.com/feed/update/{urn}/")

    # --- media uploads (nothing is public until the post names the URN) ----------------------
    def _initialize(self, kind: str, request: dict[str, Any], credentials: Credentials) -> dict[str, Any]:
        response = self.send("POST", f"/rest/{kind}?action=initializeUpload", creates=False, credentials=credentials,
                             json={"initializeUploadRequest": request}, headers=self._headers(credentials))
        raise_for_status(response, "linkedin", creates=False, credentials=credentials)
        try:
            value = response.json()["value"]
            if not isinstance(value, dict):
                raise TypeError
            return value
        except (ValueError, KeyError, TypeError):
            raise Retryable(f"LinkedIn's {kind} initializeUpload answered {response.status_code} without upload instructions", platform="linkedin") from None

    def _put(self, upload_url: str, data: bytes, credentials: Credentials, *, with_token: bool) -> str:
        """PUT one part; returns its ETag. An upload URL LinkedIn no longer takes raises _UploadUrlRefused."""
        headers = {"Content-Type": "application/octet-stream"}
        if with_token:
            headers["Authorization"] = f"Bearer {credentials.access_token.get_secret_value()}"
        for attempt in range(1, self.part_attempts + 1):
            response = None
            try:
                response = self.send("PUT", upload_url, creates=False, credentials=credentials, content=data, headers=headers)
                if response.status_code in (400, 401, 403, 404, 410):
                    raise _UploadUrlRefused(f"LinkedIn refused the upload URL ({response.status_code}: {error_text(response)})")
                raise_for_status(response, "linkedin", creates=False, credentials=credentials)
                return response.headers.get("etag", "")
            except Retryable:
                if attempt == self.part_attempts:
                    raise
                self._sleep(float(2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload_image(self, url: str, credentials: Credentials) -> str:
        data, _ = fetch_media(url, "linkedin", max_bytes=IMAGE_RULES["linkedin"].max_bytes)
        for attempt in (1, 2):  # an expired upload URL gets one fresh upload
            value = self._initialize("images", {"owner": credentials.account_ref}, credentials)
            try:
                self._put(str(value["uploadUrl"]), data, credentials, with_token=True)
                return str(value["image"])
            except KeyError:
                raise Retryable("LinkedIn's image initializeUpload gave no uploadUrl or image URN", platform="linkedin") from None
            except _UploadUrlRefused as exc:
                if attempt == 2:
                    raise Retryable(f"{exc}, twice; the post will be tried again", platform="linkedin") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload_video(self, url: str, credentials: Credentials) -> str:
        data, _ = fetch_media(url, "linkedin", max_bytes=VIDEO_RULES["linkedin"].max_bytes, kind="video")
        request = {"owner": credentials.account_ref, "fileSizeBytes": len(data), "uploadCaptions": False, "uploadThumbnail": False}
        for attempt in (1, 2):  # expired upload URLs get one fresh upload
            value = self._initialize("videos", request, credentials)
            try:
                video, parts = str(value["video"]), value["uploadInstructions"]
                etags = [self._put(str(p["uploadUrl"]), data[int(p["firstByte"]):int(p["lastByte"]) + 1], credentials, with_token=False)
                         for p in parts]
            except (KeyError, TypeError, ValueError):
                raise Retryable("LinkedIn's video initializeUpload gave unreadable upload instructions", platform="linkedin") from None
            except _UploadUrlRefused as exc:
                if attempt == 2:
                    raise Retryable(f"{exc}, twice; the post will be tried again", platform="linkedin") from None
                continue
            finalize = {"finalizeUploadRequest": {"video": video, "uploadToken": str(value.get("uploadToken") or ""), "uploadedPartIds": etags}}
            response = self.send("POST", "/rest/videos?action=finalizeUpload", creates=False, credentials=credentials, json=finalize,
                                 headers=self._headers(credentials))
            raise_for_status(response, "linkedin", creates=False, credentials=credentials)
            self._wait_until_available(video, credentials)
            return video
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_available(self, video: str, credentials: Credentials) -> None:
        status = "PROCESSING"
        for attempt in range(self.max_polls):
            if attempt:
                self._sleep(self.poll_interval)
            response = self.send("GET", f"/rest/videos/{quote(video, safe='')}", creates=False, credentials=credentials, headers=self._headers(credentials))
            raise_for_status(response, "linkedin", creates=False, credentials=credentials)
            body = response.json()
            status = str(body.get("status", ""))
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                reason = body.get("processingFailureReason") or "no reason given"
                raise Rejected(f"LinkedIn could not process the video ({reason}); export it again as MP4 (H.264) and attach it again",
                               platform="linkedin")
        raise Retryable(f"LinkedIn video {video} still {status} after {self.max_polls} checks; the post will be tried again", platform="linkedin")

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        # Rest.li 2.0 wants URNs in the query percent-encoded, colons included
        query = f"author={quote(credentials.account_ref, safe='')}&q=author&count=50&sortBy=LAST_MODIFIED"
        headers = {**self._headers(credentials), "X-RestLi-Method": "FINDER"}
        response = self.send("GET", f"/rest/posts?{query}", creates=False, credentials=credentials, headers=headers)
        raise_for_status(response, "linkedin", creates=False, credentials=credentials)
        posts = []
        for element in response.json().get("elements", []):
            created = element.get("createdAt") or element.get("publishedAt")
            when = datetime.fromtimestamp(created / 1000, UTC) if isinstance(created, int | float) else None
            posts.append(RemotePost(str(element.get("id", "")), unescape_little_text(element.get("commentary", "")), when))
        return [p for p in posts if since is None or p.created_at is None or p.created_at >= since]

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        response = self.send("GET", f"/rest/socialActions/{quote(ref, safe='')}", creates=False, credentials=credentials, headers=self._headers(credentials))
        raise_for_status(response, "linkedin", creates=False, credentials=credentials)
        body = response.json()
        return Metrics("linkedin", ref, {
            "likes": int(body.get("likesSummary", {}).get("totalLikes", 0)),
            "comments": int(body.get("commentsSummary", {}).get("aggregatedTotalComments", 0)),
        })


class _UploadUrlRefused(Exception):
    """An upload URL that answers 4xx has expired or was revoked: start a new upload rather than retry the URL."""


def _content(post: SocialPost, urns: list[str]) -> dict[str, Any]:
    """The post's `content`: one image or video as `media` (images with altText), several images as `multiImage`."""
    if len(urns) == 1:
        media: dict[str, Any] = {"id": urns[0]}
        if media_kind(post.media[0]) == "image" and post.alt(0):
            media["altText"] = post.alt(0)
        return {"media": media}
    return {"multiImage": {"images": [{"id": urn, **({"altText": post.alt(n)} if post.alt(n) else {})} for n, urn in enumerate(urns)]}}
