"""LinkedIn (versioned REST API): text posts for a member or organization, with "little text" escaping.

The commentary field is in LinkedIn's little text format, where ``\\ | { } @ [ ] ( ) < > # * _ ~``
are markup; literal ones must be backslash-escaped or the post is cut or refused. The
3,000-character limit applies to the text people see, before escaping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from publishers import previews
from publishers.base import Credentials, Issue, Metrics, PlannedRequest, Receipt, RemotePost, SocialPost
from publishers.errors import Ambiguous, Duplicate, Rejected
from publishers.http import DEFAULT_TIMEOUT, HttpPublisher, error_text, raise_for_status
from publishers.limits import check

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
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        if not re.fullmatch(r"\d{6}", api_version):
            raise ValueError(f"LinkedIn-Version must be YYYYMM, e.g. {DEFAULT_API_VERSION}; got {api_version!r}")
        self.api_version = api_version

    def parts(self, post: SocialPost) -> list[str]:
        return [post.text]

    def validate(self, post: SocialPost) -> list[Issue]:
        return check("linkedin", post.text, post.media)

    def preview(self, post: SocialPost, *, name: str = "") -> str:
        return previews.linkedin_preview(post.text, name=name)

    def _headers(self, credentials: Credentials | None = None) -> dict[str, str]:
        headers = {"LinkedIn-Version": self.api_version, "X-Restli-Protocol-Version": "2.0.0"}
        if credentials is not None:
            headers["Authorization"] = f"Bearer {credentials.access_token.get_secret_value()}"
        return headers

    def planned_requests(self, post: SocialPost, author: str = "{author-urn}") -> list[PlannedRequest]:
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_little_text(post.text),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        return [PlannedRequest("POST", "/rest/posts", body, self._headers())]

    def publish(self, post: SocialPost, credentials: Credentials) -> Receipt:
        if issues := self.validate(post):
            raise Rejected("; ".join(map(str, issues)), platform="linkedin")
        if not credentials.account_ref.startswith("urn:li:"):
            raise Rejected(f"author {credentials.account_ref!r} is not a URN like urn:li:organization:123", platform="linkedin")
        (planned,) = self.planned_requests(post, credentials.account_ref)
        response = self.send("POST", planned.path, creates=True, credentials=credentials, json=planned.body, headers=self._headers(credentials))
        if response.status_code == 422 and "DUPLICATE_POST" in response.text:
            raise Duplicate(f"LinkedIn refused a duplicate post: {error_text(response)}", platform="linkedin", status_code=422, secrets=credentials.secrets())
        raise_for_status(response, "linkedin", creates=True, credentials=credentials)
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise Ambiguous(f"LinkedIn answered {response.status_code} without an x-restli-id header", platform="linkedin", status_code=response.status_code)
        return Receipt("linkedin", urn, url=f"https://www.linkedin.com/feed/update/{urn}/")

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
