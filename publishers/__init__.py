"""Platform clients behind one Publisher protocol: X, Facebook Pages, Instagram, LinkedIn,
SMTP, SendGrid, Mailgun, and the sandbox outbox (the embedded default).

Base URLs and client ids come in a `PublisherConfig` that the caller builds from its
settings (``CAMPAIGNS_*_BASE_URL``), so tests and proxies can redirect them. Failures are raised as the small taxonomy in `publishers.errors`, which the social
queue turns into outcomes.
"""

from __future__ import annotations

from typing import Literal

from publishers.base import (
    EMAIL_PROVIDERS,
    SOCIAL_PLATFORMS,
    Credentials,
    EmailMessage,
    EmailRecipient,
    Issue,
    Metrics,
    Publisher,
    Receipt,
    Reconciles,
    RefreshesTokens,
    RemotePost,
    SocialPost,
)
from publishers.config import PublisherConfig
from publishers.errors import Ambiguous, AuthExpired, Duplicate, PublishError, Rejected, Retryable

__all__ = [
    "EMAIL_PROVIDERS", "SOCIAL_PLATFORMS", "Ambiguous", "AuthExpired", "Credentials", "Duplicate", "EmailMessage", "EmailRecipient",
    "Issue", "Metrics", "PublishError", "Publisher", "PublisherConfig", "Receipt", "Reconciles", "RefreshesTokens", "Rejected", "RemotePost", "Retryable",
    "SocialPost", "build_email_publisher", "build_publishers",
]


def build_publishers(config: PublisherConfig, *, live: bool = False) -> dict[str, Publisher[SocialPost]]:
    """Social publishers by platform: the sandbox outbox unless `live` is asked for explicitly."""
    # The clients (and httpx) load only when built: every command reads the settings, which import
    # `publishers.config` and so this package, and most commands never publish anything.
    if not live:
        from publishers.sandbox import sandbox_publishers

        return sandbox_publishers(config.outbox_dir)  # type: ignore[return-value]
    from publishers.facebook import FacebookPublisher
    from publishers.instagram import InstagramPublisher
    from publishers.linkedin import DEFAULT_API_VERSION, LinkedInPublisher
    from publishers.x import XPublisher

    return {
        "x": XPublisher(config.x_base_url, client_id=config.x_client_id, client_secret=config.x_client_secret),
        "facebook": FacebookPublisher(config.facebook_base_url),
        "instagram": InstagramPublisher(config.instagram_base_url),
        "linkedin": LinkedInPublisher(config.linkedin_base_url, api_version=config.linkedin_version or DEFAULT_API_VERSION),
    }


def build_email_publisher(config: PublisherConfig, provider: Literal["sandbox", "smtp", "sendgrid", "mailgun"] = "sandbox") -> Publisher[EmailMessage]:
    # the clients load only when built (see build_publishers)
    if provider == "sandbox":
        from publishers.sandbox import SandboxPublisher

        return SandboxPublisher("email", config.outbox_dir)
    if provider == "smtp":
        from publishers.smtp import SmtpPublisher

        return SmtpPublisher(config.smtp_host, config.smtp_port, starttls=config.smtp_starttls)
    if provider == "sendgrid":
        from publishers.sendgrid import SendGridPublisher

        return SendGridPublisher(config.sendgrid_base_url)
    if provider == "mailgun":
        from publishers.mailgun import MailgunPublisher

        return MailgunPublisher(config.mailgun_base_url)
    raise ValueError(f"unknown email provider {provider!r}; use sandbox, smtp, sendgrid or mailgun")
