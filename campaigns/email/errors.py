"""The errors of the email context: each message names the fix."""

from __future__ import annotations


class EmailDeliveryError(ValueError):
    """A state or setting that stops a send before anything goes out; the message names the fix."""


class EmailCampaignNotFoundError(LookupError):
    pass


class EmailTemplateError(EmailDeliveryError):
    pass


class EmailCampaignLockedError(EmailDeliveryError):
    """Its sending started (or it ended): subject, audience and send window stay as they went out."""


class StaleEmailCampaignError(EmailDeliveryError):
    """The email campaign changed since the version the caller read: nothing was written."""
