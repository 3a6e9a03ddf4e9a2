"""Leo's entry point: one post in, N variations per format out, each checked.

    result = repurpose(read_post(path), formats=["x", "email"], variations=3)
    result.to_dict()   # {"source": {...}, "engine": ..., "outputs": [...], "checks": {...}, "usage": {...}}

The engine is the live model when the settings allow it (``ANTHROPIC_API_KEY``), else the
offline engine. A live format that fails (timeouts after retries, no valid answer within
the repair bound) falls back to offline drafts for that format, and the output says so in
its ``notes``; the run never fails for want of a model.

A post too short for a format (ads need three headlines and two complete sentences) leaves
that format out with a note; a post that cannot carry as many distinct variations as asked
gets fewer, also with a note. Social drafts carry the post's most relevant image with its alt
text (`agents.leo.images`). Both engines write in the merchant's brand voice (`voice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.gateway import GatewayError, LLMGateway
from agents.leo.checks import Check, check_distinct, check_output, source_vocabulary, visible_text, words
from agents.leo.drafts import Draft
from agents.leo.finish import LinkContext, campaign_slug, finish
from agents.leo.images import attach_media
from agents.leo.live import LiveEngine, draft_words
from agents.leo.offline import NotEnoughMaterial, OfflineEngine
from agents.leo.outputs import Output
from agents.leo.performance import NoHistory, PerformanceHistory
from agents.leo.phrases import DISTINCT_FRAMES
from agents.leo.voice import BrandVoice
from agents.limits import FORMATS
from agents.settings import AgentSettings, get_agent_settings
from agents.source import SourcePost

MAX_VARIATIONS = 12


@dataclass
class RepurposeResult:
    source: SourcePost
    outputs: list[Output]
    checks: dict[str, list[Check]]
    engine: str
    campaign: str
    usage: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.ok for checks in self.checks.values() for c in checks)

    def failures(self) -> list[str]:
        return [f"{key} {c.name}: {c.detail}" for key, checks in self.checks.items() for c in checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {"title": self.source.title, "url": self.source.url, **{k: v for k, v in self.source.summary().items() if k not in ("title", "url")}},
            "engine": self.engine,
            "utm_campaign": self.campaign,
            "outputs": [o.to_dict() for o in self.outputs],
            "checks": {key: [c.to_dict() for c in checks] for key, checks in self.checks.items()},
            "passed": self.passed,
            "usage": self.usage,
            "notes": self.notes,
        }


def parse_formats(value: str | Sequence[str]) -> list[str]:
    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    unknown = [v for v in items if v not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; use any of {','.join(FORMATS)}")
    if not items:
        raise ValueError(f"no format given; use any of {','.join(FORMATS)}")
    return list(dict.fromkeys(items))


def repurpose(
    source: SourcePost,
    formats: Sequence[str] = FORMATS,
    variations: int = 3,
    *,
    campaign_id: str | None = None,
    settings: AgentSettings | None = None,
    gateway: LLMGateway | None = None,
    history: PerformanceHistory | None = None,
    voice: BrandVoice | None = None,
) -> RepurposeResult:
    settings = settings or get_agent_settings()
    voice = voice or BrandVoice.from_settings(settings.brand_voice)
    formats = parse_formats(list(formats))
    if not 1 <= variations <= MAX_VARIATIONS:
        raise ValueError(f"variations must be between 1 and {MAX_VARIATIONS}, got {variations}")
    history = history or NoHistory()
    link = LinkContext(source.url, campaign_slug(source.title, source.source_hash, campaign_id))
    brand_extra = [" ".join(settings.brand_hashtags), voice.description, voice.sign_off]
    base_vocabulary = source_vocabulary(source, brand_extra)
    offline = OfflineEngine(voice)
    plan = offline.plan(source, variations)
    live: LiveEngine | None = None
    if settings.live:
        gateway = gateway or LLMGateway(settings)
        if campaign_id and gateway.ledger.campaign_id is None:
            gateway.ledger.campaign_id = campaign_id
        live = LiveEngine(gateway, voice)

    notes = list(source.notes)
    outputs: list[Output] = []
    checks: dict[str, list[Check]] = {}
    engines_used: set[str] = set()

    def finish_all(drafts: Sequence[Draft], engine: str, extra_notes: list[str]) -> list[Output]:
        return [
            finish(d, fmt=fmt, variant=i, engine=engine, source=source, link=link, brand_hashtags=settings.brand_hashtags, notes=extra_notes,
                   voice=voice)
            for i, d in enumerate(drafts, start=1)
        ]

    for fmt in formats:
        finished: list[Output] = []
        vocab_by_variant: dict[int, set[str]] = {}
        if live is not None:
            model = live.model_for(fmt)
            kept: dict[str, list[Output]] = {}

            def validate(drafts: list[Draft], fmt: str = fmt, model: str = model, kept: dict[str, list[Output]] = kept) -> list[str]:
                problems: list[str] = []
                if len(drafts) < variations:
                    problems.append(f"write exactly {variations} variants; there are {len(drafts)}")
                try:
                    outs = finish_all(drafts[:variations], model, [])
                except NotEnoughMaterial as exc:
                    return [*problems, f"{exc}; write complete, standalone lines"]
                for out, draft in zip(outs, drafts):
                    vocab = base_vocabulary | words(draft_words(draft))
                    for check in check_output(out, source, vocabulary=vocab, allowed_extra=brand_extra, voice=voice):
                        if not check.ok and check.name != "limits":  # limits are repaired, never asked again
                            problems.append(f"variant {out.variant}: {check.detail}")
                    vocab_by_variant[out.variant] = vocab
                distinct = check_distinct(outs)
                if not distinct.ok:
                    problems.append(f"{distinct.detail}; give each variant its own angle and wording")
                kept["outputs"] = outs
                return problems

            try:
                live.drafts(source, fmt, [angle for angle, _ in plan], validate)
                finished = kept["outputs"]
                engines_used.add(model)
                if live.gateway.settings.llm_claim_check:
                    _claim_notes(live, source, finished)
            except GatewayError as exc:
                reason = f"live engine failed for {fmt} ({exc.kind}): {exc}; offline drafts used instead"
                notes.append(reason)
                finished = []
                vocab_by_variant = {}
                fallback_note = [f"offline fallback: {exc.kind}"]
                finished = _offline_outputs(offline, source, fmt, plan, lambda d: finish_all(d, "offline", fallback_note), notes)
                engines_used.add("offline")
        else:
            finished = _offline_outputs(offline, source, fmt, plan, lambda d: finish_all(d, "offline", []), notes)
            engines_used.add("offline")
        if not finished:
            continue
        attach_media(finished, source)  # social drafts take the post's most relevant image (agents.leo.images)

        for out in finished:
            prediction, reason = history.predict(fmt)
            out.predicted_performance = prediction
            out.prediction_note = reason
            checks[f"{fmt}:v{out.variant}"] = check_output(out, source, vocabulary=vocab_by_variant.get(out.variant, base_vocabulary),
                                                          allowed_extra=brand_extra, voice=voice)
        checks[f"{fmt}:distinct"] = [check_distinct(finished)]
        outputs.extend(finished)

    usage = gateway.ledger.totals() if (gateway is not None and live is not None) else {"calls": 0, "cost_usd": 0.0}
    engine = "offline" if engines_used == {"offline"} else ",".join(sorted(engines_used))
    return RepurposeResult(source, outputs, checks, engine, link.campaign, usage, notes)


def _offline_outputs(engine: OfflineEngine, source: SourcePost, fmt: str, plan: list[tuple[str, int]], finish_all,
                     notes: list[str]) -> list[Output]:
    """Offline drafts, re-framed where two variants would read the same; none (with a note) when the post is too short for `fmt`."""
    frames: dict[int, str] = {}
    try:
        drafts = engine.drafts(source, fmt, plan)
        outs: list[Output] = finish_all(drafts)
        for attempt in range(len(DISTINCT_FRAMES)):
            dupes = _duplicates(outs)
            if not dupes:
                return outs
            for k, index in enumerate(dupes):
                frames[index] = DISTINCT_FRAMES[(attempt + k) % len(DISTINCT_FRAMES)]
            drafts = engine.drafts(source, fmt, plan, frames=frames)
            outs = finish_all(drafts)
        dupes = set(_duplicates(outs))
        if not dupes:
            return outs
        # the post cannot carry this many different variations: keep the distinct ones
        kept = [d for i, d in enumerate(drafts) if i not in dupes]
        notes.append(f"{fmt}: {len(kept)} variation(s) instead of {len(drafts)}: the post does not hold enough different material")
        return finish_all(kept)
    except NotEnoughMaterial as exc:
        notes.append(f"{fmt} left out: the post is too short for it ({exc})")
        return []


def _duplicates(outs: list[Output]) -> list[int]:
    seen: set[str] = set()
    dupes = []
    for index, out in enumerate(outs):
        key = " ".join(out.signature().split()).lower()
        if key in seen:
            dupes.append(index)
        seen.add(key)
    return dupes


def _claim_notes(live: LiveEngine, source: SourcePost, outputs: list[Output]) -> None:

    try:
        findings = live.review_claims(source, {o.variant: visible_text(o) for o in outputs})
    except GatewayError as exc:
        for out in outputs:
            out.notes.append(f"claim check not run: {exc.kind}")
        return
    for finding in findings:
        for out in outputs:
            if out.variant == finding.variant:
                out.notes.append(f"claim check: the post may not support “{finding.claim}”")
