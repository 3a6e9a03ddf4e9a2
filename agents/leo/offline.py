"""The offline engine: deterministic, extractive drafts (no network, no model).

It ranks the post's sentences by the keywords they carry (title and headings weigh more),
their place (openings of the post and of paragraphs) and their length, then builds each
angle from them:

* question   a question the post asks (or its title framed as one), answered by its best sentence
* benefit    the best sentence with a figure (else a benefit word, else the best sentence)
* how-to     the post's headings or list items as steps
* story      the post's opening and its closing
* takeaways  its three best sentences, in the post's order
* quote      its most quotable sentence, in quotation marks

Everything it writes is either a sentence of the post or one of the frames in
`agents.leo.phrases`, so figures and words come from the post by construction. Flagged
sentences (instructions to a model) are never used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from agents.leo.drafts import ANGLES, AdsDraft, Draft, EmailDraft, SocialDraft
from agents.limits import RULES
from agents.leo.phrases import phrases
from agents.source import Sentence, SourcePost
from agents.textfit import ad_width, fit_block, trim_to_word

# the lengths a draft aims for, from the format rules (`agents.limits`)
SOFT_LENGTH = {fmt: RULES[fmt].soft_length or RULES[fmt].fields["text"].max_length for fmt in ("linkedin", "facebook", "instagram")}
SUBJECT_MAX = RULES["email"].fields["subject"].max_length
HEADLINE_MAX = RULES["ads"].fields["headlines"].max_length
DESCRIPTION_MAX = RULES["ads"].fields["descriptions"].max_length
MAX_HEADLINES = (RULES["ads"].max_items or {})["headlines"]
MAX_DESCRIPTIONS = (RULES["ads"].max_items or {})["descriptions"]

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_DIGIT = re.compile(r"\d")
_BENEFIT = re.compile(
    r"(?i)\b(keep|keeps|save|saves|help|helps|better|faster|easier|less|more|lighter|warmer|drier|cheaper|free|avoid|prevent|"
    r"spart|hilft|besser|schneller|leichter|weniger|mehr|wärmer|trocken|vermeiden)\b|できる|防ぐ|快適|簡単|軽い"
)
_CONTEXT_OPENERS = re.compile(r"(?i)^(this|that|these|those|it|they|here|there|such|dies|das|diese|es|sie|hier|それ|これ|この|その)\b")


@dataclass
class Material:
    angle: str
    hook: str
    body: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def join_sentences(language: str, sentences: list[str]) -> str:
    return ("" if language in ("ja", "zh") else " ").join(s.strip() for s in sentences if s.strip())


def word_count(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return len(text.split()) + cjk // 2


class Ranking:
    """The post's usable sentences, best first."""

    def __init__(self, source: SourcePost) -> None:
        self.source = source
        usable = source.usable
        keywords = [k.lower() for k in source.keywords]
        n = max(len(keywords), 1)
        first_in_paragraph = {}
        for s in usable:
            first_in_paragraph.setdefault(s.paragraph, s.id)
        first_id = usable[0].id if usable else None
        scored = []
        for s in usable:
            lowered = s.text.lower()
            kw = sum((n - i) / n for i, k in enumerate(keywords) if k and k in lowered)
            words = word_count(s.text)
            factor = 1.0 if 6 <= words <= 30 else 0.55 if words < 6 else 0.7 if words <= 50 else 0.4
            if _CONTEXT_OPENERS.match(s.text):
                factor *= 0.75
            if s.kind == "list_item":
                factor *= 0.9
            bonus = (0.6 if s.id == first_id else 0.0) + (0.2 if first_in_paragraph.get(s.paragraph) == s.id else 0.0)
            scored.append(((kw + 0.3 + bonus) * factor, -s.position, s))
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        self.ranked: list[Sentence] = [s for _, _, s in scored]
        self.in_order: list[Sentence] = list(usable)

    def pick(self, candidates: list[Sentence], shift: int, exclude: Collection[str] = ()) -> Sentence | None:
        pool = [s for s in candidates if s.id not in exclude]
        return pool[shift % len(pool)] if pool else None

    def top(self, count: int, shift: int = 0, exclude: Collection[str] = ()) -> list[Sentence]:
        pool = [s for s in self.ranked if s.id not in exclude]
        if not pool:
            return []
        start = (shift * count) % len(pool) if len(pool) > count else 0
        chosen = (pool[start:] + pool[:start])[:count]
        return sorted(chosen, key=lambda s: s.position)


