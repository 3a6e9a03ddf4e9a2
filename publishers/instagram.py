"""Instagram (Graph API, content publishing): quota check, container, status poll, media_publish.

An image container takes ``image_url``; a video one takes ``video_url`` with ``media_type``
REELS (a video on its own is published as a reel) or VIDEO (a video inside a carousel, which
may mix images and videos). Instagram downloads the URL and processes it, so every container
is polled until FINISHED; videos get a longer wait (`video_polls`).

Only the final ``media_publish`` makes anything public, so only its failures can be
Ambiguous; a container that is never published expires on its own after a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from publishers import previews
from publishers.base import Credentials, Issue, Metrics, PlannedRequest, Receipt, RemotePost, SocialPost
from publishers.errors import Ambiguous, Rejected, Retryable
from publishers.graph import bearer, parse_time, raise_for_graph
from publishers.http import DEFAULT_TIMEOUT, HttpPublisher
from publishers.limits import VIDEO_RULES, check, media_kind

QUOTA_RETRY_SECONDS = 3600.0  # the quota is a rolling 24 hours; look again in an hour


class InstagramPublisher(HttpPublisher):
    platform = "instagram"

    def __init__(
        self,
        base_url: str,
        *,
        poll_interval: float = 2.0,
        max_polls: int = 30,
        video_polls: int = 150,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.poll_interval = poll_interval
        self.max_polls = max_polls
        self.video_polls = video_polls  # a video takes minutes to process, an image seconds
        self._sleep = sleep

    def parts(self, post: SocialPost) -> list[str]:
        return [post.text]

    def validate(self, post: SocialPost) -> list[Issue]:
        return check("instagram", post.text, post.media)

    def preview(self, post: SocialPost, *, handle: str = "", durations: dict[str, float] | None = None) -> str:
        return previews.instagram_preview(post.text, handle=handle, media=previews.media_views(post, durations))

    def planned_requests(self, post: SocialPost, user_id: str = "{ig-user-id}") -> list[PlannedRequest]:
        return [
            PlannedRequest("GET", f"/{user_id}/content_publishing_limit", {"fields": "quota_usage,config"}),
            PlannedRequest("POST", f"/{user_id}/media", {**(_item(post.media[0], alone=True) if post.media else {"image_url": None}),
                                                         "caption": post.text}),
            PlannedRequest("GET", "/{container-id}", {"fields": "status_code"}),
            PlannedRequest("POST", f"/{user_id}/media_publish", {"creation_id": "{container-id}"}),
        ]

    def publishing_quota(self, credentials: Credentials) -> tuple[int, int]:
        """(used, allowed) posts in the rolling 24 hours, as the API reports them."""
        response = self.send("GET", f"/{credentials.account_ref}/content_publishing_limit", creates=False, credentials=credentials,
                             params={"fields": "quota_usage,config"}, headers=bearer(credentials))
        raise_for_graph(response, "instagram", creates=False, credentials=credentials)
        data = (response.json().get("data") or [{}])[0]
        return int(data.get("quota_usage", 0)), int(data.get("config", {}).get("quota_total", 0))

    def publish(self, post: SocialPost, credentials: Credentials) -> Receipt:
        if issues := self.validate(post):
            raise Rejected("; ".join(map(str, issues)), platform="instagram")
        user, token = credentials.account_ref, credentials.access_token.get_secret_value()
        used, allowed = self.publishing_quota(credentials)
        if allowed and used >= allowed:
            raise Retryable(f"publishing limit reached ({used} of {allowed} posts in 24 hours)", platform="instagram", retry_after=QUOTA_RETRY_SECONDS)
        has_video = any(media_kind(url) == "video" for url in post.media)
        if len(post.media) == 1:
            container = self._container(user, credentials, {**_item(post.media[0], alone=True), "caption": post.text, **self._alt(post, 0)})
        else:  # a carousel: one container per image or video, then the carousel's own container with the caption
            children = [self._container(user, credentials, {**_item(url, alone=False), "is_carousel_item": "true", **self._alt(post, n)})
                        for n, url in enumerate(post.media)]
            for child, url in zip(children, post.media, strict=True):
                self._wait_until_finished(child, credentials, video=media_kind(url) == "video")
            container = self._container(user, credentials, {"media_type": "CAROUSEL", "children": ",".join(children), "caption": post.text})
        self._wait_until_finished(container, credentials, video=has_video)
        response = self.send("POST", f"/{user}/media_publish", creates=True, credentials=credentials,
                             data={"creation_id": container, "access_token": token})
        raise_for_graph(response, "instagram", creates=True, credentials=credentials)
        try:
            media_id = str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise Ambiguous(f"media_publish answered {response.status_code} without a media id", platform="instagram") from None
        return Receipt("instagram", media_id, detail={"container_id": container})

    @staticmethod
    def _alt(post: SocialPost, number: int) -> dict[str, str]:
        # alt_text goes with image containers only
        return {"alt_text": post.alt(number)} if post.alt(number) and media_kind(post.media[number]) == "image" else {}

    def _container(self, user: str, credentials: Credentials, fields: dict[str, str]) -> str:
        """Create a media container (nothing is public until media_publish); returns its id."""
        response = self.send("POST", f"/{user}/media", creates=False, credentials=credentials,
                             data={**fields, "access_token": credentials.access_token.get_secret_value()})
        raise_for_graph(response, "instagram", creates=False, credentials=credentials)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise Retryable(f"Instagram answered {response.status_code} without a container id; a new one will be created", platform="instagram") from None

    def _wait_until_finished(self, container: str, credentials: Credentials, *, video: bool = False) -> None:
        status = "IN_PROGRESS"
        polls = self.video_polls if video else self.max_polls
        for attempt in range(polls):
            if attempt:
                self._sleep(self.poll_interval)
            response = self.send("GET", f"/{container}", creates=False, credentials=credentials,
                                 params={"fields": "status_code"}, headers=bearer(credentials))
            raise_for_graph(response, "instagram", creates=False, credentials=credentials)
            status = response.json().get("status_code", "")
            if status == "FINISHED":
                return
            if status == "ERROR":
                rules = VIDEO_RULES["instagram"]
                what = (f"video (MP4, H.264, moov atom at the front, {rules.min_seconds:g} seconds to {rules.max_seconds / 60:g} minutes)"
                        if video else "image")
                raise Rejected(f"Instagram could not process the media of container {container}; check that the {what} URL "
                               "is public and the file meets Instagram's rules", platform="instagram")
            if status == "EXPIRED":
                raise Retryable(f"container {container} expired before it was published; a new one will be created", platform="instagram")
        raise Retryable(f"container {container} still {status} after {polls} checks", platform="instagram")

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        params: dict[str, Any] = {"fields": "id,caption,timestamp", "limit": 50}
        response = self.send("GET", f"/{credentials.account_ref}/media", creates=False, credentials=credentials, params=params, headers=bearer(credentials))
        raise_for_graph(response, "instagram", creates=False, credentials=credentials)
        posts = [RemotePost(str(m["id"]), m.get("caption", ""), parse_time(m.get("timestamp"))) for m in response.json().get("data", [])]
        return [p for p in posts if since is None or p.created_at is None or p.created_at >= since]

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        response = self.send("GET", f"/{ref}", creates=False, credentials=credentials,
                             params={"fields": "like_count,comments_count"}, headers=bearer(credentials))
        raise_for_graph(response, "instagram", creates=False, credentials=credentials)
        body = response.json()
        return Metrics("instagram", ref, {"likes": int(body.get("like_count", 0)), "comments": int(body.get("comments_count", 0))})


def _item(url: str, *, alone: bool) -> dict[str, str]:
    """The container fields for one image or video: a lone video is a reel, a video in a carousel a VIDEO item."""
    if media_kind(url) == "video":
        return {"media_type": "REELS" if alone else "VIDEO", "video_url": url}
    return {"image_url": url}
