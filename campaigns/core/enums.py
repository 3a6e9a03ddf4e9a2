"""Enumerations shared by the store, services, CLI and app (values match the seed)."""

from __future__ import annotations

from enum import StrEnum


class CampaignType(StrEnum):
    AWARENESS = "AWARENESS"
    ENGAGEMENT = "ENGAGEMENT"
    CONVERSION = "CONVERSION"


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SOCIAL = "SOCIAL"
    ADS = "ADS"


class ContentStatus(StrEnum):
    DRAFT = "DRAFT"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PUBLISHED = "PUBLISHED"


class QueueStatus(StrEnum):
    QUEUED = "QUEUED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    CANCELLED = "CANCELLED"  # its campaign completed or was cancelled before it went out


class EmailCampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # its campaign completed or was cancelled before it was sent


class WorkflowStepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


# Marketing channels as they appear in touchpoints, spend and attribution (lower case,
# finer than the seed's EMAIL/SOCIAL/ADS); the map says which seed channel each rolls up to.
MARKETING_CHANNELS: dict[str, Channel] = {
    "email": Channel.EMAIL,
    "x": Channel.SOCIAL,
    "linkedin": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "google_ads": Channel.ADS,
    "meta_ads": Channel.ADS,
}