def title_core(title: str) -> str:
    """The title to embed in a frame: its part before a colon when that part can stand alone, no end punctuation."""
    title = title.strip()
    head = re.split(r"[:：]", title, maxsplit=1)[0].strip()
    if head != title and word_count(head) >= 2:
        title = head
    return title.rstrip(".:;!?。：？！").strip()


def material(source: SourcePost, ranking: Ranking, angle: str, shift: int = 0) -> Material:
    p = phrases(source.language)
    core = title_core(source.title)
    ranked = ranking.ranked
    if not ranked:
        return Material(angle, core)
    best = ranking.pick(ranked, shift) or ranked[0]

    if angle == "question":
        questions = [s for s in ranking.in_order if s.text.rstrip().endswith(("?", "？"))]
        if source.title.rstrip().endswith(("?", "？")) and shift == 0:
            answer = ranking.pick(ranked, 0) or best
            return Material(angle, source.title.strip(), [answer.text], ids=[answer.id])
        if questions:
            q = questions[shift % len(questions)]
            answer = ranking.pick(ranked, 0, {q.id})
            return Material(angle, q.text, [answer.text] if answer else [], ids=[q.id, *([answer.id] if answer else [])])
        return Material(angle, p["question"].format(title=core), [best.text], ids=[best.id])

    if angle == "benefit":
        figures = [s for s in ranked if _DIGIT.search(s.text)]
        cues = [s for s in ranked if _BENEFIT.search(s.text)]
        lead = ranking.pick(figures, shift) or ranking.pick(cues, shift) or best
        support = next((s for s in ranked if s.id != lead.id and s.paragraph != lead.paragraph), None) or ranking.pick(ranked, 0, {lead.id})
        return Material(angle, lead.text, [support.text] if support else [], ids=[lead.id, *([support.id] if support else [])])

    if angle == "how-to":
        headings = [s for s in source.sentences if s.kind == "heading" and s.id not in source.flagged]
        items = [s for s in ranking.in_order if s.kind == "list_item"]
        steps = headings if len(headings) >= 2 else items if len(items) >= 2 else ranking.top(3, shift)
        if len(steps) > 4:
            start = (shift * 2) % len(steps)
            steps = sorted((steps[start:] + steps[:start])[:4], key=lambda s: s.position)
        return Material(angle, p["howto"].format(title=core), bullets=[s.text for s in steps], ids=[s.id for s in steps])

    if angle == "story":
        opening = ranking.in_order[shift % len(ranking.in_order)]
        closing = ranking.in_order[-1 - (shift % len(ranking.in_order))]
        body = [closing.text] if closing.id != opening.id else []
        return Material(angle, opening.text, body, ids=[opening.id, *([closing.id] if body else [])])

    if angle == "takeaways":
        points = ranking.top(3, shift)
        return Material(angle, p["takeaways"].format(title=core), bullets=[s.text for s in points], ids=[s.id for s in points])

    if angle == "quote":
        def quotable(s: Sentence) -> bool:
            words = word_count(s.text)
            return 6 <= words <= 28 and not s.text.rstrip().endswith(("?", "？"))

        chosen = ranking.pick([s for s in ranked if quotable(s)], shift + 1) or best
        text = chosen.text.strip()
        return Material(angle, f"{p['quote_open']}{text}{p['quote_close']}", [p["quote_from"].format(title=core)], ids=[chosen.id])

    raise ValueError(f"unknown angle {angle!r}; use one of {', '.join(ANGLES)}")


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "es", "s", "en", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _body_count(source: SourcePost, word: str) -> int:
    lowered = word.lower()
    return sum(s.text.lower().count(lowered) for s in source.sentences if s.id not in source.flagged)


