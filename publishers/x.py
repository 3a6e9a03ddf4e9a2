"""X (API v2): posts and threads, OAuth 2 refresh, recent posts for reconciliation, public metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from publishers import previews
from publishers.base import Credentials, Issue, Metrics, PlannedRequest, Receipt, RemotePost, SocialPost
from publishers.errors import AuthExpired, Ambiguous, Duplicate, PublishError, Rejected, Retryable
from publishers.http import DEFAULT_TIMEOUT, HttpPublisher, error_text, fetch_media, raise_for_status
from publishers.limits import IMAGE_RULES, check
from publishers.text import thread_parts


class XPublisher(HttpPublisher):
    platform = "x"

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        client_secret: SecretStr | str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.client_id = client_id
        self._client_secret = SecretStr(client_secret) if isinstance(client_secret, str) else client_secret

    # --- content ------------------------------------------------------------------
    def parts(self, post: SocialPost) -> list[str]:
        return thread_parts(post.text)

    def validate(self, post: SocialPost) -> list[Issue]:
        return check("x", post.text, post.media)

    def preview(self, post: SocialPost, *, name: str = "", handle: str = "") -> str:
        return previews.x_preview(self.parts(post), name=name, handle=handle, images=post.media)

    def planned_requests(self, post: SocialPost) -> list[PlannedRequest]:
        requests, previous = [], (post.posted_part_ids[-1] if post.posted_part_ids else None)
        parts = self.parts(post)
        for number in range(len(post.posted_part_ids), len(parts)):
            body: dict[str, Any] = {"text": parts[number]}
            if previous is not None:
                body["reply"] = {"in_reply_to_tweet_id": previous}
            if number == 0 and post.media:
                requests.extend(PlannedRequest("POST", "/2/media/upload", {"media_category": "tweet_image", "media": url}) for url in post.media)
                body["media"] = {"media_ids": [f"<media id {n + 1}>" for n in range(len(post.media))]}
            requests.append(PlannedRequest("POST", "/2/tweets", body))
            previous = f"<id of part {number + 1}>"
        return requests

    # --- network ------------------------------------------------------------------
    @staticmethod
    def _auth(credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"}

    def _check(self, response: httpx.Response, credentials: Credentials, *, creates: bool) -> None:
        if response.status_code == 403 and "duplicate" in error_text(response).lower():
            raise Duplicate(f"X refused duplicate content: {error_text(response)}", platform="x", status_code=403, secrets=credentials.secrets())
        raise_for_status(response, "x", creates=creates, credentials=credentials)

    def publish(self, post: SocialPost, credentials: Credentials) -> Receipt:
        if issues := self.validate(post):
            raise Rejected("; ".join(map(str, issues)), platform="x")
        ids = list(post.posted_part_ids)
        parts = self.parts(post)
        # images go on the first part; once it is posted a retry of the rest uploads nothing
        media_ids = [self._upload_image(url, post.alt(n), credentials) for n, url in enumerate(post.media)] if not ids else []
        for part in parts[len(ids):]:
            body: dict[str, Any] = {"text": part}
            if ids:
                body["reply"] = {"in_reply_to_tweet_id": ids[-1]}
            elif media_ids:
                body["media"] = {"media_ids": media_ids}
            try:
                response = self.send("POST", "/2/tweets", creates=True, credentials=credentials, json=body, headers=self._auth(credentials))
                self._check(response, credentials, creates=True)
                ids.append(_created_id(response))
            except PublishError as exc:
                exc.partial_ids = tuple(ids)
                raise
        return Receipt("x", ids[0], tuple(ids), url=f"https://x.com/i/web/status/{ids[0]}", detail={"parts": len(parts)})

    def _upload_image(self, url: str, alt_text: str, credentials: Credentials) -> str:
        """Upload one image (media upload, then its alt text as metadata); returns the media id. Nothing is public yet."""
        data, mime = fetch_media(url, "x", max_bytes=IMAGE_RULES["x"].max_bytes)
        category = "tweet_gif" if mime == "image/gif" else "tweet_image"
        response = self.send("POST", "/2/media/upload", creates=False, credentials=credentials, headers=self._auth(credentials),
                             data={"media_category": category, "media_type": mime}, files={"media": ("image", data, mime)})
        raise_for_status(response, "x", creates=False, credentials=credentials)
        try:
            media_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            raise Retryable(f"X's media upload answered {response.status_code} without a media id; it will be uploaded again", platform="x") from None
        if alt_text:
            response = self.send("POST", "/2/media/metadata", creates=False, credentials=credentials, headers=self._auth(credentials),
                                 json={"id": media_id, "metadata": {"alt_text": {"text": alt_text}}})
            raise_for_status(response, "x", creates=False, credentials=credentials)
        return media_id

    def refresh(self, credentials: Credentials) -> Credentials:
        """Trade the refresh token for new tokens (X rotates the refresh token too)."""
        if credentials.refresh_token is None:
            raise AuthExpired("the access token expired and no refresh token is stored; reconnect the account", platform="x")
        if not self.client_id:
            raise AuthExpired("cannot refresh: the X OAuth client id is not configured (CAMPAIGNS_X_CLIENT_ID)", platform="x")
        form = {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token.get_secret_value(), "client_id": self.client_id}
        auth = (self.client_id, self._client_secret.get_secret_value()) if self._client_secret else None
        response = self.send("POST", "/2/oauth2/token", creates=False, credentials=credentials, data=form, auth=auth)
        if response.status_code in (400, 401):
            raise AuthExpired(f"X refused the refresh token ({response.status_code}): {error_text(response)}", platform="x", status_code=response.status_code, secrets=credentials.secrets())
        raise_for_status(response, "x", creates=False, credentials=credentials)
        body = response.json()
        return Credentials.of(credentials.account_ref, body["access_token"], body.get("refresh_token") or credentials.refresh_token.get_secret_value())

    def _user_id(self, credentials: Credentials) -> str:
        ref = credentials.account_ref.lstrip("@")
        if ref.isdigit():
            return ref
        response = self.send("GET", "/2/users/me", creates=False, credentials=credentials, headers=self._auth(credentials))
        raise_for_status(response, "x", creates=False, credentials=credentials)
        return str(response.json()["data"]["id"])

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        user_id = self._user_id(credentials)
        params: dict[str, Any] = {"max_results": 100, "tweet.fields": "created_at"}
        if since is not None:
            params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = self.send("GET", f"/2/users/{user_id}/tweets", creates=False, credentials=credentials, params=params, headers=self._auth(credentials))
        raise_for_status(response, "x", creates=False, credentials=credentials)
        return [
            RemotePost(str(t["id"]), t.get("text", ""), _iso(t.get("created_at")))
            for t in response.json().get("data", [])
        ]

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        response = self.send("GET", f"/2/tweets/{ref}", creates=False, credentials=credentials,
                             params={"tweet.fields": "public_metrics"}, headers=self._auth(credentials))
        raise_for_status(response, "x", creates=False, credentials=credentials)
        metrics = response.json()["data"].get("public_metrics", {})
        return Metrics("x", ref, {k: int(v) for k, v in metrics.items()})


def _created_id(response: httpx.Response) -> str:
    try:
        return str(response.json()["data"]["id"])
    except (ValueError, KeyError, TypeError):
        # accepted but unreadable: the post probably exists, so this is not safe to retry
        raise Ambiguous(f"X answered {response.status_code} without a post id: {response.text[:200]}", platform="x", status_code=response.status_code) from None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
