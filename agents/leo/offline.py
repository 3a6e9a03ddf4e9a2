"""The offline engine: deterministic, extractive drafts (no network, no model).

It reads the post once (`agents.leo.understand.digest`: standalone candidate sentences ranked
by TextRank salience, claim headings, key phrases, steps, questions, quotations), then writes
each variation from one **angle**, chosen only when the post supports it:

* benefit    the post's main claim, then the next most salient sentences
* stat       its strongest sentence with a figure (posts with figures)
* question   a question the post asks and answers, or its title when it is one
* how-to     its steps: numbered lists or step headings (how-to posts only)
* takeaways  its title, then its key points as bullets (three or more points)
* quote      a quotation from the post (posts that quote someone)
* story      where it starts and where it lands (posts of several paragraphs)

Per format: a social hook is the main claim or a real question, then one to three supporting
sentences; an X thread is whole sentences in the post's order; an email subject is the title
(cut at a word to 60 characters) or the main claim, with a preview that adds the next fact;
ads take 15 headlines from the title, claim headings, key phrases and a few calls to action
(no generic heading, no near-duplicate), four descriptions that are complete sentences and a
primary text stating the main claim.

Everything it writes is either a sentence of the post, its title, headings and key phrases,
or one of the short frames in `agents.leo.phrases`, so figures and words come from the post
by construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.leo.copyrules import is_generic_heading, near_duplicate, standalone_problem
from agents.leo.drafts import AdsDraft, Draft, EmailDraft, SocialDraft
from agents.leo.phrases import phrases
from agents.leo.understand import Candidate, Digest, digest, title_core, word_count
from agents.leo.voice import BrandVoice
from agents.limits import RULES
from agents.source import SourcePost
from agents.textfit import ad_width, trim_to_word

SUBJECT_MAX = 60  # house rule: a subject that fits a phone's inbox row (the hard limit is RULES["email"])
HEADLINE_MAX = RULES["ads"].fields["headlines"].max_length
DESCRIPTION_MAX = RULES["ads"].fields["descriptions"].max_length
PRIMARY_MAX = RULES["ads"].fields["primary_text"].max_length
MAX_HEADLINES = (RULES["ads"].max_items or {})["headlines"]
MIN_HEADLINES = (RULES["ads"].min_items or {})["headlines"]
MAX_DESCRIPTIONS = (RULES["ads"].max_items or {})["descriptions"]
MIN_DESCRIPTIONS = (RULES["ads"].min_items or {})["descriptions"]
HOOK_MAX = {"x": 200, "linkedin": 400, "facebook": 400, "instagram": 400}
SUPPORT_COUNT = {"x": 1, "linkedin": 3, "facebook": 2, "instagram": 2}
ANGLE_ORDER = ("benefit", "stat", "question", "how-to", "takeaways", "quote", "story")


class NotEnoughMaterial(ValueError):
    """The post is too short for this format (e.g. ads need two complete sentences of at most 90 characters)."""


@dataclass
class Material:
    angle: str
    hook: str
    body: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def join_sentences(language: str, sentences: list[str]) -> str:
    return ("" if language in ("ja", "zh") else " ").join(s.strip() for s in sentences if s.strip())


def supported_angles(d: Digest) -> list[str]:
    """The angles this post can carry, best first; benefit whenever the post makes a claim."""
    main = d.main_claim
    out: list[str] = []
    if main is not None:
        out.append("benefit")
    if any(c.id != (main.id if main else None) for c in d.numbers):
        out.append("stat")
    if _title_question(d.source) or d.questions:
        out.append("question")
    if d.howto and len(d.steps) >= 2:
        out.append("how-to")
    if "how-to" not in out and (len(d.ranked) >= 4 or (len(d.steps) >= 3 and main is not None)):
        out.append("takeaways")  # a how-to already lists its points under the title
    if d.quotations:
        out.append("quote")
    hook = d.best() or main
    paragraphs = [c for c in d.in_order if c.sentence.kind == "paragraph"]
    if hook is not None and len(paragraphs) >= 2 and any(c.id != hook.id for c in paragraphs[:-1]):
        out.append("story")
    return out


def angle_plan(variations: int, angles: list[str] | None = None) -> list[tuple[str, int]]:
    """(angle, shift) per variant: each supported angle once, then again with the next-best sentences."""
    angles = angles or list(ANGLE_ORDER)
    return [(angles[i % len(angles)], i // len(angles)) for i in range(variations)]


def _title_question(source: SourcePost) -> bool:
    return source.title.rstrip().endswith(("?", "？")) and standalone_problem(source.title) is None


def title_line(source: SourcePost) -> str:
    """The title as a line of copy (None-safe: a title that cannot stand alone gives way to its core)."""
    title = source.title.strip()
    return title if standalone_problem(title) is None else title_core(title)


def material(d: Digest, angle: str, shift: int = 0, *, fmt: str = "linkedin", offset: int = 0) -> Material:
    """The hook and support of one variant; `offset` (its place in the plan) moves the support along, so variants differ."""
    source = d.source
    hook_max = HOOK_MAX.get(fmt, 400)
    main = d.best(shift=shift, max_chars=hook_max) or d.best(shift=shift, prose=False, max_chars=hook_max)
    count = SUPPORT_COUNT.get(fmt, 2)
    if main is None:
        return Material(angle, title_line(source))

    def with_support(hook: Candidate, extra_exclude: set[str] = frozenset()) -> Material:
        # the benefit angle leads with the main claim; every other angle leaves it out, so no two variants share their support
        exclude = {hook.id, *extra_exclude, *([main.id] if angle != "benefit" and d.main_claim and main.id == d.main_claim.id else [])}
        support = d.support(exclude, count, skip=shift + offset)
        return Material(angle, hook.text, [c.text for c in support], ids=[hook.id, *(c.id for c in support)])

    if angle == "benefit":
        return with_support(main)
    if angle == "stat":
        numbers = [c for c in d.numbers if len(c.text) <= hook_max and c.id != (d.main_claim.id if d.main_claim else "")] or \
                  [c for c in d.numbers if len(c.text) <= hook_max]
        if numbers:
            return with_support(numbers[shift % len(numbers)])
        return with_support(main)
    if angle == "question":
        if _title_question(source) and shift == 0:
            answer = d.support(set(), count)
            return Material(angle, source.title.strip(), [c.text for c in answer], ids=[c.id for c in answer])
        if d.questions:
            q = d.questions[shift % len(d.questions)]
            after = [c for c in d.in_order if c.sentence.position > q.sentence.position and not c.question][:count]
            return Material(angle, q.text, [c.text for c in after], ids=[q.id, *(c.id for c in after)])
        return with_support(main)
    if angle == "how-to":
        steps = d.steps
        if len(steps) > 5:
            start = (shift * 2) % len(steps)
            steps = sorted((steps[start:] + steps[:start])[:5], key=lambda s: s.position)
        hook = title_line(source) if d.howto else main.text
        intro = d.lead if d.lead is not None and d.lead.text != hook else None
        return Material(angle, hook, [intro.text] if intro and fmt != "x" else [], bullets=[_bullet(s.text) for s in steps],
                        ids=[*([intro.id] if intro else []), *(s.id for s in steps)])
    if angle == "takeaways":
        # the title heads the key points, unless it is a question (the question angle opens with it)
        head, head_ids = title_line(source), []
        if _title_question(source):
            alternative = (source.description if source.description and standalone_problem(source.description) is None else None)
            second = d.best({main.id}, max_chars=hook_max)
            head, head_ids = (alternative, []) if alternative else ((second.text, [second.id]) if second else (head, []))
        if len(d.steps) >= 3 and not d.howto:
            points = [s for s in d.steps][:4]
            return Material(angle, head, bullets=[_bullet(s.text) for s in points], ids=[*head_ids, *(s.id for s in points)])
        exclude = set(head_ids)
        points = d.support(exclude, 3 + shift, max_chars=200)[shift:] or d.support(exclude, 3, max_chars=200)
        return Material(angle, head, bullets=[c.text for c in points], ids=[*head_ids, *(c.id for c in points)])
    if angle == "quote":
        pool = d.quotations or [c for c in d.ranked if 6 <= word_count(c.text) <= 28 and not c.question]
        if pool:
            chosen = pool[shift % len(pool)]
            p = phrases(source.language)
            text = chosen.text.strip()
            if re.search(r"[“”\"„「]", text):  # already a quotation, with its speaker
                return Material(angle, text, [c.text for c in d.support({chosen.id}, 1)], ids=[chosen.id])
            return Material(angle, f"{p['quote_open']}{text}{p['quote_close']}", [p["quote_from"].format(title=title_core(source.title))],
                            ids=[chosen.id])
        return with_support(main)
    if angle == "story":
        paragraphs = [c for c in d.in_order if c.sentence.kind == "paragraph"]
        openings = [c for c in paragraphs[:-1] if c.id != main.id]  # the benefit angle already leads with the main claim
        if len(paragraphs) >= 2 and openings:
            opening = openings[shift % len(openings)]
            closing = paragraphs[-1 - (shift % len(paragraphs))]
            if closing.id != opening.id and len(opening.text) <= hook_max:
                return Material(angle, opening.text, [closing.text], ids=[opening.id, closing.id])
        return with_support(main)
    raise ValueError(f"unknown angle {angle!r}; use one of {', '.join(ANGLE_ORDER)}")


def _unnumbered(text: str) -> str:
    """"2. Noodle soup with an egg" → "Noodle soup with an egg": the post's numbering is not copy."""
    return re.sub(r"^(?:step\s+)?\d{1,2}[.):]\s+", "", text.strip(), flags=re.I) or text.strip()


