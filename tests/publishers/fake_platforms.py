"""Local fakes of X, the Graph API (Facebook Pages + Instagram), LinkedIn, SendGrid and Mailgun.

Each listens on 127.0.0.1, speaks the platform's real request and response shapes, keeps
what was created, and counts requests, so tests can prove that a post went out exactly
once. Faults are queued per route with `fail_next(route, fault)`:

``500``, ``429`` (with the platform's reset headers), ``401``, ``timeout_after_create``
(creates the post, then never answers), ``timeout_before_create`` (never answers and
creates nothing), or platform-specific ones documented on each fake.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import re
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers.linkedin import unescape_little_text
from publishers.text import url_spans


logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per fake request is noise


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


class _QuickStopServer(HTTPServer):
    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)  # stop() waits for one poll: keep teardown short


class FakePlatform:
    """A threaded local server; subclasses route requests and keep state under `self.lock`."""

    def __init__(self) -> None:
        self.server = _QuickStopServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        self.lock = threading.RLock()
        self.release = threading.Event()  # unblocks requests held by a timeout fault
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[dict[str, Any]] = []

    def start(self) -> FakePlatform:
        self.server.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def url(self, suffix: str = "") -> str:
        return f"http://127.0.0.1:{self.server.port}{suffix}"

    def fail_next(self, route: str, fault: str, times: int = 1) -> None:
        with self.lock:
            self.faults[route].extend([fault] * times)

    def _fault(self, route: str) -> str | None:
        with self.lock:
            queue = self.faults.get(route)
            return queue.popleft() if queue else None

    def count(self, method: str, path_pattern: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r["method"] == method and re.fullmatch(path_pattern, r["path"]))

    def _handle(self, request: Request) -> Response:
        entry = {
            "method": request.method, "path": request.path, "args": request.args.to_dict(flat=False),
            "headers": dict(request.headers), "json": request.get_json(silent=True), "form": request.form.to_dict(flat=False),
        }
        with self.lock:
            self.requests.append(entry)
        return self.route(request)

    def route(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def hang(self) -> Response:
        # the client has long given up by the time this answers
        self.release.wait(30)
        return _json({"detail": "too late"}, 504)


class FakeX(FakePlatform):
    """X API v2. One user; tokens rotate on refresh like X's (the old refresh token dies).

    Video: chunked upload (``/2/media/upload/initialize``, ``/{id}/append``, ``/{id}/finalize``,
    ``GET /2/media/upload?command=STATUS``). The processing states after FINALIZE come from
    `video_states` (one per STATUS check). Faults: ``append`` ``500`` (the segment is lost),
    ``initialize`` ``500``, ``finalize`` ``processing_failed`` (processing ends in ``failed``).
    """

    USER_ID = "2244994945"

    def __init__(self, access_token: str = "x-access-1", refresh_token: str = "x-refresh-1", client_id: str = "client-abc") -> None:
        super().__init__()
        self.valid_access = {access_token}
        self.valid_refresh = {refresh_token}
        self.client_id = client_id
        self.tweets: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}  # media id -> {"data", "mime", "category", "alt_text"}
        self.sessions: dict[str, dict[str, Any]] = {}  # chunked uploads: media id -> {"total", "segments", "mime", "category"}
        self.video_states: list[str] = ["pending", "in_progress", "succeeded"]
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._token_n = itertools.count(2)
        self.reset_epoch = 1_900_000_000

    @property
    def created(self) -> int:
        with self.lock:
            return len(self.tweets)

    def add_tweet(self, text: str, created_at: datetime | None = None, public_metrics: dict[str, int] | None = None) -> str:
        with self.lock:
            tweet_id = str(next(self._ids))
            self.tweets.append({"id": tweet_id, "text": text, "created_at": created_at or datetime.now(UTC), "reply_to": None})
            if public_metrics is not None:  # what GET /2/tweets/:id answers in public_metrics (impression_count included)
                self.tweets[-1]["public_metrics"] = public_metrics
            return tweet_id

    @staticmethod
    def shown(text: str) -> str:
        """How X returns text: links become t.co, & < > become entities."""
        out, last = [], 0
        for n, (start, end) in enumerate(url_spans(text)):
            out.append(html.escape(text[last:start], quote=False) + f"https://t.co/Ab{n}Cd{len(text)}")
            last = end
        out.append(html.escape(text[last:], quote=False))
        return "".join(out)

    def route(self, request: Request) -> Response:
        path = request.path
        if path == "/2/oauth2/token" and request.method == "POST":
            return self._token(request)
        if _bearer(request) not in self.valid_access:
            return _json({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
        if path == "/2/tweets" and request.method == "POST":
            return self._create(request)
        if path == "/2/media/upload/initialize" and request.method == "POST":
            return self._initialize(request)
        if m := re.fullmatch(r"/2/media/upload/(\d+)/(append|finalize)", path):
            return self._append(request, m.group(1)) if m.group(2) == "append" else self._finalize(m.group(1))
        if path == "/2/media/upload" and request.method == "GET" and request.args.get("command") == "STATUS":
            return self._status(request.args.get("media_id", ""))
        if path == "/2/media/upload" and request.method == "POST":
            return self._upload(request)
        if path == "/2/media/metadata" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            with self.lock:
                item = self.uploads.get(str(body.get("id")))
                if item is None:
                    return _json({"errors": [{"message": "media not found"}], "title": "Invalid Request", "status": 400}, 400)
                item["alt_text"] = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
            return _json({"data": {"associated_metadata": True}})
        if path == "/2/users/me":
            return _json({"data": {"id": self.USER_ID, "name": "Acme", "username": "acme"}})
        if m := re.fullmatch(r"/2/users/(\d+)/tweets", path):
            return self._timeline(request, m.group(1))
        if m := re.fullmatch(r"/2/tweets/(\d+)", path):
            with self.lock:
                tweet = next((t for t in self.tweets if t["id"] == m.group(1)), None)
            if tweet is None:
                return _json({"errors": [{"message": "Could not find tweet"}], "title": "Not Found Error", "status": 404}, 404)
            return _json({"data": {"id": tweet["id"], "text": self.shown(tweet["text"]),
                                   "public_metrics": tweet.get("public_metrics") or {"retweet_count": 2, "reply_count": 1, "like_count": 7, "quote_count": 0}}})
        return _json({"title": "Not Found", "status": 404}, 404)

    def _create(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        fault = self._fault("create")
        if fault == "500":
            return _json({"title": "Internal Server Error", "type": "about:blank", "status": 500, "detail": "Internal Server Error"}, 500)
        if fault == "429":
            return _json({"title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"}, 429,
                         {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(self.reset_epoch)})
        if fault == "401":
            return _json({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
        if fault == "timeout_before_create":
            return self.hang()
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _json({"errors": [{"message": "text is required"}], "title": "Invalid Request", "status": 400}, 400)
        media_ids = [str(m) for m in ((body.get("media") or {}).get("media_ids") or [])]
        with self.lock:
            if any(m not in self.uploads for m in media_ids):
                return _json({"errors": [{"message": "Your media IDs are invalid."}], "title": "Invalid Request", "status": 400}, 400)
            if any(self.uploads[m].get("state", "succeeded") != "succeeded" for m in media_ids):
                return _json({"errors": [{"message": "Media is not ready to be used"}], "title": "Invalid Request", "status": 400}, 400)
            if any(t["text"] == text for t in self.tweets):
                return _json({"detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
                              "title": "Forbidden", "status": 403}, 403)
            tweet_id = self.add_tweet(text)
            self.tweets[-1]["reply_to"] = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            self.tweets[-1]["media_ids"] = media_ids
        if fault == "timeout_after_create":
            return self.hang()
        return _json({"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, 201)

    def _upload(self, request: Request) -> Response:
        """One-shot media upload (multipart: `media`, `media_category`, `media_type`), as X's v2 endpoint takes it."""
        if self._fault("upload") == "500":
            return _json({"title": "Internal Server Error", "status": 500}, 500)
        file = request.files.get("media")
        category = request.form.get("media_category", "")
        if file is None:
            return _json({"errors": [{"message": "media is required"}], "title": "Invalid Request", "status": 400}, 400)
        data = file.read()
        if category not in ("tweet_image", "tweet_gif", "tweet_video") or len(data) > 5 * 1024 * 1024:
            return _json({"errors": [{"message": "media type unrecognized or too large"}], "title": "Invalid Request", "status": 400}, 400)
        with self.lock:
            media_id = str(next(self._ids))
            self.uploads[media_id] = {"data": data, "mime": request.form.get("media_type"), "category": category, "alt_text": None}
        return _json({"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data), "expires_after_secs": 86400,
                               "image": {"image_type": request.form.get("media_type"), "w": 0, "h": 0}}})

    def _initialize(self, request: Request) -> Response:
        if self._fault("initialize") == "500":
            return _json({"title": "Internal Server Error", "status": 500}, 500)
        body = request.get_json(silent=True) or {}
        total = body.get("total_bytes")
        if body.get("media_category") not in ("tweet_video", "amplify_video") or body.get("media_type") != "video/mp4" \
                or not isinstance(total, int) or not 0 < total <= 512 * 1024 * 1024:
            return _json({"errors": [{"message": "media_type, media_category or total_bytes invalid"}], "title": "Invalid Request", "status": 400}, 400)
        with self.lock:
            media_id = str(next(self._ids))
            self.sessions[media_id] = {"total": total, "segments": {}, "mime": body["media_type"], "category": body["media_category"]}
        return _json({"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86399}})

    def _append(self, request: Request, media_id: str) -> Response:
        if self._fault("append") == "500":
            return _json({"title": "Internal Server Error", "status": 500}, 500)
        file, index = request.files.get("media"), request.form.get("segment_index", "")
        with self.lock:
            session = self.sessions.get(media_id)
            if session is None or file is None or not index.isdigit() or int(index) > 999:
                return _json({"errors": [{"message": "unknown media id, or media / segment_index missing"}], "title": "Invalid Request", "status": 400}, 400)
            session["segments"][int(index)] = file.read()
        return Response("", status=204)

    def _finalize(self, media_id: str) -> Response:
        fault = self._fault("finalize")
        with self.lock:
            session = self.sessions.get(media_id)
            if session is None:
                return _json({"errors": [{"message": "unknown media id"}], "title": "Invalid Request", "status": 400}, 400)
            indexes = sorted(session["segments"])
            data = b"".join(session["segments"][i] for i in indexes)
            if indexes != list(range(len(indexes))) or len(data) != session["total"]:
                return _json({"errors": [{"message": f"File size mismatch: got {len(data)} of {session['total']} bytes"}],
                              "title": "Invalid Request", "status": 400}, 400)
            states = deque(self.video_states[:-1] + ["failed"] if fault == "processing_failed" else self.video_states)
            self.uploads[media_id] = {"data": data, "mime": session["mime"], "category": session["category"], "alt_text": None,
                                      "state": states.popleft(), "states": states}
            info = self._info(media_id)
        return _json({"data": {"id": media_id, "media_key": f"7_{media_id}", "size": len(data), "expires_after_secs": 86400,
                               **({"processing_info": info} if info else {})}})

    def _info(self, media_id: str) -> dict[str, Any] | None:
        item = self.uploads[media_id]
        if item["state"] == "succeeded":
            return {"state": "succeeded", "progress_percent": 100}
        if item["state"] == "failed":
            return {"state": "failed", "progress_percent": 40, "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}}
        return {"state": item["state"], "check_after_secs": 1, "progress_percent": 10}

    def _status(self, media_id: str) -> Response:
        with self.lock:
            item = self.uploads.get(media_id)
            if item is None or "states" not in item:
                return _json({"errors": [{"message": "unknown media id"}], "title": "Invalid Request", "status": 400}, 400)
            if item["states"]:
                item["state"] = item["states"].popleft()
            info = self._info(media_id)
        return _json({"data": {"id": media_id, "media_key": f"7_{media_id}", "processing_info": info}})

    def _timeline(self, request: Request, user_id: str) -> Response:
        if user_id != self.USER_ID:
            return _json({"errors": [{"message": "user not found"}], "status": 404}, 404)
        start = request.args.get("start_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        with self.lock:
            tweets = [t for t in self.tweets if since is None or t["created_at"] >= since]
        tweets = sorted(tweets, key=lambda t: t["id"], reverse=True)[: int(request.args.get("max_results", 10))]
        if not tweets:
            return _json({"meta": {"result_count": 0}})
        data = [{"id": t["id"], "text": self.shown(t["text"]), "created_at": t["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z")} for t in tweets]
        return _json({"data": data, "meta": {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}})

    def _token(self, request: Request) -> Response:
        form = request.form
        fault = self._fault("token")
        if fault == "500":
            return _json({"error": "server_error"}, 500)
        with self.lock:
            if form.get("grant_type") != "refresh_token" or form.get("client_id") != self.client_id or form.get("refresh_token") not in self.valid_refresh:
                return _json({"error": "invalid_request", "error_description": "Value passed for the token was invalid."}, 400)
            n = next(self._token_n)
            self.valid_refresh.discard(form["refresh_token"])
            access, refresh = f"x-access-{n}", f"x-refresh-{n}"
            self.valid_access = {access}
            self.valid_refresh.add(refresh)
        return _json({"token_type": "bearer", "expires_in": 7200, "access_token": access, "scope": "tweet.read tweet.write users.read offline.access",
                      "refresh_token": refresh})


class FakeGraph(FakePlatform):
    """Graph API for Facebook Pages and Instagram (paths under /v21.0).

    Extra faults: route ``feed``/``photos``/``media``/``media_publish``: ``rate_limit`` (code 32
    and x-business-use-case-usage), ``invalid_param`` (code 100), ``expired_token`` (code 190);
    route ``video``: ``processing_error`` (the next video container ends in ERROR).
    Container statuses come from `container_statuses` (consumed one per poll).
    """

    VERSION = "/v21.0"

    def __init__(self, token: str = "page-token-1") -> None:
        super().__init__()
        self.tokens = {token}
        self.posts: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.containers: dict[str, dict[str, Any]] = {}
        self.container_statuses: list[str] = ["IN_PROGRESS", "FINISHED"]
        self.fetch_images = False  # True: download each image_url as Instagram does (tests that serve real images)
        self.quota_usage, self.quota_total = 3, 50
        self._ids = itertools.count(1000)

    def base_url(self) -> str:
        return self.url(self.VERSION)

    @staticmethod
    def error(message: str, code: int, status: int = 400, subcode: int | None = None, type_: str = "OAuthException", headers=None) -> Response:
        body = {"error": {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfGh123"}}
        if subcode:
            body["error"]["error_subcode"] = subcode
        return _json(body, status, headers)

    def _token_of(self, request: Request) -> str | None:
        return request.form.get("access_token") or _bearer(request) or request.args.get("access_token")

    def _common_fault(self, route: str) -> Response | None:
        fault = self._fault(route)
        if fault == "500":
            return self.error("An unexpected error has occurred. Please retry your request later.", 2, 500, type_="OAuthException")
        if fault == "rate_limit":
            usage = json.dumps({"1234": [{"type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 60, "estimated_time_to_regain_access": 7}]})
            return self.error("(#32) Page request limit reached", 32, 400, headers={"x-business-use-case-usage": usage})
        if fault == "invalid_param":
            return self.error("(#100) Invalid parameter", 100, 400)
        if fault == "expired_token":
            return self.error("Error validating access token: Session has expired", 190, 400, subcode=463)
        if fault in ("timeout_before_create",):
            return self.hang()
        return None

    def route(self, request: Request) -> Response:
        path = request.path.removeprefix(self.VERSION)
        if self._token_of(request) not in self.tokens:
            return self.error("Invalid OAuth access token - Cannot parse access token", 190, 400)
        parts = path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 2 and parts[1] in ("feed", "photos"):
            return self._post(request, parts[0], parts[1])
        if request.method == "GET" and len(parts) == 2 and parts[1] == "feed":
            with self.lock:
                data = [{"id": p["id"], "message": p["message"], "created_time": p["created_time"]} for p in reversed(self.posts) if p["page"] == parts[0]]
            return _json({"data": data, "paging": {}})
        if request.method == "GET" and len(parts) == 2 and parts[1] == "content_publishing_limit":
            return _json({"data": [{"quota_usage": self.quota_usage, "config": {"quota_total": self.quota_total, "quota_duration": 86400}}]})
        if request.method == "POST" and len(parts) == 2 and parts[1] == "media":
            return self._container(request, parts[0])
        if request.method == "POST" and len(parts) == 2 and parts[1] == "media_publish":
            return self._publish_media(request, parts[0])
        if request.method == "GET" and len(parts) == 2 and parts[1] == "media":
            with self.lock:
                data = [{"id": m["id"], "caption": m["caption"], "timestamp": m["timestamp"]} for m in reversed(self.media) if m["user"] == parts[0]]
            return _json({"data": data})
        if request.method == "GET" and len(parts) == 1:
            return self._node(request, parts[0])
        return self.error(f"Unknown path components: /{path}", 2500, 400)

    def _post(self, request: Request, page: str, edge: str) -> Response:
        if response := self._common_fault(edge):
            return response
        form = request.form
        message = form.get("message") if edge == "feed" else form.get("caption", "")
        if edge == "feed" and not message and not form.get("link"):
            return self.error("(#100) Missing message or attachment", 100)
        with self.lock:
            if any(p["page"] == page and p["message"] == message for p in self.posts):
                return self.error("Duplicate status message", 506, subcode=1455006)
            post_id = f"{page}_{next(self._ids)}"
            self.posts.append({"id": post_id, "page": page, "message": message, "link": form.get("link"), "url": form.get("url"),
                               "created_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")})
        if self._fault(edge + "_after") == "timeout_after_create":
            return self.hang()
        if edge == "photos":
            return _json({"id": str(next(self._ids)), "post_id": post_id})
        return _json({"id": post_id})

    def _container(self, request: Request, user: str) -> Response:
        if response := self._common_fault("media"):
            return response
        form = request.form
        if form.get("media_type") == "CAROUSEL":
            children = [c for c in form.get("children", "").split(",") if c]
            with self.lock:
                if not 2 <= len(children) <= 10 or any(self.containers.get(c, {}).get("status") != "FINISHED" for c in children):
                    return self.error("Invalid children: a carousel takes 2 to 10 finished item containers", 100)
                container = str(next(self._ids))
                self.containers[container] = {"user": user, "caption": form.get("caption", ""), "children": children,
                                              "statuses": deque(self.container_statuses), "status": "IN_PROGRESS"}
            return _json({"id": container})
        item = form.get("is_carousel_item") == "true"
        if form.get("video_url"):
            # a lone video is a reel; a carousel's video item is VIDEO (Instagram refuses the other combinations)
            if form.get("media_type") != ("VIDEO" if item else "REELS") or form.get("image_url"):
                return self.error("(#100) The parameter media_type must be REELS, or VIDEO for a carousel item", 100)
            fetched = self._fetch(form["video_url"], "video/mp4", b"ftyp", 4) if self.fetch_images else b"\0\0\0\x18ftyp"
            processing = self._fault("video") != "processing_error" and fetched
            with self.lock:
                container = str(next(self._ids))
                self.containers[container] = {"user": user, "caption": form.get("caption", ""), "video_url": form["video_url"],
                                              "media_type": form["media_type"], "carousel_item": item, "video": fetched,
                                              "alt_text": form.get("alt_text"),
                                              "statuses": deque(self.container_statuses) if processing else deque(["IN_PROGRESS", "ERROR"]),
                                              "status": "IN_PROGRESS"}
            return _json({"id": container})
        if not form.get("image_url"):
            return self.error("The parameter image_url is required", 100)
        fetched = self._fetch(form["image_url"]) if self.fetch_images else b"\xff\xd8"
        with self.lock:
            container = str(next(self._ids))
            self.containers[container] = {"user": user, "caption": form.get("caption", ""), "image_url": form["image_url"],
                                          "alt_text": form.get("alt_text"), "carousel_item": item, "media_type": "IMAGE",
                                          "image": fetched,
                                          "statuses": deque(self.container_statuses) if fetched else deque(["ERROR"]), "status": "IN_PROGRESS"}
        return _json({"id": container})

    @staticmethod
    def _fetch(url: str, mime: str = "image/jpeg", magic: bytes = b"\xff\xd8", at: int = 0) -> bytes | None:
        """What Instagram does with image_url / video_url: download it; a file it can read becomes the post, anything else an ERROR container."""
        import httpx

        try:
            response = httpx.get(url, timeout=5)
        except httpx.HTTPError:
            return None
        ok = response.status_code == 200 and response.headers.get("content-type", "").startswith(mime) and response.content[at:at + len(magic)] == magic
        return response.content if ok else None

    def _node(self, request: Request, node: str) -> Response:
        with self.lock:
            container = self.containers.get(node)
            if container is not None:
                if container["statuses"]:
                    container["status"] = container["statuses"].popleft()
                return _json({"status_code": container["status"], "id": node})
            post = next((p for p in self.posts if p["id"] == node), None)
        if post is not None:
            return _json({"id": node, "shares": {"count": 3}, "reactions": {"data": [], "summary": {"total_count": 12}},
                          "comments": {"data": [], "summary": {"total_count": 4}}})
        media = next((m for m in self.media if m["id"] == node), None)
        if media is not None:
            return _json({"id": node, "like_count": 21, "comments_count": 5})
        return self.error(f"Unsupported get request. Object with ID '{node}' does not exist", 100, subcode=33)

    def _publish_media(self, request: Request, user: str) -> Response:
        if response := self._common_fault("media_publish"):
            return response
        creation = request.form.get("creation_id")
        with self.lock:
            container = self.containers.get(creation or "")
            if container is None or container["status"] != "FINISHED":
                return self.error("The media is not ready for publishing, please wait for a moment", 9007, subcode=2207027)
            container["status"] = "PUBLISHED"
            media_id = str(next(self._ids))
            self.media.append({"id": media_id, "user": user, "caption": container["caption"], "children": container.get("children", []),
                               "media_type": container.get("media_type", "CAROUSEL_ALBUM"),
                               "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")})
        if self._fault("media_publish_after") == "timeout_after_create":
            return self.hang()
        return _json({"id": media_id})


class FakeLinkedIn(FakePlatform):
    """LinkedIn versioned REST API: /rest/posts with the version and Rest.li headers enforced,
    the Images API and the Videos API (upload URLs under /dms-uploads/, parts of `part_size` bytes).

    Faults: ``upload`` ``500`` (one PUT fails), ``upload`` ``expired`` (the upload's URLs answer
    403 from then on, as after uploadUrlsExpireAt), ``finalize`` ``processing_failed``. A video's
    statuses after finalizeUpload come from `video_statuses` (one per GET).
    """

    def __init__(self, token: str = "li-token-1") -> None:
        super().__init__()
        self.tokens = {token}
        self.posts: list[dict[str, Any]] = []
        self.images: dict[str, dict[str, Any]] = {}  # urn -> {"owner", "data", "status"}
        self.videos: dict[str, dict[str, Any]] = {}  # urn -> {"owner", "size", "parts", "etags", "expired", "status", "statuses"}
        self.video_statuses: list[str] = ["PROCESSING", "AVAILABLE"]
        self.part_size = 1024
        self._ids = itertools.count(7_100_000_000_000_000_001)
        self._media_ids = itertools.count(1)

    def route(self, request: Request) -> Response:
        if m := re.fullmatch(r"/dms-uploads/(image|video)/([^/]+)/(\d+)", request.path):
            return self._upload(request, m.group(1), m.group(2), int(m.group(3)))
        if _bearer(request) not in self.tokens:
            return _json({"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                          "message": "The token used in the request has been revoked by the user"}, 401)
        if not re.fullmatch(r"\d{6}", request.headers.get("LinkedIn-Version", "")):
            return _json({"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version is not active"}, 426)
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return _json({"status": 400, "message": "Rest.li protocol 2.0.0 required"}, 400)
        if request.path == "/rest/posts" and request.method == "POST":
            return self._create(request)
        if request.path == "/rest/posts" and request.method == "GET":
            if request.headers.get("X-RestLi-Method") != "FINDER" or request.args.get("q") != "author":
                return _json({"status": 400, "message": "finder required"}, 400)
            author = request.args.get("author")
            with self.lock:
                elements = [p for p in reversed(self.posts) if p["author"] == author]
            return _json({"elements": elements, "paging": {"start": 0, "count": len(elements), "links": []}})
        if request.path in ("/rest/images", "/rest/videos") and request.method == "POST":
            return self._media_action(request, request.path.removeprefix("/rest/"), request.args.get("action", ""))
        if m := re.fullmatch(r"/rest/videos/(urn:li:video:[^/]+)", request.path):
            with self.lock:
                video = self.videos.get(m.group(1))
                if video is None:
                    return _json({"status": 404, "message": "Not Found"}, 404)
                if video["statuses"] and video["status"] not in ("WAITING_UPLOAD",):
                    video["status"] = video["statuses"].popleft()
                body = {"id": m.group(1), "owner": video["owner"], "status": video["status"]}
                if video["status"] == "PROCESSING_FAILED":
                    body["processingFailureReason"] = "Video format not supported"
            return _json(body)
        if m := re.fullmatch(r"/rest/socialActions/(.+)", request.path):
            return _json({"likesSummary": {"totalLikes": 9}, "commentsSummary": {"aggregatedTotalComments": 2}, "target": m.group(1)})
        return _json({"status": 404, "message": "Not Found"}, 404)

    def _create(self, request: Request) -> Response:
        fault = self._fault("create")
        if fault == "500":
            return _json({"status": 500, "message": "Internal Server Error"}, 500)
        if fault == "429":
            return _json({"status": 429, "message": "Too many requests"}, 429, {"Retry-After": "120"})
        body = request.get_json(silent=True) or {}
        missing = [k for k in ("author", "commentary", "visibility", "distribution", "lifecycleState") if k not in body]
        if missing:
            return _json({"status": 422, "message": f"missing fields {missing}", "code": "UNPROCESSABLE_ENTITY"}, 422)
        with self.lock:
            if problem := self._content_problem(body):
                return _json({"status": 422, "message": problem, "code": "UNPROCESSABLE_ENTITY"}, 422)
            if any(p["author"] == body["author"] and p["commentary"] == body["commentary"] for p in self.posts):
                return _json({"status": 422, "code": "DUPLICATE_POST", "message": "Content is a duplicate of urn:li:share:1"}, 422)
            urn = f"urn:li:share:{next(self._ids)}"
            self.posts.append({"id": urn, "author": body["author"], "commentary": body["commentary"], "visibility": body["visibility"],
                               "lifecycleState": body["lifecycleState"], "createdAt": int(time.time() * 1000), "content": body.get("content")})
        return Response("", status=201, headers={"x-restli-id": urn, "x-linkedin-id": urn})

    def shown(self, index: int = -1) -> str:
        return unescape_little_text(self.posts[index]["commentary"])

    def _content_problem(self, body: dict[str, Any]) -> str | None:
        """Why LinkedIn would refuse the post's media (unknown, not owned by the author, not uploaded or not processed)."""
        content = body.get("content")
        if content is None:
            return None
        if "media" in content:
            items = [content["media"]]
        elif "multiImage" in content:
            items = content["multiImage"].get("images", [])
            if not 2 <= len(items) <= 20 or any(not str(i.get("id", "")).startswith("urn:li:image:") for i in items):
                return "multiImage takes 2 to 20 images"
        else:
            return f"unsupported content {sorted(content)}"
        for item in items:
            urn = str(item.get("id", ""))
            media = self.images.get(urn) or self.videos.get(urn)
            if media is None or media["owner"] != body["author"]:
                return f"{urn} does not exist or belongs to another owner"
            if media["status"] != "AVAILABLE":
                return f"{urn} is {media['status']}, not AVAILABLE"
        return None

    def _media_action(self, request: Request, kind: str, action: str) -> Response:
        body = (request.get_json(silent=True) or {})
        with self.lock:
            if action == "initializeUpload":
                init = body.get("initializeUploadRequest") or {}
                owner = init.get("owner", "")
                if not str(owner).startswith("urn:li:"):
                    return _json({"status": 422, "message": "owner must be a URN"}, 422)
                media_id = f"D4E10AQ{next(self._media_ids):08d}"
                expires = int(time.time() * 1000) + 86_400_000
                if kind == "images":
                    urn = f"urn:li:image:{media_id}"
                    self.images[urn] = {"owner": owner, "data": None, "status": "WAITING_UPLOAD", "expired": False}
                    return _json({"value": {"uploadUrlExpiresAt": expires, "uploadUrl": self.url(f"/dms-uploads/image/{media_id}/0?ca=vector_feedshare"),
                                            "image": urn}})
                size = init.get("fileSizeBytes")
                if not isinstance(size, int) or size <= 0:
                    return _json({"status": 422, "message": "fileSizeBytes must be a positive integer"}, 422)
                urn = f"urn:li:video:{media_id}"
                ranges = [(start, min(start + self.part_size, size) - 1) for start in range(0, size, self.part_size)]
                self.videos[urn] = {"owner": owner, "size": size, "parts": {}, "etags": {}, "expired": False, "status": "WAITING_UPLOAD",
                                    "statuses": deque(), "ranges": ranges}
                instructions = [{"uploadUrl": self.url(f"/dms-uploads/video/{media_id}/{n}?ca=vector_feedshare&sig=abc"), "firstByte": first, "lastByte": last}
                                for n, (first, last) in enumerate(ranges)]
                return _json({"value": {"uploadUrlsExpireAt": expires, "video": urn, "uploadInstructions": instructions, "uploadToken": ""}})
            if kind == "videos" and action == "finalizeUpload":
                final = body.get("finalizeUploadRequest") or {}
                video = self.videos.get(str(final.get("video")))
                if video is None:
                    return _json({"status": 404, "message": "video not found"}, 404)
                expected = [video["etags"].get(n) for n in range(len(video["ranges"]))]
                if None in expected or final.get("uploadedPartIds") != expected:
                    return _json({"status": 400, "message": "uploadedPartIds do not match the uploaded parts"}, 400)
                failed = self._fault("finalize") == "processing_failed"
                video["statuses"] = deque(self.video_statuses[:-1] + ["PROCESSING_FAILED"] if failed else self.video_statuses)
                video["status"] = "PROCESSING"
                return Response("", status=200)
        return _json({"status": 400, "message": f"unknown action {action!r}"}, 400)

    def _upload(self, request: Request, kind: str, media_id: str, part: int) -> Response:
        if request.method != "PUT":
            return _json({"status": 405, "message": "PUT only"}, 405)
        with self.lock:
            store = self.images if kind == "image" else self.videos
            item = store.get(f"urn:li:{kind}:{media_id}")
            if item is None:
                return _json({"status": 404, "message": "Not Found"}, 404)
            if kind == "image" and _bearer(request) not in self.tokens:
                return _json({"status": 401, "message": "Empty oauth2 access token"}, 401)
            fault = self._fault("upload")
            if fault == "expired":
                item["expired"] = True
            if item["expired"]:
                return Response("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", status=403, content_type="application/xml")
            if fault == "500":
                return _json({"status": 500, "message": "Internal Server Error"}, 500)
            data = request.get_data()
            if kind == "image":
                item["data"], item["status"] = data, "AVAILABLE"
                return Response("", status=201)
            first, last = item["ranges"][part]
            if len(data) != last - first + 1:
                return _json({"status": 400, "message": f"part {part} must be {last - first + 1} bytes"}, 400)
            item["parts"][part] = data
            item["etags"][part] = f"/ambry-video/signedId/{media_id}-{part}"
        return Response("", status=200, headers={"ETag": item["etags"][part]})

    def video_bytes(self, urn: str) -> bytes:
        video = self.videos[urn]
        return b"".join(video["parts"][n] for n in range(len(video["ranges"])))


class FakeSendGrid(FakePlatform):
    """SendGrid v3 mail send, enforcing the 1,000 personalizations (and recipients) per request."""

    def __init__(self, api_key: str = "SG.test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.accepted: list[dict[str, Any]] = []

    def route(self, request: Request) -> Response:
        if _bearer(request) != self.api_key:
            return _json({"errors": [{"message": "The provided authorization grant is invalid, expired, or revoked", "field": None, "help": None}]}, 401)
        if request.path == "/v3/mail/send" and request.method == "POST":
            fault = self._fault("send")
            if fault == "500":
                return _json({"errors": [{"message": "internal error"}]}, 500)
            if fault == "429":
                return _json({"errors": [{"message": "too many requests"}]}, 429, {"X-RateLimit-Reset": "1900000000"})
            body = request.get_json(silent=True) or {}
            personalizations = body.get("personalizations", [])
            if len(personalizations) > 1000:
                return _json({"errors": [{"message": f"The personalization block is limited to 1000 personalizations per API request. You have provided {len(personalizations)} personalizations.", "field": "personalizations", "help": None}]}, 400)
            emails = [to["email"] for p in personalizations for to in p.get("to", [])]
            if len(emails) > 1000 or len(set(emails)) != len(emails):
                return _json({"errors": [{"message": "Each unique email address in the personalizations array should only be included once.", "field": "personalizations"}]}, 400)
            with self.lock:
                self.accepted.append(body)
                n = len(self.accepted)
            return Response("", status=202, headers={"X-Message-Id": f"sg-msg-{n}"})
        if request.path == "/v3/categories/stats":
            return _json([{"date": "2026-11-01", "stats": [{"type": "category", "name": request.args.get("categories"),
                                                            "metrics": {"delivered": 90, "opens": 40, "clicks": 12, "unsubscribes": 1}}]},
                          {"date": "2026-11-02", "stats": [{"type": "category", "name": request.args.get("categories"),
                                                            "metrics": {"delivered": 10, "opens": 5, "clicks": 3, "unsubscribes": 0}}]}])
        return _json({"errors": [{"message": "not found"}]}, 404)


class FakeMailgun(FakePlatform):
    """Mailgun messages API with basic auth api:KEY and at most 1,000 recipients per call."""

    def __init__(self, api_key: str = "mg-key-1", domain: str = "mg.acme.example") -> None:
        super().__init__()
        self.api_key, self.domain = api_key, domain
        self.accepted: list[dict[str, list[str]]] = []

    def route(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or auth.username != "api" or auth.password != self.api_key:
            return Response("Forbidden", status=401)
        if request.path == f"/v3/{self.domain}/messages" and request.method == "POST":
            form = request.form.to_dict(flat=False)
            if len(form.get("to", [])) > 1000:
                return _json({"message": "Too many recipients"}, 400)
            with self.lock:
                self.accepted.append(form)
                n = len(self.accepted)
            return _json({"id": f"<20261124.{n}@{self.domain}>", "message": "Queued. Thank you."})
        if m := re.fullmatch(rf"/v3/{re.escape(self.domain)}/tags/([^/]+)/stats", request.path):
            return _json({"tag": m.group(1), "stats": [{"time": "Mon, 23 Nov 2026 00:00:00 UTC", "accepted": {"total": 100},
                                                        "delivered": {"total": 98}, "opened": {"total": 40}, "clicked": {"total": 9}}]})
        return _json({"message": "not found"}, 404)
