"""The errors of the email context: each message names the fix."""

from __future__ import annotations


class EmailDeliveryError(ValueError):
    """A state or setting that stops a send before anything goes out; the message names the fix."""


class EmailCampaignNotFoundError(LookupError):
    pass


class EmailTemplateError(EmailDeliveryError):
    pass


class EmailFieldError(EmailDeliveryError):
    """Bad input in one field of an email campaign (`field`: campaign, segment, template, subject, preview_text,
    send_window_hours, send_at), so a form can show the message next to that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class EmailCampaignLockedError(EmailDeliveryError):
    """Its sending started (or it ended): subject, audience and send window stay as they went out."""


class StaleEmailCampaignError(EmailDeliveryError):
    """The email campaign changed since the version the caller read: nothing was written."""