def hashtag_words(source: SourcePost, limit: int = 8) -> list[str]:
    """The post's tags, then keywords the body repeats (German: nouns only); one word per stem (no #layer next to #layers)."""
    out: list[str] = []
    stems: set[str] = set()
    repeated = [k for k in source.keywords[:8] if k not in source.tags and _body_count(source, k) >= 2
                and (source.language != "de" or k[:1].isupper())]
    for word in [*source.tags, *repeated[:5]]:
        stem = _stem(word)
        if stem not in stems:
            out.append(word)
            stems.add(stem)
        if len(out) == limit:
            break
    return out


def _voice_mood(voice: str) -> str:
    first = re.split(r"(?<=[.!?])\s", voice.strip(), maxsplit=1)[0]
    return first.rstrip(".")


def social_draft(source: SourcePost, m: Material, fmt: str, *, voice: str, thread_from: Ranking | None = None, frame: str | None = None) -> SocialDraft:
    p = phrases(source.language)
    hook = f"{p[frame]} {m.hook}" if frame else m.hook
    lines = [hook]
    if m.bullets:
        lines.append("\n".join(f"• {b}" for b in m.bullets))
    if m.body:
        lines.append(join_sentences(source.language, m.body))
    ids = list(m.ids)
    if fmt == "x":
        text = "\n".join([hook, *(f"• {b}" for b in m.bullets)]) if m.bullets else join_sentences(source.language, [hook, *m.body])
    elif fmt == "linkedin":
        extra = [s for s in (thread_from.top(2, exclude=set(ids)) if thread_from else [])]
        ids += [s.id for s in extra]
        paragraphs = [hook]
        support = join_sentences(source.language, [*m.body, *(s.text for s in extra)])
        if support:
            paragraphs.append(support)
        if m.bullets:
            paragraphs.append("\n".join(f"• {b}" for b in m.bullets))
        text = fit_block("\n\n".join(paragraphs), SOFT_LENGTH["linkedin"])
    else:
        text = "\n\n".join(lines)
        text = fit_block(text, SOFT_LENGTH[fmt])
    thread: list[str] = []
    if fmt == "x" and thread_from is not None and len(thread_from.in_order) >= 3:
        follow = thread_from.top(3, exclude=set(m.ids))
        thread = [hook, *(s.text for s in follow), p["read_more"]]
        ids += [s.id for s in follow]
    alt_text = image_brief = ""
    if fmt == "instagram":
        subjects = p["joiner"].join(source.keywords[:3]) or title_core(source.title)
        overlay = trim_to_word(title_core(source.title), 40) or trim_to_word(source.title, 40)
        image_brief = p["image_brief"].format(subjects=subjects, overlay=overlay, voice=_voice_mood(voice))
        alt_text = p["alt_text"].format(subjects=subjects, overlay=overlay)
    return SocialDraft(angle=m.angle, text=text, hashtags=hashtag_words(source), thread=thread, alt_text=alt_text,
                       image_brief=image_brief, source_sentence_ids=list(dict.fromkeys(ids)))


def email_draft(source: SourcePost, m: Material, ranking: Ranking, *, frame: str | None = None) -> EmailDraft:
    p = phrases(source.language)
    core = title_core(source.title)
    subjects = {
        "question": m.hook,
        "benefit": m.hook,
        "how-to": p["howto_subject"].format(title=core),
        "story": core,
        "takeaways": p["takeaways_subject"].format(title=core),
        "quote": m.hook,
    }
    subject = subjects.get(m.angle, core)
    if len(subject) > SUBJECT_MAX:
        subject = first_clause(subject, SUBJECT_MAX) or core
    if frame:
        subject = f"{p[frame]} {subject}"
    support = ranking.top(3, exclude=set(m.ids))
    paragraphs = [m.hook, *m.body, join_sentences(source.language, [s.text for s in support])] if not m.bullets else [m.hook, *(s.text for s in support[:2])]
    preview_source = (m.body[0] if m.body else support[0].text if support else core)
    return EmailDraft(
        angle=m.angle, subject=subject, preview_text=preview_source, paragraphs=[x for x in paragraphs if x], bullets=list(m.bullets),
        cta_label=p["cta"], source_sentence_ids=list(dict.fromkeys([*m.ids, *(s.id for s in support)])),
    )


