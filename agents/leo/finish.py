"""The format optimizer: a draft becomes an `Output` that obeys every limit of its format.

Deterministic repairs, the same for both engines:

* the tracked link (``utm_source``, ``utm_medium``, ``utm_campaign``, ``utm_content``) is
  added where the format has one, and any link a model wrote is removed;
* hashtags become valid tags (letters required, multi-word tags in CamelCase), brand tags
  are kept, the rest is capped at the format's maximum;
* text is cut to the limit at a sentence end, else at a space ("…"), never inside a word or
  a URL; X is measured by its weighted count (URLs 23);
* ads: headlines <= 30 and descriptions <= 90 characters, counts within 3-15 and 2-4;
* email: HTML is rendered here from plain paragraphs, everything escaped;
* copy rules (`agents.leo.copyrules`): an ad headline that is a generic heading, a fragment or a
  near-duplicate is dropped and replaced from the post's own title, headings, key phrases and
  calls to action; a description that is not a complete, standalone sentence is dropped;
* brand voice (`agents.leo.voice`): emoji removed when off, hashtags capped at its count, its
  sign-off added to social posts and emails.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from agents.leo.copyrules import strip_emoji
from agents.leo.drafts import AdsDraft, Draft, EmailDraft, SocialDraft
from agents.leo.offline import (
    MIN_DESCRIPTIONS,
    MIN_HEADLINES,
    Material,
    NotEnoughMaterial,
    complete_sentence,
    description_pool,
    first_clause,
    headline_pool,
    pick_headlines,
)
from agents.leo.understand import digest
from agents.leo.voice import BrandVoice
from agents.leo.outputs import Output, SourceRef
from agents.leo.phrases import phrases
from agents.limits import UTM_SOURCE_MEDIUM, rules_for
from agents.source import SourcePost, split_sentences
from agents.textfit import ad_width, fit_block, fit_sentences, measure_for, trim_to_word, truncate
from publishers.text import hashtags as find_hashtags
from publishers.text import plain_length, url_spans
from publishers.utm import tag_url


@dataclass(frozen=True)
class LinkContext:
    url: str | None
    campaign: str

    def tracked(self, channel: str, content: str) -> str | None:
        if not self.url:
            return None
        source, medium = UTM_SOURCE_MEDIUM[channel]
        return tag_url(self.url, {"utm_source": source, "utm_medium": medium, "utm_campaign": self.campaign, "utm_content": content})


def campaign_slug(title: str, source_hash: str, campaign_id: str | None = None) -> str:
    if campaign_id:
        return campaign_id
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:40].strip("-")
    return f"blog-{slug}" if len(slug) >= 3 else f"blog-{source_hash[:8]}"


# --------------------------------------------------------------------------- text hygiene


def strip_links(text: str) -> str:
    for start, end in reversed(url_spans(text)):
        text = text[:start] + text[end:]
    return re.sub(r"[ \t]{2,}", " ", text)


def clean_model_text(text: str) -> str:
    """What a model may add that a platform shows literally: links, Markdown emphasis, stray spaces."""
    text = strip_links(text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"^#{1,6}\s+", "", text, flags=re.M)
    lines = [ln.rstrip() for ln in text.replace("\r", "").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_trailing_hashtags(text: str) -> tuple[str, list[str]]:
    """Hashtag-only lines at the end move to the hashtag list."""
    lines = text.rstrip().split("\n")
    moved: list[str] = []
    while lines and lines[-1].strip() and all(w.startswith(("#", "＃")) for w in lines[-1].split()):
        moved = [w.lstrip("#＃") for w in lines.pop().split()] + moved
    return "\n".join(lines).rstrip(), moved


def hashtag(word: str) -> str | None:
    word = word.strip().lstrip("#＃")
    parts = [p for p in re.split(r"[\s\-_/.,:;·]+", word) if p]
    if len(parts) > 1:
        word = "".join(p[:1].upper() + p[1:] for p in parts)
    word = re.sub(r"[^\w]", "", word)
    if not word or not re.search(r"[^\W\d_]", word) or len(word) > 60:
        return None
    return word


def pick_hashtags(candidates: list[str], brand: list[str], limit: int) -> list[str]:
    if limit <= 0:
        return []
    brand_tags = [t for t in (hashtag(b) for b in brand) if t][:limit]
    chosen: list[str] = []
    seen = {b.lower() for b in brand_tags}
    for word in candidates:
        tag = hashtag(word)
        if tag and tag.lower() not in seen and len(chosen) < limit - len(brand_tags):
            chosen.append(tag)
            seen.add(tag.lower())
    return chosen + brand_tags


def _tag_line(tags: list[str]) -> str:
    return " ".join(f"#{t}" for t in tags)


# --------------------------------------------------------------------------- traceability

_TOKEN = re.compile(r"[^\W_]+")


_TRACE_CACHE: dict[str, list[tuple[str, str, set[str]]]] = {}


def _sentence_tokens(source: SourcePost) -> list[tuple[str, str, set[str]]]:
    """(id, lowered body, tokens) of each quotable sentence, computed once per post."""
    key = f"{source.source_hash}:{len(source.sentences)}:{source.title}"
    if key not in _TRACE_CACHE:
        if len(_TRACE_CACHE) > 32:
            _TRACE_CACHE.clear()
        rows = []
        for sentence in source.sentences:
            if sentence.id in source.flagged:
                continue
            body = sentence.text.lower().rstrip(".!?。！？")
            rows.append((sentence.id, body, set(_TOKEN.findall(body))))
        _TRACE_CACHE[key] = rows
    return _TRACE_CACHE[key]


def trace(source: SourcePost, claimed: list[str], text: str) -> list[SourceRef]:
    """Claimed sentence ids that exist, plus any sentence the text visibly quotes or closely follows."""
    by_id = source.by_id
    ids = [i for i in claimed if i in by_id and i not in source.flagged]
    lowered = text.lower()
    out_tokens = set(_TOKEN.findall(lowered))
    seen = set(ids)
    for sid, body, tokens in _sentence_tokens(source):
        if sid in seen or not tokens & out_tokens:
            continue
        if len(body) >= 12 and body in lowered:
            ids.append(sid)
            seen.add(sid)
        elif len(tokens) >= 5 and len(tokens & out_tokens) / len(tokens) >= 0.8:
            ids.append(sid)
            seen.add(sid)
    ids.sort(key=lambda i: by_id[i].position)
    return [SourceRef(id=i, text=by_id[i].text) for i in ids]


# --------------------------------------------------------------------------- formats


def _voiced(text: str, voice: BrandVoice) -> str:
    return text if voice.emoji else strip_emoji(text)


def apply_voice(draft: Draft, voice: BrandVoice) -> Draft:
    """Emoji off removes them from every text field, a model's included."""
    if voice.emoji:
        return draft
    data = draft.model_dump()
    for key, value in data.items():
        if isinstance(value, str) and key != "angle":
            data[key] = strip_emoji(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[key] = [strip_emoji(v) for v in value if strip_emoji(v)]
    return type(draft).model_validate(data)


def finish(draft: Draft, *, fmt: str, variant: int, engine: str, source: SourcePost, link: LinkContext,
           brand_hashtags: list[str], notes: list[str] | None = None, voice: BrandVoice | None = None) -> Output:
    voice = voice or BrandVoice()
    draft = apply_voice(draft, voice)
    content = f"{fmt}-v{variant}-{draft.angle}"[:60]
    if fmt == "email":
        assert isinstance(draft, EmailDraft)
        return _finish_email(draft, variant=variant, engine=engine, source=source, url=link.tracked("email", content), notes=notes, voice=voice)
    if fmt == "ads":
        assert isinstance(draft, AdsDraft)
        return _finish_ads(draft, variant=variant, engine=engine, source=source, google=link.tracked("google_ads", content),
                           meta=link.tracked("meta_ads", content), notes=notes)
    assert isinstance(draft, SocialDraft)
    return _finish_social(draft, fmt=fmt, variant=variant, engine=engine, source=source, url=link.tracked(fmt, content),
                          brand_hashtags=brand_hashtags, notes=notes, voice=voice)


def _finish_social(draft: SocialDraft, *, fmt: str, variant: int, engine: str, source: SourcePost, url: str | None,
                   brand_hashtags: list[str], notes: list[str] | None, voice: BrandVoice) -> Output:
    rules = rules_for(fmt)
    p = phrases(source.language)
    limit = rules.fields["text"]
    measure = measure_for(limit.length_rule)
    body, moved = split_trailing_hashtags(clean_model_text(draft.text))
    inline = find_hashtags(body)
    tags = pick_hashtags([*draft.hashtags, *moved], brand_hashtags, max(voice.hashtag_limit(rules.max_hashtags) - len(inline), 0))
    sign_off = _voiced(voice.sign_off, voice)

    if fmt == "instagram":
        link_line = p["link_in_bio"] if source.url else ""
    elif url:
        link_line = url if fmt == "x" else f"{p['read_more']} {url}"
    else:
        link_line = ""

    def tail(tag_list: list[str]) -> str:
        if fmt == "x":
            return " ".join(x for x in (sign_off, link_line, _tag_line(tag_list)) if x)
        return "\n\n".join(x for x in (sign_off, link_line, _tag_line(tag_list)) if x)

    # hashtags give way before the words do
    while tags and limit.max_length - measure("\n\n" + tail(tags)) < min(measure(body), 120):
        tags = tags[:-1]
    room = limit.max_length - (measure("\n\n" + tail(tags)) if tail(tags) else 0)
    fitted = fit_block(body, room, measure) or truncate(body, room, measure)
    text = "\n\n".join(x for x in (fitted, tail(tags)) if x)

    thread = None
    if fmt == "x" and draft.thread:
        parts = [clean_model_text(t) for t in draft.thread if t.strip()][: rules.thread_parts]
        thread = []
        for index, part in enumerate(parts):
            is_last = index == len(parts) - 1
            suffix = f"\n{url}" if is_last and url else ""
            room = limit.max_length - measure(suffix)
            piece = fit_block(part, room, measure) or truncate(part, room, measure)
            if piece:
                thread.append(piece + suffix)
        if len(thread) < 2:
            thread = None

    alt_text = image_brief = None
    if fmt == "instagram":
        alt_text = truncate(clean_model_text(draft.alt_text) or source.title, rules.fields["alt_text"].max_length)
        image_brief = truncate(clean_model_text(draft.image_brief) or source.title, rules.fields["image_brief"].max_length)

    traced_text = "\n".join([text, *(thread or [])])
    return Output(
        format=fmt, variant=variant, angle=draft.angle, engine=engine, link=url if fmt != "instagram" else None,
        source_sentences=trace(source, draft.source_sentence_ids, traced_text), text=text, thread=thread,
        hashtags=[*find_hashtags(fitted), *tags], alt_text=alt_text, image_brief=image_brief, notes=list(notes or []),
    )


def _fit_clause(text: str, limit: int, measure=None) -> str:
    """Whole sentences, else whole clauses, else a cut at a word; no ellipsis (ad copy)."""

    measure = measure or plain_length
    text = clean_model_text(text).replace("\n", " ")
    whole = fit_sentences(split_sentences(text), limit, measure)
    if whole and not whole.endswith("…"):
        return whole
    return first_clause(text, limit, measure) or trim_to_word(text, limit, measure)


def _finish_ads(draft: AdsDraft, *, variant: int, engine: str, source: SourcePost, google: str | None, meta: str | None,
                notes: list[str] | None) -> Output:
    rules = rules_for("ads")
    head_max, desc_max = rules.fields["headlines"].max_length, rules.fields["descriptions"].max_length
    headlines: list[str] = []

    def add_headline(h: str) -> None:
        short = trim_to_word(clean_model_text(h), head_max, ad_width)
        if short and short.lower() not in {x.lower() for x in headlines} and len(headlines) < rules.max_items["headlines"]:  # type: ignore[index]
            headlines.append(short)

    for h in draft.headlines:
        add_headline(h)
    # generic headings, fragments and near-duplicates go; the post's own lines fill the gap
    headlines = pick_headlines(headlines)
    if len(headlines) < MIN_HEADLINES:
        first, rotating = headline_pool(digest(source), Material(draft.angle, draft.primary_text))
        headlines = pick_headlines([*headlines, *first, *rotating])
    if len(headlines) < MIN_HEADLINES:
        raise NotEnoughMaterial(f"ads need {MIN_HEADLINES} headlines that stand alone; the post gives {len(headlines)}")

    max_desc = rules.max_items["descriptions"]  # type: ignore[index]
    descriptions: list[str] = []
    for d in draft.descriptions:
        short = _fit_clause(d, desc_max, ad_width)
        if short and complete_sentence(short) and short not in descriptions and len(descriptions) < max_desc:
            descriptions.append(short)
    if len(descriptions) < MIN_DESCRIPTIONS:
        for sentence in description_pool(digest(source)):
            if len(descriptions) >= MIN_DESCRIPTIONS:
                break
            if sentence not in descriptions:
                descriptions.append(sentence)
    if len(descriptions) < MIN_DESCRIPTIONS:
        raise NotEnoughMaterial(f"ads need {MIN_DESCRIPTIONS} complete sentences of at most {desc_max} characters; the post gives {len(descriptions)}")

    primary = _fit_clause(draft.primary_text, rules.fields["primary_text"].max_length) or trim_to_word(source.title, 125)
    text = "\n".join([*headlines, *descriptions, primary])
    return Output(
        format="ads", variant=variant, angle=draft.angle, engine=engine, link=google, source_sentences=trace(source, draft.source_sentence_ids, text),
        headlines=headlines, descriptions=descriptions, primary_text=primary, final_url=google, meta_final_url=meta, notes=list(notes or []),
    )


def _finish_email(draft: EmailDraft, *, variant: int, engine: str, source: SourcePost, url: str | None, notes: list[str] | None,
                  voice: BrandVoice) -> Output:
    rules = rules_for("email")
    subject = trim_to_word(clean_model_text(draft.subject).replace("\n", " "), rules.fields["subject"].max_length)
    if not subject:
        subject = trim_to_word(source.title, rules.fields["subject"].max_length) or truncate(source.title, rules.fields["subject"].max_length)
    preview = truncate(clean_model_text(draft.preview_text).replace("\n", " "), rules.fields["preview_text"].max_length)
    paragraphs = [clean_model_text(x) for x in draft.paragraphs if clean_model_text(x)]
    if voice.sign_off:
        paragraphs.append(_voiced(voice.sign_off, voice))
    bullets = [clean_model_text(x) for x in draft.bullets if clean_model_text(x)]
    cta = trim_to_word(clean_model_text(draft.cta_label), 40) or phrases(source.language)["cta"]
    html_body, text_body = render_email(subject=subject, preview=preview, paragraphs=paragraphs, bullets=bullets, cta=cta, url=url,
                                        language=source.language, title=source.title)
    if len(text_body) > rules.fields["text"].max_length:
        text_body = fit_block(text_body, rules.fields["text"].max_length)
    return Output(
        format="email", variant=variant, angle=draft.angle, engine=engine, link=url,
        source_sentences=trace(source, draft.source_sentence_ids, "\n".join([subject, preview, text_body])),
        subject=subject, preview_text=preview, html=html_body, text=text_body, notes=list(notes or []),
    )


def render_email(*, subject: str, preview: str, paragraphs: list[str], bullets: list[str], cta: str, url: str | None, language: str,
                 title: str) -> tuple[str, str]:
    e = html.escape
    parts = [
        "<!doctype html>",
        f'<html lang="{e(language)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(subject)}</title></head>",
        '<body style="margin:0;background:#f5f4f0;font-family:Georgia,serif;color:#222;">',
        f'<div style="display:none;overflow:hidden;max-height:0;">{e(preview)}</div>',
        '<div style="max-width:36em;margin:0 auto;padding:1.5em;background:#fff;">',
        f'<h1 style="font-size:1.4em;">{e(title)}</h1>',
        *(f"<p>{e(p)}</p>" for p in paragraphs),
    ]
    if bullets:
        parts.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in bullets) + "</ul>")
    if url:
        parts.append(
            f'<p><a href="{e(url, quote=True)}" style="display:inline-block;padding:0.7em 1.2em;background:#2f5d50;color:#fff;'
            f'text-decoration:none;border-radius:0.3em;">{e(cta)}</a></p>'
        )
    parts += ["</div>", "</body></html>"]
    text_lines = [*paragraphs]
    if bullets:
        text_lines.append("\n".join(f"- {b}" for b in bullets))
    if url:
        text_lines.append(f"{cta}: {url}")
    return "\n".join(parts), "\n\n".join(text_lines)