def _bullet(text: str) -> str:
    return _unnumbered(text)


def social_draft(d: Digest, m: Material, fmt: str, *, voice: BrandVoice, shift: int = 0, frame: str | None = None) -> SocialDraft:
    source = d.source
    p = phrases(source.language)
    hook = f"{p[frame]} {m.hook}" if frame else m.hook
    ids = list(m.ids)
    paragraphs = [hook]
    if fmt == "x":
        body = m.body[:1]
        text = "\n".join([hook, *(f"• {b}" for b in m.bullets[:3])]) if m.bullets else join_sentences(source.language, [hook, *body])
    else:
        if m.body:
            paragraphs.append(join_sentences(source.language, m.body))
        if m.bullets:
            paragraphs.append("\n".join(f"• {b}" for b in m.bullets))
        text = "\n\n".join(paragraphs)
    thread: list[str] = []
    if fmt == "x":
        follow = [c for c in d.in_order if c.id not in set(m.ids) and len(c.text) <= 250 and not c.question]
        follow = d.support(set(m.ids), 3 + shift, max_chars=250)[shift:] or follow[:3]
        if len(follow) >= 2:
            thread = [hook if len(hook) <= 250 else m.hook, *(c.text for c in follow), p["read_more"]]
            ids += [c.id for c in follow]
    alt_text = image_brief = ""
    if fmt == "instagram":
        subjects = p["joiner"].join(d.key_phrases[:3]) or title_core(source.title)
        overlay = trim_to_word(title_core(source.title), 40) or trim_to_word(source.title, 40)
        image_brief = p["image_brief"].format(subjects=subjects, overlay=overlay, voice=_voice_mood(voice.description))
        alt_text = source.images[0] if source.images and len(source.images[0]) <= 100 else p["alt_text"].format(subjects=subjects, overlay=overlay)
    return SocialDraft(angle=m.angle, text=text, hashtags=list(d.hashtag_words), thread=thread, alt_text=alt_text,
                       image_brief=image_brief, source_sentence_ids=list(dict.fromkeys(ids)))