def ads_draft(source: SourcePost, m: Material, ranking: Ranking, variant: int, *, frame: str | None = None) -> AdsDraft:
    p = phrases(source.language)
    core = title_core(source.title)
    headings = [s.text for s in source.sentences if s.kind == "heading" and s.id not in source.flagged]
    keywords = [k[:1].upper() + k[1:] for k in hashtag_words(source, limit=6)]
    pool = [*headings, *(s.text for s in ranking.ranked if ad_width(s.text) <= HEADLINE_MAX), p["read_guide"], p["learn_more"], p["cta"], *keywords]
    if m.angle == "question" and m.hook.endswith(("?", "？")) and ad_width(m.hook) <= HEADLINE_MAX:
        pool.insert(0, m.hook)
    start = (variant * 3) % max(len(pool), 1)
    ordered = [core, *pool[start:], *pool[:start]]
    # headlines that fit whole first; cut ones only to reach the minimum of three
    candidates = ([h for h in ordered if ad_width(h) <= HEADLINE_MAX]
                  + [trim_to_word(h, HEADLINE_MAX, ad_width) for h in ordered if ad_width(h) > HEADLINE_MAX])
    headlines: list[str] = []
    for short in candidates:
        if short and short.lower() not in {x.lower() for x in headlines}:
            headlines.append(short)
        if len(headlines) == MAX_HEADLINES:
            break
    fitting = [s for s in ranking.ranked if ad_width(s.text) <= DESCRIPTION_MAX]
    rest = [s for s in ranking.ranked if ad_width(s.text) > DESCRIPTION_MAX]
    pool_desc = fitting + rest
    start = (variant * 2) % max(len(pool_desc), 1)
    descriptions = [s.text for s in (pool_desc[start:] + pool_desc[:start])[:MAX_DESCRIPTIONS]]
    if m.body and ad_width(m.body[0]) <= DESCRIPTION_MAX:
        descriptions.insert(0, m.body[0])
    primary = f"{p[frame]} {m.hook}" if frame else m.hook
    return AdsDraft(angle=m.angle, headlines=headlines, descriptions=descriptions[:MAX_DESCRIPTIONS] or [core, core], primary_text=primary,
                    source_sentence_ids=list(dict.fromkeys([*m.ids])))


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


def angle_plan(variations: int) -> list[tuple[str, int]]:
    """(angle, shift) for each variant: the six angles, then again with the next-best sentences."""
    return [(ANGLES[i % len(ANGLES)], i // len(ANGLES)) for i in range(variations)]


class OfflineEngine:
    name = "offline"

    def __init__(self, voice: str) -> None:
        self.voice = voice

    def drafts(self, source: SourcePost, fmt: str, plan: list[tuple[str, int]], *, frames: dict[int, str] | None = None) -> list[Draft]:
        ranking = Ranking(source)
        frames = frames or {}
        out: list[Draft] = []
        for index, (angle, shift) in enumerate(plan):
            m = material(source, ranking, angle, shift)
            frame = frames.get(index)
            if fmt == "email":
                out.append(email_draft(source, m, ranking, frame=frame))
            elif fmt == "ads":
                out.append(ads_draft(source, m, ranking, index, frame=frame))
            else:
                out.append(social_draft(source, m, fmt, voice=self.voice, thread_from=ranking, frame=frame))
        return out

