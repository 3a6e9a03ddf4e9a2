"""The campaign builder's state and validation, apart from its widgets, and its conversion to and from the store.

Draft persistence: the draft lives in session state while a person types, and is written to
the store (by `campaigns.lifecycle.drafts.save_draft`, through `ui.write`) as a DRAFT campaign as soon as the basics step is passed (then again on every
step change and on "Save draft"). So a half-built campaign survives a closed tab, shows up
in the campaign list, and can be reopened in the builder; the session only holds which
step is open and values not yet saved.

Where the builder's values land in the store:
- campaigns: name, type, description, channels, budget, start/end (UTC), and
  ``goals`` = {goal, kpi, target, cadence, template}, ``target_audience`` =
  {mode, segment_id, segment_name, rules, social_account_ids, ads_note}
- campaign_contents: one DRAFT row per draft text (content_hash set): the channel's first draft, then its further
  drafts (``more_drafts``: Leo's other variations, or posts written by hand), each approved and scheduled on its own
- budget_allocations: one row per channel with the allocated amount for the flight
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from campaigns.audiences.segments import EVERYONE, RuleError, validate_rules
from campaigns.core.enums import MARKETING_CHANNELS, CampaignType
from campaigns.lifecycle import templates as campaign_templates
from campaigns.lifecycle.drafts import Draft, SavedDraft
from campaigns.lifecycle.service import CampaignInput
from optimizers.cents import split_cents
from publishers.limits import LIMITS, check

STEPS = ("Basics", "Goal and KPI", "Audience", "Channels and budget", "Content", "Schedule", "Review")
# which fields each step owns: its Next button stays shut while any of them has an error
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "Basics": ("name", "type", "description"),
    "Goal and KPI": ("goal", "kpi", "target"),
    "Audience": ("rules", "segment_id", "social_account_ids"),
    "Channels and budget": ("channels", "budget", "split", "cadence"),
    "Content": ("drafts",),
    "Schedule": ("start_date", "end_date"),
    "Review": (),
}
CHANNELS = tuple(MARKETING_CHANNELS)
OTHER_GOAL = "other"
CENT = Decimal("0.01")


def blank(timezone: str = "UTC", today: date | None = None) -> dict[str, Any]:
    """A new draft: nothing chosen yet, flight starting tomorrow 09:00 local for 30 days."""
    start = (today or datetime.now(ZoneInfo(timezone)).date()) + timedelta(days=1)
    return {
        "campaign_id": None,
        "step": 0,
        "template_id": None,
        "name": "",
        "type": CampaignType.CONVERSION.value,
        "description": "",
        "goal": OTHER_GOAL,
        "kpi": "revenue",
        "target": 0.0,
        "audience_mode": "everyone",
        "segment_id": None,
        "segment_name": "",
        "rules": copy.deepcopy(EVERYONE),
        "social_account_ids": [],
        "ads_note": "",
        "channels": [],
        "budget": 0.0,
        "split": {},
        "cadence": {},
        "drafts": {},
        "more_drafts": {},  # channel -> the drafts after its first (empty ones are not stored)
        "start_day": start,
        "start_time": time(9, 0),
        "end_day": start + timedelta(days=30),
        "end_time": time(9, 0),
        "timezone": timezone,
        "saved_at": None,
        "finished": False,
    }


def from_template(template_id: str, timezone: str = "UTC", today: date | None = None) -> dict[str, Any]:
    template = campaign_templates.get_template(template_id)
    values = template.prefill()
    draft = blank(timezone, today)
    draft.update(
        template_id=template.id,
        type=values["type"],
        description=values["description"],
        goal=values["goal"],
        kpi=values["kpi"],
        channels=list(values["channels"]),
        budget=float(values["budget"]),
        split={c: float(a) for c, a in values["split"].items()},
        cadence={c: float(n) for c, n in values["cadence"].items()},
        drafts=dict(values["drafts"]),
        end_day=draft["start_day"] + timedelta(days=values["duration_days"]),
    )
    return draft


# --- reading the draft --------------------------------------------------------------------------
def to_utc(day: date | None, at: time | None, timezone: str) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, at or time(0, 0), ZoneInfo(timezone)).astimezone(UTC)


def money(value: float | int | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def goals_of(draft: dict[str, Any]) -> dict[str, Any]:
    channels = draft["channels"]
    return {
        "goal": draft["goal"],
        "kpi": draft["kpi"],
        "target": float(draft.get("target") or 0),
        "cadence": {c: float(n) for c, n in draft["cadence"].items() if c in channels},
        "template": draft.get("template_id"),
    }


def audience_of(draft: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": draft["audience_mode"],
        "segment_id": draft.get("segment_id"),
        "segment_name": draft.get("segment_name", ""),
        "rules": draft["rules"],
        "social_account_ids": list(draft.get("social_account_ids") or []),
        "ads_note": draft.get("ads_note", ""),
    }


def payload(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft as CampaignInput fields (what pydantic validates)."""
    tz = draft["timezone"]
    budget = draft.get("budget")
    return {
        "name": draft["name"],
        "type": draft["type"],
        "description": draft["description"],
        "channels": list(draft["channels"]),
        "budget": money(budget) if budget else None,
        "start_date": to_utc(draft.get("start_day"), draft.get("start_time"), tz),
        "end_date": to_utc(draft.get("end_day"), draft.get("end_time"), tz),
        "target_audience": audience_of(draft),
        "goals": goals_of(draft),
    }


