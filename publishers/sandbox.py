"""The sandbox outbox: the embedded default. Nothing leaves the machine.

Each publish appends one JSON line to ``CAMPAIGNS_HOME/outbox/<platform>.jsonl`` holding
exactly the requests the live client would make (built by the same code, without tokens)
and the ids handed back. Every receipt, metric and preview says ``sandbox``. Reading the
outbox back is how the queue reconciles sandbox posts after a crash, as it does on a
real platform.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publishers.base import (
    EMAIL_PROVIDERS,
    SOCIAL_PLATFORMS,
    Credentials,
    EmailMessage,
    Issue,
    Metrics,
    Receipt,
    RemotePost,
    SocialPost,
)
from publishers.email import recipient_values, unsubscribe_headers
from publishers.errors import Rejected
from publishers.facebook import FacebookPublisher
from publishers.instagram import InstagramPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.mailgun import MailgunPublisher
from publishers.sendgrid import SendGridPublisher
from publishers.smtp import SmtpPublisher
from publishers.x import XPublisher

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_LOCK = threading.Lock()
SANDBOX_BANNER = (
    '<div style="font:12px sans-serif;background:#fff4ce;color:#5c4400;padding:4px 8px;border-radius:4px;margin-bottom:4px">'
    "SANDBOX: recorded in the outbox, not sent</div>"
)


def _live_shape(platform: str):
    """The live client, used only for its pure parts (validate, preview, request building)."""

    nowhere = "http://sandbox.invalid"
    shapes = {
        "x": lambda: XPublisher(nowhere), "facebook": lambda: FacebookPublisher(nowhere), "instagram": lambda: InstagramPublisher(nowhere),
        "linkedin": lambda: LinkedInPublisher(nowhere), "sendgrid": lambda: SendGridPublisher(nowhere), "mailgun": lambda: MailgunPublisher(nowhere),
        "smtp": lambda: SmtpPublisher("sandbox.invalid", 25), "email": lambda: SmtpPublisher("sandbox.invalid", 25),
    }
    try:
        return shapes[platform]()
    except KeyError:
        raise ValueError(f"no sandbox for {platform!r}; use one of {', '.join(shapes)}") from None


class SandboxPublisher:
    sandbox = True

    def __init__(self, platform: str, outbox_dir: Path | str) -> None:
        self.platform = platform
        self.outbox_dir = Path(outbox_dir)
        self._shape = _live_shape(platform)

    def __repr__(self) -> str:
        return f"SandboxPublisher({self.platform!r}, outbox={str(self.path)!r})"

    @property
    def path(self) -> Path:
        return self.outbox_dir / f"{self.platform}.jsonl"

    @property
    def is_email(self) -> bool:
        return self.platform in EMAIL_PROVIDERS or self.platform == "email"

    # --- the protocol ---------------------------------------------------------------
    def validate(self, content: Any) -> list[Issue]:
        return self._shape.validate(content)

    def preview(self, content: Any, **kwargs: Any) -> str:
        return SANDBOX_BANNER + self._shape.preview(content, **kwargs)

    def parts(self, post: SocialPost) -> list[str]:
        return self._shape.parts(post)

    def publish(self, content: Any, credentials: Credentials) -> Receipt:
        if issues := self.validate(content):
            raise Rejected("; ".join(map(str, issues)), platform=self.platform)
        record = self._email_record(content) if self.is_email else self._social_record(content, credentials)
        ids = record["post_ids"]
        self._append({"at": datetime.now(UTC).isoformat(), "sandbox": True, "platform": self.platform,
                      "account": credentials.account_ref, **record})
        return Receipt(self.platform, ids[0], tuple(ids), sandbox=True, detail={"outbox": str(self.path)})

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        posts = []
        for entry in read_outbox(self.path):
            if entry.get("account") != credentials.account_ref:
                continue
            at = datetime.fromisoformat(entry["at"])
            if since is not None and at < since:
                continue
            posts.extend(RemotePost(post_id, text, at) for post_id, text in zip(entry["post_ids"], entry.get("parts", []), strict=False))
        return posts

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        return Metrics(self.platform, ref, {}, sandbox=True, note="sandbox posts have no metrics")

    # --- records ----------------------------------------------------------------------
    def _social_record(self, post: SocialPost, credentials: Credentials) -> dict[str, Any]:
        kind_of_ref = {"x": "{user}", "facebook": "{page-id}", "instagram": "{ig-user-id}", "linkedin": "{author-urn}"}
        args = (credentials.account_ref or kind_of_ref.get(self.platform, ""),) if self.platform != "x" else ()
        planned = self._shape.planned_requests(post, *args)
        parts = self._shape.parts(post)[len(post.posted_part_ids):]
        ids = [*post.posted_part_ids, *(f"sandbox-{self.platform}-{uuid.uuid4().hex[:12]}" for _ in parts)]
        return {"post_ids": ids, "parts": self._shape.parts(post), "requests": [asdict(r) for r in planned]}

    def _email_record(self, message: EmailMessage) -> dict[str, Any]:
        return {
            "post_ids": [f"sandbox-{self.platform}-{uuid.uuid4().hex[:12]}"],
            "message": {"sender": message.sender, "subject": message.subject, "html": message.html, "text": message.text,
                        "reply_to": message.reply_to, "tag": message.tag},
            "recipients": [
                {"email": r.email, "name": r.name, "headers": unsubscribe_headers(r.unsubscribe_url, message.unsubscribe_mailto),
                 "variables": recipient_values(r)}
                for r in message.recipients
            ],
        }

    def _append(self, record: dict[str, Any]) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with _LOCK, self.path.open("a", encoding="utf-8") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # other worker processes append to the same file
            handle.write(line)
            handle.flush()


def read_outbox(path: Path | str) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def sandbox_publishers(outbox_dir: Path | str) -> dict[str, SandboxPublisher]:
    return {platform: SandboxPublisher(platform, outbox_dir) for platform in SOCIAL_PLATFORMS}
