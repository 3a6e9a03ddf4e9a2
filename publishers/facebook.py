"""Facebook Pages (Graph API): feed posts with an optional link preview, or one photo with a caption."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from publishers import previews
from publishers.base import Credentials, Issue, Metrics, PlannedRequest, Receipt, RemotePost, SocialPost
from publishers.errors import Ambiguous, Rejected
from publishers.graph import bearer, parse_time, raise_for_graph
from publishers.http import HttpPublisher
from publishers.limits import check
from publishers.text import find_urls


class FacebookPublisher(HttpPublisher):
    platform = "facebook"

    def parts(self, post: SocialPost) -> list[str]:
        return [post.text]

    def validate(self, post: SocialPost) -> list[Issue]:
        return check("facebook", post.text, post.media)

    def preview(self, post: SocialPost, *, name: str = "", durations: dict[str, float] | None = None) -> str:
        return previews.facebook_preview(post.text, name=name, link=_link(post), media=previews.media_views(post, durations))

    def planned_requests(self, post: SocialPost, page_id: str = "{page-id}") -> list[PlannedRequest]:
        if post.media:
            return [PlannedRequest("POST", f"/{page_id}/photos", {"url": post.media[0], "caption": post.text})]
        body: dict[str, Any] = {"message": post.text}
        if link := _link(post):
            body["link"] = link
        return [PlannedRequest("POST", f"/{page_id}/feed", body)]

    def publish(self, post: SocialPost, credentials: Credentials) -> Receipt:
        if issues := self.validate(post):
            raise Rejected("; ".join(map(str, issues)), platform="facebook")
        (planned,) = self.planned_requests(post, credentials.account_ref)
        form = {**planned.body, "access_token": credentials.access_token.get_secret_value()}
        response = self.send("POST", planned.path, creates=True, credentials=credentials, data=form)
        raise_for_graph(response, "facebook", creates=True, credentials=credentials)
        try:
            body = response.json()
            post_id = str(body.get("post_id") or body["id"])
        except (ValueError, KeyError, TypeError):
            raise Ambiguous(f"Graph answered {response.status_code} without a post id", platform="facebook") from None
        return Receipt("facebook", post_id, url=f"https://www.facebook.com/{post_id}")

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        params: dict[str, Any] = {"fields": "id,message,created_time", "limit": 50}
        if since is not None:
            params["since"] = int(since.timestamp())
        response = self.send("GET", f"/{credentials.account_ref}/feed", creates=False, credentials=credentials, params=params, headers=bearer(credentials))
        raise_for_graph(response, "facebook", creates=False, credentials=credentials)
        return [RemotePost(str(p["id"]), p.get("message", ""), parse_time(p.get("created_time"))) for p in response.json().get("data", [])]

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        fields = "shares,reactions.limit(0).summary(true),comments.limit(0).summary(true)"
        response = self.send("GET", f"/{ref}", creates=False, credentials=credentials, params={"fields": fields}, headers=bearer(credentials))
        raise_for_graph(response, "facebook", creates=False, credentials=credentials)
        body = response.json()
        return Metrics("facebook", ref, {
            "shares": int(body.get("shares", {}).get("count", 0)),
            "reactions": int(body.get("reactions", {}).get("summary", {}).get("total_count", 0)),
            "comments": int(body.get("comments", {}).get("summary", {}).get("total_count", 0)),
        })


def _link(post: SocialPost) -> str | None:
    # the first web link becomes the post's link preview, as when a person pastes it
    return next((u for u in find_urls(post.text) if u.lower().startswith(("http://", "https://"))), None)