def _message(error: dict[str, Any]) -> str:
    text = str(error.get("msg", "is not valid"))
    return text.removeprefix("Value error, ")


def validate(draft: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with the draft, by field, in words a marketer can act on."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    try:
        CampaignInput.model_validate(payload(draft))
    except ValidationError as exc:
        for error in exc.errors():
            loc = error.get("loc") or ()
            name = str(loc[0]) if loc else "end_date"  # the model-level check is the date order
            if name == "name" and error.get("type") == "string_too_short":
                add(name, "give the campaign a name")
            else:
                add(name, _message(error))
    channels = draft["channels"]
    if not channels:
        add("channels", "choose at least one channel")
    budget = money(draft.get("budget") or 0)
    if not budget or budget <= 0:
        add("budget", "set a total budget above zero")
    elif channels:
        split = sum((money(draft["split"].get(c) or 0) for c in channels), Decimal(0))
        if split != budget:
            gap = budget - split
            add("split", f"the channel amounts add up to {split:,.2f}, not the total {budget:,.2f}: "
                         f"{'add' if gap > 0 else 'remove'} {abs(gap):,.2f}")
    for channel, per_week in draft["cadence"].items():
        if channel in channels and per_week < 0:
            add("cadence", f"{channel}: posts per week cannot be negative")
    try:
        validate_rules(draft["rules"])
    except RuleError as exc:
        add("rules", str(exc))
    if draft.get("kpi") and draft.get("target", 0) < 0:
        add("target", "the target cannot be negative")
    for channel in channels:
        for problem in content_problems(channel, draft["drafts"].get(channel, "")):
            add(f"drafts.{channel}", problem)
        for number, text in enumerate(draft.get("more_drafts", {}).get(channel, []), start=2):
            for problem in content_problems(channel, text):
                add(f"drafts.{channel}.{number}", f"draft {number}: {problem}")
    if draft.get("start_day") is None:
        add("start_date", "pick a start date")
    if draft.get("end_day") is None:
        add("end_date", "pick an end date")
    return errors


def content_problems(channel: str, text: str) -> list[str]:
    """Blocking problems of a draft text (length over the platform's limit); empty drafts may be written later."""
    if not text.strip():
        return []
    if channel not in LIMITS:
        return []
    # media is attached at scheduling time, so only the text's problems count here
    return [str(issue) for issue in check(channel, text) if not str(getattr(issue, "field", "")).startswith("media")]


def step_errors(draft: dict[str, Any], step: str, errors: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    errors = validate(draft) if errors is None else errors
    owned = STEP_FIELDS[step]
    if step == "Review":
        return errors
    return {k: v for k, v in errors.items() if k in owned or any(k.startswith(f"{o}.") for o in owned)}


def rules_json(rules: dict[str, Any]) -> str:
    return json.dumps(rules, sort_keys=True, separators=(",", ":"))


def even_split(budget: float, channels: list[str]) -> dict[str, float]:
    """The budget in equal parts, in cents summing to the budget (leftover cents to the first channels)."""
    if not channels:
        return {}
    return {c: float(a) for c, a in split_cents(money(budget) or Decimal(0), dict.fromkeys(channels, 1.0)).items()}


def template_split(template_id: str, budget: float, channels: list[str]) -> dict[str, float]:
    """The template's shares over the chosen channels (re-normalised), in cents summing to the budget."""
    shares = {c: f for c, f in campaign_templates.get_template(template_id).budget_split.items() if c in channels}
    if not shares:
        return even_split(budget, channels)
    amounts = split_cents(money(budget) or Decimal(0), {c: shares.get(c, 0.0) for c in channels})
    return {c: float(a) for c, a in amounts.items()}


# --- to and from the store (campaigns.lifecycle.drafts saves and loads) ---------------------------
def to_draft(draft: dict[str, Any]) -> Draft:
    """The builder's draft in store terms, for `save_draft`."""
    data = payload(draft)
    return Draft(
        fields=data,
        contents={c: draft["drafts"].get(c, "") for c in draft["channels"]},
        more={c: list(more) for c, more in draft.get("more_drafts", {}).items() if c in draft["channels"] and more},
        allocations={c: money(draft["split"].get(c) or 0) or Decimal(0) for c in draft["channels"]},
        campaign_id=draft.get("campaign_id"),
        step=STEPS[draft["step"]],
    )


def from_saved(saved: SavedDraft, timezone: str) -> dict[str, Any]:
    """A saved DRAFT campaign (from `load_draft`) back into the builder, its dates in the merchant's time zone."""
    fields = saved.fields
    goals, audience = fields["goals"], fields["target_audience"]
    draft = blank(timezone)
    draft.update(
        campaign_id=saved.campaign_id,
        name=fields["name"],
        type=fields["type"].value,
        description=fields["description"],
        goal=goals.get("goal", OTHER_GOAL),
        kpi=goals.get("kpi", "revenue"),
        target=float(goals.get("target") or 0),
        cadence={k: float(v) for k, v in (goals.get("cadence") or {}).items()},
        template_id=goals.get("template"),
        audience_mode=audience.get("mode", "everyone"),
        segment_id=audience.get("segment_id"),
        segment_name=audience.get("segment_name", ""),
        rules=audience.get("rules") or copy.deepcopy(EVERYONE),
        social_account_ids=list(audience.get("social_account_ids") or []),
        ads_note=audience.get("ads_note", ""),
        channels=list(fields["channels"]),
        budget=float(fields["budget"] or 0),
        split={c: float(a) for c, a in saved.allocations.items()},
        drafts=dict(saved.contents),
        more_drafts={c: list(more) for c, more in saved.more.items()},
        saved_at=saved.saved_at,
    )
    zone = ZoneInfo(timezone)
    if fields["start_date"]:
        local = fields["start_date"].astimezone(zone)
        draft.update(start_day=local.date(), start_time=local.time().replace(tzinfo=None))
    if fields["end_date"]:
        local = fields["end_date"].astimezone(zone)
        draft.update(end_day=local.date(), end_time=local.time().replace(tzinfo=None))
    return draft


MAX_LEO_VARIATIONS = 3  # drafts per channel Leo writes in the builder: each is approved and scheduled on its own
# Leo's format for each channel of the builder (both ad channels take the same ads copy)
LEO_FORMAT = {"x": "x", "linkedin": "linkedin", "facebook": "facebook", "instagram": "instagram", "email": "email",
              "google_ads": "ads", "meta_ads": "ads"}


def drafts_from_post(session: Session, merchant_id: str, post: str, channels: list[str], actor: str,
                     variations: int = 1) -> dict[str, list[str]]:
    """`variations` drafts per channel written by Leo (the configured engine, else the offline one) in the merchant's voice
    from `post`, as the builder's fields hold them, variant 1 first; a model's usage is recorded. Raises ValueError when
    the post cannot be read or `variations` is out of range.

    The drafts are not stored here: the builder saves them with the campaign, where each waits for its own approval.
    """
    from agents.leo.repurpose import repurpose
    from agents.leo.voice import BrandVoice
    from agents.settings import get_agent_settings
    from agents.source import SourceError, parse_post
    from agents.usage import persist
    from campaigns.core.merchants import get_brand_voice

    if not 1 <= variations <= MAX_LEO_VARIATIONS:
        raise ValueError(f"Leo writes 1 to {MAX_LEO_VARIATIONS} drafts per channel, not {variations}")
    settings = get_agent_settings()
    try:
        source = parse_post(post, max_bytes=settings.max_source_bytes, max_chars=settings.max_source_chars)
    except SourceError as exc:
        raise ValueError(str(exc)) from exc
    formats = sorted({LEO_FORMAT[c] for c in channels if c in LEO_FORMAT})
    voice = BrandVoice.from_settings(settings.brand_voice, get_brand_voice(session, merchant_id))
    result = repurpose(source, formats, variations, settings=settings, voice=voice)
    persist(session, merchant_id, result.usage, actor=actor, purpose="repurpose", campaign_id=None, entity_id=source.source_hash[:16])
    by_format: dict[str, list[Any]] = {}
    for output in sorted(result.outputs, key=lambda o: o.variant):
        by_format.setdefault(output.format, []).append(output)
    written = {}
    for channel in channels:
        outputs = by_format.get(LEO_FORMAT.get(channel, ""))
        if outputs:
            written[channel] = [_builder_text(o) for o in outputs]
    return written


def _builder_text(output: Any) -> str:
    if output.format == "email":  # the builder's email field: "Subject: ..." first, the body after a blank line
        return "\n".join([f"Subject: {output.subject}", f"Preview: {output.preview_text}", "", output.text or ""])
    return output.publishable_text()