def _voice_mood(voice: str) -> str:
    first = re.split(r"(?<=[.!?])\s", voice.strip(), maxsplit=1)[0]
    return first.rstrip(".")


def subject_line(source: SourcePost, d: Digest | None = None) -> str:
    """The title, cut at a word boundary to 60 characters: its part before a colon, else before a phrase ("to ...", "for ...").

    A title holding a word the brand voice avoids gives way to the post's main claim."""
    title = source.title.strip()
    if d is not None and not d.voice.allows(title):
        claim = d.best(max_chars=SUBJECT_MAX) or d.best(prose=False, max_chars=SUBJECT_MAX)
        if claim is not None:
            return claim.text
    if len(title) <= SUBJECT_MAX and standalone_problem(title, min_words=1) is None:
        return title
    core = title_core(title)
    if len(core) <= SUBJECT_MAX and standalone_problem(core, min_words=1) is None:
        return core
    return _before_preposition(core, SUBJECT_MAX, len) or trim_to_word(core, SUBJECT_MAX) or trim_to_word(title, SUBJECT_MAX)


def email_draft(d: Digest, m: Material, *, frame: str | None = None) -> EmailDraft:
    source = d.source
    p = phrases(source.language)
    title_subject = subject_line(source, d)
    own = m.hook.strip("“”„「」")
    hook_subject = own if (m.angle in ("stat", "question") and len(own) <= SUBJECT_MAX and standalone_problem(own) is None) else None
    subject = hook_subject or title_subject
    if frame:
        subject = f"{p[frame]} {subject}"
    used = set(m.ids)
    extra = d.support(used, 2)
    body_sentences = [*m.body, *(c.text for c in extra)]
    preview_candidates = [s for s in ([m.hook] if hook_subject is None else []) + body_sentences
                          if s.strip("“”") != subject and standalone_problem(s) is None]
    fallback = source.description if source.description and d.voice.allows(source.description) else title_line(source)
    preview = preview_candidates[0] if preview_candidates else fallback
    paragraphs = [m.hook, *m.body] if not m.bullets else [m.hook, *m.body[:1]]
    paragraphs.append(join_sentences(source.language, [c.text for c in extra]))
    return EmailDraft(angle=m.angle, subject=subject, preview_text=preview, paragraphs=[x for x in paragraphs if x], bullets=list(m.bullets),
                      cta_label=p["cta"], source_sentence_ids=list(dict.fromkeys([*m.ids, *(c.id for c in extra)])))


