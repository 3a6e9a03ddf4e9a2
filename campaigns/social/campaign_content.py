"""A campaign's approved social draft onto the queue: at a time the person picks, or the best slot inside the campaign's dates.

The approval bound to the content hash gates the item as for every queued post (`enqueue_content`):
an edit after approval needs a new approval before the draft can be scheduled.

A draft may carry an image chosen from its source post (`media_choice`: the source and the alt
text), which its approval covers. Scheduling fetches that image, fits it to the platform, stores
it through the media store and attaches it; the approval carries over to the stored image (noted
on the new approval and in the audit log), so the queued post's hash binds the exact bytes sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from campaigns.content.approvals import KIND_CONTENT, get_content, hash_of_content, require_approval
from campaigns.core.audit import record
from campaigns.core.settings import Settings
from campaigns.core.store.models import Approval, CampaignContent, SocialQueueItem
from campaigns.lifecycle.service import get_campaign
from campaigns.social.accounts import QueueError, get_account
from campaigns.social.media import attach_images
from campaigns.social.media_fetch import fetch_image, fit_image
from campaigns.social.media_store import MediaStore, media_store
from campaigns.social.posting_slots import best_slots
from campaigns.social.scheduling import enqueue_content
from publishers.limits import LIMITS

SOCIAL_PLATFORMS = ("x", "linkedin", "facebook", "instagram")
CANDIDATES = 60  # best slots considered to find the best one inside the campaign's dates


def schedule_draft(settings: Settings, session: Session, merchant_id: str, content_id: int, account_id: int, *, actor: str,
                   at: datetime | None = None, now: datetime | None = None, store: MediaStore | None = None) -> tuple[SocialQueueItem, str]:
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
    if not content.media and not content.media_choice and LIMITS[account.platform].media_required:
        raise QueueError(f"draft cc-{content.id} has no image and {account.platform} requires one: its post had none to choose; add an "
                         "image to the post and repurpose it, or post the caption with an image (`campaigns social schedule --media FILE`)")
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
    if content.media_choice and not content.media:
        note += store_chosen_image(settings, session, merchant_id, content, account.platform, actor=actor, store=store)
    queued = enqueue_content(session, merchant_id, content.id, account_id=account.id, scheduled_at=when, actor=actor)
    item = queued.item
    if not queued.created:
        note = (f"already on the queue as item {item.id} ({item.status.value}, {item.scheduled_at:%Y-%m-%d %H:%M} UTC): a draft goes out "
                "once per account; cancel that item to schedule it again")
    return item, note


def store_chosen_image(settings: Settings, session: Session, merchant_id: str, content: CampaignContent, platform: str, *, actor: str,
                       store: MediaStore | None = None) -> str:
    """Fetch, fit and store the approved draft's chosen image; the approval carries over to the stored version. Returns a note."""
    approval = require_approval(session, merchant_id, KIND_CONTENT, content.id, hash_of_content(content))  # the choice was approved
    choice = content.media_choice or {}
    src, alt = str(choice["src"]), str(choice.get("alt") or "")
    data = fit_image(platform, fetch_image(src), src)
    (url,), alts = attach_images(store or media_store(settings), settings.public_url, platform, [(src.rsplit("/", 1)[-1] or "image", data)], [alt])
    content.media, content.media_alt = [url], alts
    stored_hash = hash_of_content(content)
    content.content_hash = stored_hash
    session.add(Approval(merchant_id=merchant_id, content_kind=KIND_CONTENT, content_id=content.id, content_hash=stored_hash,
                         approved_by=approval.approved_by, note=f"approval {approval.id} of the image chosen from the post ({src[:200]}), stored"))
    session.flush()
    record(session, merchant_id, actor, "content.media_stored", KIND_CONTENT, str(content.id), source=src[:500], url=url,
           approval_id=approval.id, content_hash=stored_hash)
    return f"; image from the post attached ({alt[:60]})"
