"""Quality checks of repurposed outputs, shared by the engines, the tests and `campaigns repurpose-report`.

Each check answers one question about one output:

limits              every field within its format's limit (X weighted, URLs 23), hashtag and item counts
no_cut_words        no word was cut: every word is a whole word of the post, of a frame, of the brand
                    settings, or of what the engine drafted before the optimizer trimmed it
tracked_link        the link carries utm_source, utm_medium, utm_campaign and utm_content, where the format has a link
no_invented_numbers every figure shown appears in the post (links excluded)
no_injected_text    nothing of a sentence that tried to instruct the model is repeated, and no instruction-like text appears
copy                the copy rules (`agents.leo.copyrules`): no generic heading, no fragment hook, an email subject
                    tied to the title or the main claim, no duplicate headline, no leaked markup, the brand voice
distinct            (per format) variants pairwise different
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from agents.leo.copyrules import copy_problems
from agents.leo.outputs import Output
from agents.leo.phrases import frame_words
from agents.leo.voice import BrandVoice
from agents.limits import rules_for
from agents.source import SourcePost, looks_like_instruction
from agents.textfit import measure_for
from publishers.text import find_urls, hashtags, url_spans

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
CHECK_NAMES = ("limits", "no_cut_words", "tracked_link", "no_invented_numbers", "no_injected_text", "copy", "distinct")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


_FIGURE = re.compile(r"\d+(?:[.,:/]\d+)*")
_WORD = re.compile(r"[^\W\d_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_TAG = re.compile(r"<[^>]+>")


def _without_urls(text: str) -> str:
    for start, end in reversed(url_spans(text)):
        text = text[:start] + " " + text[end:]
    return text


def visible_text(output: Output) -> str:
    """Everything a reader sees, HTML reduced to its text, links removed."""
    parts: list[str] = []
    for name in ("text", "alt_text", "image_brief", "subject", "preview_text", "primary_text"):
        value = getattr(output, name)
        if value:
            parts.append(value)
    parts += output.thread or []
    parts += output.headlines or []
    parts += output.descriptions or []
    if output.html:
        parts.append(html.unescape(_TAG.sub(" ", re.sub(r"(?is)<(title|style)\b.*?</\1>", " ", output.html))))
    return _without_urls("\n".join(parts))


def figures(text: str) -> set[str]:
    return set(_FIGURE.findall(unicodedata.normalize("NFKC", text)))


def _plain_figure(value: str) -> str:
    return re.sub(r"[.,:/]", "", value)


def words(text: str) -> set[str]:
    text = unicodedata.normalize("NFKC", text)
    return {w.lower() for w in _WORD.findall(text) if not _CJK.search(w)}


def source_vocabulary(source: SourcePost, extra: Iterable[str] = ()) -> set[str]:
    vocab = words(source.prose) | frame_words()
    for text in extra:
        vocab |= words(text)
    return vocab


def check_limits(output: Output) -> Check:
    rules = rules_for(output.format)
    problems: list[str] = []
    for name, limit in rules.fields.items():
        value = getattr(output, name, None)
        measure = measure_for(limit.length_rule)
        values = value if isinstance(value, list) else [value] if value is not None else []
        for index, item in enumerate(values):
            length = measure(item)
            if length > limit.max_length:
                where = f"{name}[{index}]" if isinstance(value, list) else name
                problems.append(f"{where} is {length}, over {limit.max_length}")
    for name, least in (rules.min_items or {}).items():
        count = len(getattr(output, name) or [])
        if count < least:
            problems.append(f"{name}: {count}, needs at least {least}")
    for name, most in (rules.max_items or {}).items():
        count = len(getattr(output, name) or [])
        if count > most:
            problems.append(f"{name}: {count}, allows at most {most}")
    if rules.max_hashtags and output.text is not None and len(hashtags(output.text)) > rules.max_hashtags:
        problems.append(f"{len(hashtags(output.text))} hashtags, at most {rules.max_hashtags}")
    if output.format == "x" and output.thread and len(output.thread) > rules.thread_parts:
        problems.append(f"thread has {len(output.thread)} parts, at most {rules.thread_parts}")
    for required in ("text", "subject", "headlines"):
        if required in _required_fields(output.format) and not getattr(output, required):
            problems.append(f"{required} is empty")
    return Check("limits", not problems, "; ".join(problems) or "within limits")


def _required_fields(fmt: str) -> tuple[str, ...]:
    return {"email": ("subject", "text"), "ads": ("headlines",)}.get(fmt, ("text",))


def check_cut_words(output: Output, vocabulary: set[str]) -> Check:
    text = re.sub(r"[#＃]\w+", " ", visible_text(output))
    unknown = sorted(words(text) - vocabulary)
    return Check("no_cut_words", not unknown, f"not whole words of the source: {', '.join(unknown[:8])}" if unknown else "no word cut")


def _has_utm(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return [k for k in UTM_KEYS if not query.get(k)]


def check_tracked_link(output: Output, source: SourcePost) -> Check:
    rules = rules_for(output.format)
    if rules.link == "none":
        return Check("tracked_link", True, "format carries no link (Instagram: link in bio)")
    if not source.url:
        return Check("tracked_link", True, "source has no url; pass --url to add a tracked link")
    problems: list[str] = []
    if rules.link == "final_url":
        for name in ("final_url", "meta_final_url"):
            value = getattr(output, name)
            if not value:
                problems.append(f"{name} missing")
            elif missing := _has_utm(value):
                problems.append(f"{name} lacks {', '.join(missing)}")
    else:
        places = {"text": output.text or ""}
        if output.format == "email":
            places["html"] = output.html or ""
        if output.thread:
            places["thread"] = output.thread[-1]
        for where, text in places.items():
            urls = [u for u in find_urls(html.unescape(text)) if u.split("?")[0].rstrip("/") == source.url.split("?")[0].rstrip("/")]
            if not urls:
                problems.append(f"no link to the post in {where}")
            elif missing := _has_utm(urls[0]):
                problems.append(f"link in {where} lacks {', '.join(missing)}")
    return Check("tracked_link", not problems, "; ".join(problems) or "tracked link present")


def check_numbers(output: Output, source: SourcePost, allowed_extra: Iterable[str] = ()) -> Check:
    known = figures(source.prose)
    for text in allowed_extra:
        known |= figures(text)
    plain_known = {_plain_figure(f) for f in known}
    invented = sorted(f for f in figures(visible_text(output)) if f not in known and _plain_figure(f) not in plain_known)
    return Check("no_invented_numbers", not invented, f"figures not in the source: {', '.join(invented[:8])}" if invented else "every figure is in the source")


def check_injection(output: Output, source: SourcePost) -> Check:
    text = visible_text(output)
    lowered = " ".join(text.lower().split())
    problems: list[str] = []
    for sentence in source.sentences:
        if sentence.id not in source.flagged:
            continue
        tokens = sentence.text.lower().split()
        if _CJK.search(sentence.text):
            if any(sentence.text[i : i + 12] in text for i in range(0, max(len(sentence.text) - 11, 1), 4)):
                problems.append(f"repeats flagged sentence {sentence.id}")
            continue
        for i in range(0, max(len(tokens) - 4, 1)):
            if " ".join(tokens[i : i + 5]) in lowered:
                problems.append(f"repeats flagged sentence {sentence.id}")
                break
    if looks_like_instruction(text):
        problems.append("contains text that reads like an instruction to a model")
    return Check("no_injected_text", not problems, "; ".join(problems) or "nothing injected")


def check_copy(output: Output, source: SourcePost, voice: BrandVoice | None = None) -> Check:
    problems = copy_problems(output, source, voice)
    return Check("copy", not problems, "; ".join(problems[:6]) or "reads as copy")


def check_output(output: Output, source: SourcePost, *, vocabulary: set[str] | None = None, allowed_extra: Sequence[str] = (),
                 voice: BrandVoice | None = None) -> list[Check]:
    vocab = vocabulary if vocabulary is not None else source_vocabulary(source, allowed_extra)
    return [
        check_limits(output),
        check_cut_words(output, vocab),
        check_tracked_link(output, source),
        check_numbers(output, source, allowed_extra),
        check_injection(output, source),
        check_copy(output, source, voice),
    ]


def _similarity(a: str, b: str) -> float:
    ta, tb = set(a.lower().split()), set(b.lower().split())
    if not ta or not tb:
        return 1.0 if a == b else 0.0
    return len(ta & tb) / len(ta | tb)


def check_distinct(outputs: Sequence[Output]) -> Check:
    same: list[str] = []
    worst = 0.0
    for a, b in itertools.combinations(outputs, 2):
        sa, sb = " ".join(a.signature().split()).lower(), " ".join(b.signature().split()).lower()
        if sa == sb:
            same.append(f"v{a.variant}=v{b.variant}")
        worst = max(worst, _similarity(sa, sb))
    if same:
        return Check("distinct", False, f"identical variants: {', '.join(same)}")
    return Check("distinct", True, f"{len(outputs)} variants, highest word overlap {worst:.0%}")