def _headline_form(text: str) -> str:
    return text.strip().rstrip(".。").strip()


def headline_pool(d: Digest, m: Material) -> tuple[list[str], list[str]]:
    """(first, rotating) headline candidates: the title first, then headings, key phrases, short claims and calls to action."""
    source = d.source
    p = phrases(source.language)
    first: list[str] = []
    for option in (source.title, title_core(source.title), _before_preposition(title_core(source.title))):
        if option and d.voice.allows(option) and ad_width(option) <= HEADLINE_MAX and standalone_problem(option, min_words=1) is None and not is_generic_heading(option):
            first.append(_headline_form(option))
            break
    if m.angle in ("question", "stat") and ad_width(m.hook) <= HEADLINE_MAX:
        first.append(_headline_form(m.hook))
    rotating: list[str] = []
    headings = [_unnumbered(h.text) for h in d.claim_headings]
    rotating += [h for h in headings if ad_width(h) <= HEADLINE_MAX and not h.endswith("?")]
    rotating += [_headline_form(c.text) for c in d.ranked if ad_width(_headline_form(c.text)) <= HEADLINE_MAX and not c.question]
    anchored = f"{source.title} {source.description} {' '.join(h.text for h in d.claim_headings)}".lower()
    rotating += [k[:1].upper() + k[1:] for k in d.key_phrases if ad_width(k) <= HEADLINE_MAX and k.lower() in anchored][:3]
    if source.description and ad_width(source.description) <= HEADLINE_MAX and d.voice.allows(source.description):
        rotating.append(_headline_form(source.description))
    ctas = [p["learn_more"], p["cta"], p["find_out_more"], *([p["read_guide"]] if d.howto else [])]
    return first, rotating + ctas


_PREPOSITIONS = frozenset("for in on with at from without to of into during before after by via über für mit ohne im in".split())


_NO_CUT_AFTER = frozenset("guide introduction way ways how what where why us you them me it beginner".split())


def _before_preposition(title: str, limit: int = HEADLINE_MAX, measure: Callable[[str], int] = ad_width) -> str:
    """"Five quiet campsites for the off-season" → "Five quiet campsites": a title cut where a phrase starts, never mid-phrase."""
    words = title.split()
    best = ""
    for i in range(2, len(words)):
        if words[i].lower() in _PREPOSITIONS and words[i - 1].lower().strip("'’s") not in _NO_CUT_AFTER:
            candidate = " ".join(words[:i]).rstrip(",;")
            if measure(candidate) <= limit:
                best = candidate
    return best


def pick_headlines(candidates: list[str], limit: int = MAX_HEADLINES) -> list[str]:
    out: list[str] = []
    for h in candidates:
        h = " ".join(h.split())
        if not h or ad_width(h) > HEADLINE_MAX or is_generic_heading(h) or standalone_problem(h, min_words=1) is not None:
            continue
        if any(near_duplicate(h, o) for o in out):
            continue
        out.append(h)
        if len(out) == limit:
            break
    return out


