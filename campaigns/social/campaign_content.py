"""A campaign's approved social draft onto the queue: at a time the person picks, or the best slot inside the campaign's dates.

The approval bound to the content hash gates the item as for every queued post (`enqueue_content`):
an edit after approval needs a new approval before the draft can be scheduled.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from campaigns.content.approvals import get_content
from campaigns.core.settings import Settings
from campaigns.core.store.models import SocialQueueItem
from campaigns.lifecycle.service import get_campaign
from campaigns.social.accounts import QueueError, get_account
from campaigns.social.posting_slots import best_slots
from campaigns.social.scheduling import enqueue_content

SOCIAL_PLATFORMS = ("x", "linkedin", "facebook", "instagram")
CANDIDATES = 60  # best slots considered to find the best one inside the campaign's dates


def schedule_draft(settings: Settings, session: Session, merchant_id: str, content_id: int, account_id: int, *, actor: str,
                   at: datetime | None = None, now: datetime | None = None) -> tuple[SocialQueueItem, str]:
    """Queue campaign content `content_id` on `account_id` at `at`, or (None) at the best slot inside the campaign's dates.

    Returns the item and a note on how the time was chosen.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    content = get_content(session, merchant_id, content_id)
    account = get_account(session, merchant_id, account_id)
    if (content.platform or content.channel).lower() not in SOCIAL_PLATFORMS:
        raise QueueError(f"draft cc-{content.id} is {content.channel}/{content.platform or '-'} content, not a social post; "
                         "email drafts go out as email campaigns (`campaigns email create`)")
    if content.platform and content.platform.lower() != account.platform:
        raise QueueError(f"draft cc-{content.id} was written for {content.platform}, account {account.id} is {account.platform}; pick a "
                         f"{content.platform} account (`campaigns accounts list`)")
    start = end = None
    if content.campaign_id:
        campaign = get_campaign(session, merchant_id, content.campaign_id)
        start, end = campaign.start_date, campaign.end_date
    if at is not None:
        if (start and at < start) or (end and at >= end):
            raise QueueError(f"{at:%Y-%m-%d %H:%M} UTC is outside campaign {content.campaign_id}'s dates "
                             f"({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC); pick a time inside them or --best")
        when, note = at, "at the time given"
    else:
        since = max(now, start) if start else now
        slots, history = best_slots(settings, session, merchant_id, account, since, CANDIDATES)
        inside = [s for s in slots if end is None or s.at < end]
        if not inside:
            raise QueueError("no free slot inside the campaign's dates in the next 7 days (minimum gap and daily limit); pick a time with --at")
        slot = inside[0]
        when = slot.at
        note = f"best slot {slot.local:%a %d %b %H:%M} {account.timezone} (expected engagement {slot.rate:.2%}, {slot.confidence} confidence){history}"
    item = enqueue_content(session, merchant_id, content.id, account_id=account.id, scheduled_at=when, actor=actor)
    return item, note
