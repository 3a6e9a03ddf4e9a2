"""The one Publisher protocol and the values that cross it.

A publisher turns approved content into a platform request. Social platforms take a
`SocialPost`, email providers an `EmailMessage`; both go through the same protocol
(validate, preview, publish, fetch metrics), typed by the content they accept.

Social publishers can also list the account's recent posts (`Reconciles`), which is how
the queue settles an outcome that may or may not have happened, and X can refresh an
OAuth 2 token (`RefreshesTokens`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

C = TypeVar("C", contravariant=True)

SOCIAL_PLATFORMS = ("x", "facebook", "instagram", "linkedin")
EMAIL_PROVIDERS = ("smtp", "sendgrid", "mailgun")


@dataclass(frozen=True)
class Credentials:
    """What a publisher needs to act for one account. Secrets never show in reprs or logs.

    `account_ref` is the platform's id for the account: the X user id (or handle), the
    Facebook page id, the Instagram user id, the LinkedIn author URN, the Mailgun domain.
    """

    account_ref: str = ""
    access_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    refresh_token: SecretStr | None = None

    @classmethod
    def of(cls, account_ref: str = "", access_token: str = "", refresh_token: str | None = None) -> Credentials:
        return cls(account_ref, SecretStr(access_token), SecretStr(refresh_token) if refresh_token else None)

    def secrets(self) -> tuple[str, ...]:
        values = [self.access_token.get_secret_value()]
        if self.refresh_token is not None:
            values.append(self.refresh_token.get_secret_value())
        return tuple(v for v in values if v)


@dataclass(frozen=True)
class Issue:
    """One reason content cannot go out as it is, naming the field and the fix."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Receipt:
    """What the platform accepted. `sandbox` is True when nothing left this machine."""

    platform: str
    post_id: str
    post_ids: tuple[str, ...] = ()
    url: str | None = None
    sandbox: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "sandbox" if self.sandbox else "live"

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "post_id": self.post_id, "post_ids": list(self.post_ids or (self.post_id,)),
            "url": self.url, "mode": self.label, "sandbox": self.sandbox, **({"detail": self.detail} if self.detail else {}),
        }


@dataclass(frozen=True)
class Metrics:
    platform: str
    ref: str
    values: dict[str, int]
    sandbox: bool = False
    note: str = ""


@dataclass(frozen=True)
class RemotePost:
    """A post as the platform lists it, for reconciliation."""

    id: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class PlannedRequest:
    """A request a publisher would make, without credentials: what the sandbox records."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SocialPost(BaseModel):
    """A post as approved: text (X threads separate parts with a line holding only ``---``),
    image URLs, and the ids of thread parts already posted by an earlier attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    media: tuple[str, ...] = ()
    media_alt: tuple[str, ...] = ()  # alt text per image, in the order of `media` ("" where none)
    posted_part_ids: tuple[str, ...] = ()

    @field_validator("media", "media_alt", mode="before")
    @classmethod
    def _media_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def alt(self, number: int) -> str:
        """The alt text of image `number` (0-based), "" when none was given."""
        return self.media_alt[number] if number < len(self.media_alt) else ""


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class EmailRecipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: str
    name: str = ""
    unsubscribe_url: str = Field(description="https URL that unsubscribes this recipient in one POST (RFC 8058).")
    variables: dict[str, str] = Field(default_factory=dict, description="Values for {{placeholders}} in subject and body.")

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address like ana@example.com")
        return value

    @field_validator("unsubscribe_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("one-click unsubscribe (RFC 8058) needs an https:// URL")
        return value


class EmailMessage(BaseModel):
    """One email to many recipients; {{name}} placeholders are filled per recipient."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    sender: str = Field(description='From header, e.g. "Acme <news@acme.example>".')
    subject: str = Field(min_length=1, max_length=300)
    html: str
    text: str = ""
    recipients: tuple[EmailRecipient, ...] = Field(min_length=1)
    reply_to: str | None = None
    unsubscribe_mailto: str | None = Field(default=None, description="Optional mailto: alternative for List-Unsubscribe.")
    tag: str | None = Field(default=None, description="Campaign tag, used for provider statistics.")

    @field_validator("recipients", mode="before")
    @classmethod
    def _recipients_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def placeholders(self) -> set[str]:
        return {m.group(1) for part in (self.subject, self.html, self.text) for m in _PLACEHOLDER.finditer(part)}


def fill_placeholders(template: str, values: dict[str, str], escape: bool = False) -> str:
    import html

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return html.escape(value) if escape else value

    return _PLACEHOLDER.sub(replace, template)


def placeholder_pattern() -> re.Pattern[str]:
    return _PLACEHOLDER


@runtime_checkable
class Publisher(Protocol[C]):
    """The one protocol every platform client and the sandbox implement."""

    platform: str
    sandbox: bool

    def validate(self, content: C) -> list[Issue]:
        """Problems that would make the platform refuse the content (empty when fine)."""
        ...

    def preview(self, content: C) -> str:
        """Escaped HTML that looks like the platform's rendering."""
        ...

    def publish(self, content: C, credentials: Credentials) -> Receipt:
        """Send it. Raises one of `publishers.errors` on failure."""
        ...

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        ...


@runtime_checkable
class Reconciles(Protocol):
    """Lists what the platform already has, so an uncertain outcome can be settled."""

    def parts(self, post: SocialPost) -> list[str]:
        """The texts the platform will show, one per post created (a thread has several)."""
        ...

    def recent_posts(self, credentials: Credentials, since: datetime | None = None) -> list[RemotePost]:
        ...


@runtime_checkable
class RefreshesTokens(Protocol):
    def refresh(self, credentials: Credentials) -> Credentials:
        """New credentials from the refresh token; raises AuthExpired when refused."""
        ...