def complete_sentence(text: str) -> bool:
    """Ends like a sentence, stands alone, and is more than a label ("A head torch.")."""
    return bool(re.search(r"[.!?。！？]$", text.strip())) and standalone_problem(text) is None and (word_count(text) >= 4 or bool(_CJK.search(text)))


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def description_pool(d: Digest) -> list[str]:
    pool = [c.text for c in d.ranked if ad_width(c.text) <= DESCRIPTION_MAX and complete_sentence(c.text) and not c.question]
    description = d.source.description
    if description and ad_width(description) <= DESCRIPTION_MAX and complete_sentence(description) and d.voice.allows(description):
        pool.insert(min(1, len(pool)), d.source.description)
    return list(dict.fromkeys(pool))


def ads_draft(d: Digest, m: Material, variant: int, *, frame: str | None = None) -> AdsDraft:
    source = d.source
    p = phrases(source.language)
    first, rotating = headline_pool(d, m)
    start = (variant * 3) % max(len(rotating), 1)
    headlines = pick_headlines([*first, *rotating[start:], *rotating[:start]])
    descriptions_pool = description_pool(d)
    if len(headlines) < MIN_HEADLINES or len(descriptions_pool) < MIN_DESCRIPTIONS:
        raise NotEnoughMaterial(
            f"ads need {MIN_HEADLINES} headlines of at most {HEADLINE_MAX} characters and {MIN_DESCRIPTIONS} complete sentences of at most "
            f"{DESCRIPTION_MAX}; the post has {len(headlines)} and {len(descriptions_pool)}"
        )
    hook_text = m.hook.strip("“”„「」")
    lead = [hook_text] if hook_text in descriptions_pool else []
    start = (variant * 2) % len(descriptions_pool)
    rotated = descriptions_pool[start:] + descriptions_pool[:start]
    descriptions = list(dict.fromkeys([*lead, *rotated]))[:MAX_DESCRIPTIONS]
    primary = hook_text if len(hook_text) <= PRIMARY_MAX and standalone_problem(hook_text) is None else None
    if primary is None:
        best = d.best(max_chars=PRIMARY_MAX) or d.best(prose=False, max_chars=PRIMARY_MAX)
        primary = best.text if best else title_line(source)
    if frame:
        primary = f"{p[frame]} {primary}"
    ids = [*m.ids]
    return AdsDraft(angle=m.angle, headlines=headlines, descriptions=descriptions, primary_text=primary, source_sentence_ids=list(dict.fromkeys(ids)))


def first_clause(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """The longest run of whole clauses (split at , ; — ) from the start that fits `limit`."""
    clauses = re.split(r"(?<=[,;、，])\s*|\s+[–—]\s+", text.strip())
    out = ""
    for clause in clauses:
        candidate = f"{out} {clause}".strip() if out and not re.search(r"[、，]$", out) else f"{out}{clause}"
        if measure(candidate.rstrip(",;、，")) > limit:
            break
        out = candidate
    return out.rstrip(",;、，").strip()


class OfflineEngine:
    name = "offline"

    def __init__(self, voice: BrandVoice | str | None = None) -> None:
        self.voice = voice if isinstance(voice, BrandVoice) else BrandVoice(description=voice) if voice else BrandVoice()
        self._digests: dict[str, Digest] = {}

    def digest(self, source: SourcePost) -> Digest:
        key = source.source_hash + source.title
        if key not in self._digests:
            self._digests[key] = digest(source, self.voice)
        return self._digests[key]

    def plan(self, source: SourcePost, variations: int) -> list[tuple[str, int]]:
        return angle_plan(variations, supported_angles(self.digest(source)) or ["benefit"])

    def drafts(self, source: SourcePost, fmt: str, plan: list[tuple[str, int]], *, frames: dict[int, str] | None = None) -> list[Draft]:
        d = self.digest(source)
        frames = frames or {}
        out: list[Draft] = []
        for index, (angle, shift) in enumerate(plan):
            m = material(d, angle, shift, fmt=fmt, offset=index)
            frame = frames.get(index)
            if fmt == "email":
                out.append(email_draft(d, m, frame=frame))
            elif fmt == "ads":
                out.append(ads_draft(d, m, index, frame=frame))
            else:
                out.append(social_draft(d, m, fmt, voice=self.voice, shift=shift, frame=frame))
        return out
