"""Leo for a merchant in one call: repurpose a post (or one draft's text) in the merchant's voice, store the drafts, report.

What `campaigns repurpose` does for a merchant that exists, for callers that hold a session (the HTTP API):
the engine is the live model when one is configured (`AgentSettings.live`), else the offline engine; the
merchant's brand voice and performance history shape the drafts; the drafts are stored as DRAFT (and as the
campaign's contents with a campaign), the model's usage is recorded, and each draft comes back with its ids,
its publishable text and its checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from agents.leo.performance import PerformanceHistory
from agents.leo.repurpose import RepurposeResult, repurpose
from agents.leo.store import get_repurposed, output_of, save_result
from agents.leo.voice import BrandVoice
from agents.settings import AgentSettings
from agents.source import SourcePost, parse_post
from agents.usage import persist
from campaigns.core.merchants import get_brand_voice, require_merchant
from campaigns.lifecycle.service import get_campaign


def drafts_of(result: RepurposeResult, saved_ids: dict[tuple[str, int], tuple[int, int | None]] | None = None) -> list[dict[str, Any]]:
    """Each output as a draft: ids (when stored), format, variant, angle, the text a person approves, its fields and its checks."""
    out = []
    for output in result.outputs:
        ids = (saved_ids or {}).get((output.format, output.variant))
        out.append({
            "id": f"rc-{ids[0]}" if ids else None, "repurposed_id": ids[0] if ids else None, "content_id": ids[1] if ids else None,
            "format": output.format, "variant": output.variant, "angle": output.angle, "engine": output.engine,
            "text": output.publishable_text(), "fields": output.to_dict(),
            "checks": [c.to_dict() for c in result.checks.get(f"{output.format}:v{output.variant}", [])],
            "notes": list(output.notes),
        })
    return out


def repurpose_for_merchant(session: Session, merchant_id: str, source: SourcePost, formats: Sequence[str], variations: int, *, actor: str,
                           settings: AgentSettings, campaign_id: str | None = None, save: bool = True,
                           history: PerformanceHistory | None = None) -> dict[str, Any]:
    """Repurpose `source` for the merchant (see the module doc); another merchant's campaign is not found before any work."""
    require_merchant(session, merchant_id)
    if campaign_id is not None:
        get_campaign(session, merchant_id, campaign_id)
    voice = BrandVoice.from_settings(settings.brand_voice, get_brand_voice(session, merchant_id))
    result = repurpose(source, formats, variations, campaign_id=campaign_id, settings=settings, history=history, voice=voice)
    saved_ids = None
    if save:
        saved = save_result(session, merchant_id, result, actor=actor, campaign_id=campaign_id)
        persist(session, merchant_id, result.usage, actor=actor, purpose="repurpose", campaign_id=campaign_id, entity_id=source.source_hash[:16])
        saved_ids = {(s.format, s.variant): (s.repurposed_id, s.content_id) for s in saved}
    return {
        "engine": result.engine, "utm_campaign": result.campaign,
        "source": {"title": source.title, "url": source.url, "source_hash": source.source_hash, "sentences": len(source.sentences)},
        "drafts": drafts_of(result, saved_ids), "distinct": {key.split(":")[0]: checks[0].to_dict() for key, checks in result.checks.items()
                                                             if key.endswith(":distinct")},
        "passed": result.passed, "notes": list(result.notes), "usage": result.usage, "saved": save,
    }


def draft_as_source(session: Session, merchant_id: str, repurposed_id: int, settings: AgentSettings) -> SourcePost:
    """A stored draft's text as a post to draw variations from (title and link of the post it came from)."""
    row = get_repurposed(session, merchant_id, repurposed_id)
    output = output_of(row)
    text = output.text or output.primary_text or output.publishable_text()
    return parse_post(f"# {row.source_title}\n\n{text}\n", filename="draft.md", url=row.source_url, max_bytes=settings.max_source_bytes,
                      max_chars=settings.max_source_chars)
