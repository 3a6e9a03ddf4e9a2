"""The errors of the email context: each message names the fix."""

from __future__ import annotations


class EmailDeliveryError(ValueError):
    """A state or setting that stops a send before anything goes out; the message names the fix."""


class EmailCampaignNotFoundError(LookupError):
    pass


class EmailTemplateError(EmailDeliveryError):
    pass
