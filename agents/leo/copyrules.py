"""Copy rules: what makes a line postable, shared by both engines, the checks, the tests and the benchmark.

A line of copy must stand on its own. These rules say why one does not:

* a generic heading ("Conclusion", "FAQ", "tl;dr", "Press contacts", "About Acme") is the post's
  structure, never copy;
* a fragment needs the sentence before it: a leading connector ("But", "To avoid this
  problem", "For example"), a pronoun that points back ("This", "They"), a parenthetical
  start, a dangling colon, a question of fewer than five words ("Why?");
* a date line ("Jun 10th, 2021 Acme, the ..."), an e-mail address or a bare URL is not copy;
* markup (code fences, table rows, JSX/HTML tags, callout markers, Markdown syntax) never leaks.

`copy_problems(output, source)` applies them to a finished output, field by field, per format
(social hook and thread parts, email subject and preview, ad headlines, descriptions and
primary text), plus the merchant's brand voice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from agents.leo.outputs import Output
from agents.leo.phrases import PHRASES
from agents.leo.voice import BrandVoice
from agents.source import STOPWORDS, SourcePost

_GENERIC = {
    "en": """conclusion conclusions introduction intro summary overview faq faqs tl;dr tldr tl dr table of contents contents toc
    further reading read more learn more more reading related related posts related articles resources references sources notes
    press contacts press contact media contacts media contact contact contact us about about us about the author author
    acknowledgements acknowledgments credits appendix background prerequisites requirements next steps wrapping up wrap up
    final thoughts closing thoughts in conclusion in summary key takeaways takeaways bottom line the bottom line recap
    what's next whats next why how what who when where getting started get started updates update changelog disclaimer
    sign up subscribe share this share comments discussion questions q&a example examples for example guides guide news
    blog tips resources tools glossary definitions methodology setup installation usage license""",
    "de": """fazit zusammenfassung einleitung einführung inhalt inhaltsverzeichnis überblick faq weiterführende links quellen
    pressekontakt kontakt über uns autor danksagung anhang nächste schritte""",
}
GENERIC_HEADINGS = frozenset(w for table in _GENERIC.values() for w in table.split() if len(w) > 2 or w in ("q&a", "toc"))
_GENERIC_MULTI = (
    "table of contents", "further reading", "related posts", "related articles", "press contacts", "press contact", "media contacts",
    "about the author", "final thoughts", "closing thoughts", "key takeaways", "next steps", "wrapping up", "frequently asked questions",
    "the bottom line", "bottom line", "in conclusion", "in summary", "getting started", "what's next", "tl;dr", "tl dr", "learn more",
    "read more", "contact us", "about us", "sign up", "q&a", "for example", "what, why, and how", "what, why and how",
)
_SIGNPOSTS = frozenset(
    """anything else|one more thing|the basics|basics|the details|details|the plan|the results|results|the problem|the solution
    |context|what we learned|lessons learned|how it works|why it matters|the numbers|pricing|availability|the setup|the idea
    |the short version|the long version|the story|our story|the backstory|what happened|what changed|what's new|whats new
    |the verdict|verdict|our take|my take|final words|last words|more|other|miscellaneous|bonus|extras|odds and ends""".replace("\n", "").split("|")
)
_LEANS_ON_CONTEXT = re.compile(
    r"(?i)^(?:we|i|you)\s+(?:think|believe|hope|guess|doubt)\s+(?:so|not)\b|^let me explain|^here(?:'s| is) (?:why|how)|^read on\b"
    r"|\b(?:see|shown|described|listed) (?:below|above)\b|\b(?:below|above)[.:]?$|^(?:yes|no|sure|right|exactly|indeed)\b[.,!]"
    r"|\b(?:on|in|from|of) (?:this|that|the following) (?:list|table|chart|checklist)\b|\bthe (?:list|table|chart|steps) (?:below|above)\b"
)
_MID_CONTRAST = re.compile(r"(?i)^[^,.;:]{1,60},\s*(?:though|however|then|too|instead|therefore|anyway|of course|as well),")

# tags that name a blog category rather than the post's subject
GENERIC_TAGS = frozenset(
    """guides guide news blog tips tip updates update announcements announcement featured general articles article posts post
    tutorials tutorial howto how-to uncategorized uncategorised misc miscellaneous resources stories story insights company
    product engineering press releases release notes changelog events webinar webinars opinion opinions""".split()
)

_CONNECTOR = re.compile(
    r"(?i)^(?:but|and|or|so|yet|also|then|thus|hence|therefore|however|moreover|furthermore|additionally|besides|meanwhile|"
    r"otherwise|instead|still|plus|nor|because|since|although|though|while|whereas|unless|until|after that|as a result|"
    r"in addition|on the other hand|that said|even so|for example|for instance|e\.g\.|i\.e\.|in other words|in fact|"
    r"to avoid (?:this|that|these|those|it)|to (?:do|fix|solve|prevent) (?:this|that|it)|using (?:this|that|these|it)|"
    r"with (?:this|that|these|it)|like (?:this|that)|here(?:'s| is| are)?|there(?:'s| is| are)|that's why|this is why|"
    r"which|who|where|when so|as such|again|first of all|second|secondly|third|thirdly|finally|lastly|similarly|likewise|"
    r"aber|und|oder|also|dann|denn|deshalb|daher|trotzdem|außerdem|zum beispiel|doch)\b"
)
_POINTING = re.compile(
    r"(?i)^(?:this|that|these|those|it|its|it's|they|them|their|theirs|he|she|his|her|such|the former|the latter|"
    r"the same|both|neither|either|the other|the others|the rest|one of them|some of them|dies|das|diese|dieser|es|sie|"
    r"er|ihr|ihre|それ|これ|この|その)\b"
)
_DATE_LINE = re.compile(
    r"(?i)^(?:(?:mon|tue|wed|thu|fri|sat|sun)\w*,?\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?,?\s+\d{4}|^\d{4}-\d{2}-\d{2}\b|^\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}"
    r"|^(?:published|posted|updated|last updated|written)\b"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"(?i)\bhttps?://|\bwww\.\S+")
_MARKUP = re.compile(
    r"```|~~~|^\s*\|.*\|\s*$|\|\s*-{3,}|<\/?[A-Za-z][\w.]*(?:\s[^<>]*)?\/?>|\{[^{}]*\}|^:::|\[!(?:note|tip|warning|important|caution)\]"
    r"|\*\*|__\w|!\[|\]\(|^\s*#{1,6}\s|^\s*>\s|\[\^\d+\]|&[a-z]+;|\bimport\s+\w+\s+from\b",
    re.IGNORECASE | re.MULTILINE,
)
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"^[\W\d_]+|[\W_]+$", "", text)  # numbering, emoji, end punctuation
    return " ".join(text.replace("’", "'").split())


def is_generic_heading(text: str, company: str | None = None) -> bool:
    """A heading that is structure or navigation, not a claim ("Conclusion", "About Acme", "FAQs", "Why?")."""
    norm = _norm(re.sub(r"^(?:step\s+)?\d+[.):]?\s+", "", text.strip(), flags=re.I))
    if not norm:
        return True
    single = " " not in norm and (norm in GENERIC_HEADINGS or norm.rstrip("s") in GENERIC_HEADINGS)
    if single or norm in _GENERIC_MULTI or norm.replace(";", "") in ("tldr", "tl dr"):
        return True
    if re.match(r"^(?:about|über)\s+\S+(?:\s+\S+)?$", norm):  # "About Acme", "About the author"
        return True
    if re.match(r"^(?:faqs?|frequently asked questions|press|media|contact|contacts)\b", norm):
        return True
    if re.match(r"^(?:what|why|how|who|when|where)(?:,? (?:why|how|what))*(?:,? and (?:why|how|what))?$", norm):
        return True
    if re.match(r"^(?:part|chapter|section|step|update|appendix)\s+\w+$", norm):
        return True
    if norm in _SIGNPOSTS:
        return True
    if re.match(r"^(?:on|after|before|during|in|at|with|without|into|beyond|inside|behind|under)\s+(?:the\s+|a\s+|your\s+|our\s+)?\w+(?:\s+\w+)?$", norm):
        return True  # "On the trek", "After the last descent": where we are in the post, not what it says
    if re.match(r"^what (?:this|it|that) means\b|^why (?:this|it|that) matters\b|^how (?:it|this) works$", norm):
        return True
    if re.match(r"^(?:what|how|why|when|where|which)\s+(?:to|you|we)\s+\w+(?:\s+(?:for|about|with|up|out|next|first|now))?$", norm):
        return True  # "What to look for", "How to start": a signpost, not a claim
    return False


_BOILERPLATE_SECTION = re.compile(
    r"(?i)^(?:about\b|press|media|contacts?\b|contact us|further reading|related|table of contents|contents$|disclaimer|references|"
    r"sources|credits|acknowledg|share\b|subscribe|comments|author\b|written by|newsletter|sign up)"
)


def is_boilerplate_section(heading: str) -> bool:
    """A section whose text is about the company, the author or the page, not the post's subject ("About Acme", "Press contacts")."""
    return bool(_BOILERPLATE_SECTION.match(_norm(heading)))


def standalone_problem(text: str, *, min_words: int = 3) -> str | None:
    """Why `text` cannot open a post or stand as a line of its own; None when it can."""
    stripped = text.strip().strip("“”\"'„「」")
    if not stripped:
        return "empty"
    if _CJK.search(stripped):
        return None if not _POINTING.match(stripped) else "starts with a word pointing back to an earlier sentence"
    if stripped[0] in "([{–—-…,;:":
        return "starts with a parenthesis or punctuation"
    if stripped[0].islower() and not re.match(r"^[a-z]+[A-Z]|^i[A-Z]|^e[A-Z]", stripped):
        return "starts in the middle of a sentence"
    if _CONNECTOR.match(stripped):
        return f"starts with a connector ({stripped.split()[0]}) that needs the previous sentence"
    if _POINTING.match(stripped) and not re.match(r"(?i)^(?:this|these|that) (?:year|week|month|season|spring|summer|autumn|fall|winter|guide|post|article)\b", stripped):
        return f"starts with {stripped.split()[0]!r}, which points back to an earlier sentence"
    if _LEANS_ON_CONTEXT.search(stripped):
        return "refers to what comes before or after it"
    if _MID_CONTRAST.match(stripped):
        return "leans on the previous sentence (a contrast such as “, though,”)"
    if re.search(r"[:–—-]\s*$", stripped):
        return "ends on a dangling colon"
    if stripped.endswith("?") and len(_WORD.findall(stripped)) < 5:
        return "a question of fewer than five words"
    if _DATE_LINE.match(stripped):
        return "a date line"
    if _EMAIL.search(stripped):
        return "holds an e-mail address"
    if _URL.search(stripped):
        return "holds a bare URL"
    if leaked_markup(stripped):
        return "holds markup"
    if stripped.count("(") != stripped.count(")") or stripped.count("“") != stripped.count("”"):
        return "an unbalanced parenthesis or quotation"
    if len(_WORD.findall(stripped)) < min_words and not stripped.endswith((".", "!")):
        return "fewer than three words"
    return None


def leaked_markup(text: str) -> str | None:
    found = _MARKUP.search(text)
    return found.group(0).strip()[:20] if found else None


def content_words(text: str) -> set[str]:
    return {re.sub(r"['’]s$", "", w.lower()).strip("'’") for w in _WORD.findall(unicodedata.normalize("NFKC", text))
            if len(w) > 2 and w.lower() not in STOPWORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def near_duplicate(a: str, b: str) -> bool:
    """Two lines that say the same (case, punctuation, plurals and one line inside the other ignored)."""
    na, nb = _norm(a), _norm(b)
    if na == nb:
        return True
    ta, tb = {_stem(w) for w in content_words(a)}, {_stem(w) for w in content_words(b)}
    if not ta or not tb:
        return False
    if ta <= tb or tb <= ta:
        return True
    return len(ta & tb) / len(ta | tb) >= 0.7


def avoided_words(text: str, voice: BrandVoice) -> list[str]:
    lowered = unicodedata.normalize("NFKC", text).lower()
    return [w for w in voice.words_to_avoid if re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", lowered)]


def has_emoji(text: str) -> bool:
    return bool(_EMOJI.search(text))


def strip_emoji(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", _EMOJI.sub("", text)).strip()


def hook_of(text: str) -> str:
    """The first line of a post (what shows before "see more")."""
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def _first_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"(])", text.strip(), maxsplit=1)
    return parts[0] if parts else ""


def tied_to_post(subject: str, source: SourcePost) -> bool:
    """The subject is the title (or part of it) or a claim the post makes."""
    for table in PHRASES.values():  # a frame that tells variants apart ("In short: ...") is not part of the subject
        for frame in ("in_short", "worth_reading", "new_post"):
            if subject.startswith(table[frame] + " "):
                subject = subject[len(table[frame]) + 1 :]
    if _norm(subject) and _norm(subject) in {_norm(source.title), _norm(source.title.split(":")[0])}:
        return True
    words = content_words(subject)
    title = content_words(source.title) | content_words(source.description)
    if words and len(words & title) / len(words) >= 0.5:
        return True
    core = _norm(subject).rstrip(".")
    return len(core) >= 12 and any(_norm(s.text).startswith(core[: max(len(core) - 2, 12)]) for s in source.usable)


def copy_problems(output: Output, source: SourcePost, voice: BrandVoice | None = None) -> list[str]:
    """Every way `output` breaks the copy rules, as "field: reason" lines (empty when it passes)."""
    problems: list[str] = []

    titles = {_norm(source.title), _norm(re.split(r"[:：]", source.title, maxsplit=1)[0])}

    def line(field: str, text: str | None, *, min_words: int = 3) -> None:
        if not text:
            return
        if is_generic_heading(text):
            problems.append(f"{field}: {text!r} is a generic heading, not copy")
            return
        # the post's own title is its headline, however short
        reason = standalone_problem(text, min_words=1 if _norm(text) in titles else min_words)
        if reason:
            problems.append(f"{field}: {text[:60]!r} {reason}")

    fmt = output.format
    if fmt in ("x", "linkedin", "facebook", "instagram"):
        line("hook", _first_sentence(hook_of(output.text or "")))
        for index, part in enumerate(output.thread or []):
            if _URL_SPAN.sub("", part).strip() in _LINK_LINES:
                continue  # the closing "Read the full post: <link>"
            line(f"thread[{index}]", _first_sentence(hook_of(part)))
        for tag in output.hashtags or []:
            if tag.lower() in GENERIC_TAGS:
                problems.append(f"hashtags: #{tag} is a blog category, not the post's subject")
    elif fmt == "email":
        line("subject", output.subject, min_words=1)
        if output.subject and not tied_to_post(output.subject, source):
            problems.append(f"subject: {output.subject!r} is neither the title nor a claim of the post")
        line("preview_text", _first_sentence(output.preview_text or ""))
        if output.preview_text and output.subject and _norm(output.preview_text) == _norm(output.subject):
            problems.append("preview_text repeats the subject")
    elif fmt == "ads":
        seen: list[str] = []
        for index, headline in enumerate(output.headlines or []):
            line(f"headlines[{index}]", headline, min_words=1)
            if any(near_duplicate(headline, other) for other in seen):
                problems.append(f"headlines[{index}]: {headline!r} repeats another headline")
            seen.append(headline)
        for index, description in enumerate(output.descriptions or []):
            line(f"descriptions[{index}]", description)
            if not re.search(r"[.!?。！？]$", description.strip()):
                problems.append(f"descriptions[{index}]: {description[:40]!r} is not a complete sentence")
        line("primary_text", _first_sentence(output.primary_text or ""))
    problems += [f"markup: {found!r} leaked into {name}" for name, found in _markup_in(output)]
    if voice is not None:
        problems += voice_problems(output, voice)
    return problems


def _visible_fields(output: Output) -> Iterable[tuple[str, str]]:
    for name in ("text", "subject", "preview_text", "primary_text", "alt_text"):
        value = getattr(output, name)
        if value:
            yield name, value
    for name in ("thread", "headlines", "descriptions"):
        for index, value in enumerate(getattr(output, name) or []):
            yield f"{name}[{index}]", value


def _markup_in(output: Output) -> Iterable[tuple[str, str]]:
    for name, value in _visible_fields(output):
        found = leaked_markup(_URL_SPAN.sub(" ", value))
        if found:
            yield name, found


_URL_SPAN = re.compile(r"https?://\S+")
_LINK_LINES = frozenset(table["read_more"] for table in PHRASES.values())


def voice_problems(output: Output, voice: BrandVoice) -> list[str]:
    problems: list[str] = []
    for name, value in _visible_fields(output):
        avoided = avoided_words(_URL_SPAN.sub(" ", value), voice)
        if avoided:
            problems.append(f"{name}: uses {', '.join(avoided)}, which the brand voice avoids")
        if not voice.emoji and has_emoji(value):
            problems.append(f"{name}: holds an emoji; the brand voice has emoji off")
    if voice.hashtag_count is not None and output.hashtags is not None and len(output.hashtags) > voice.hashtag_count:
        problems.append(f"hashtags: {len(output.hashtags)}, the brand voice allows {voice.hashtag_count}")
    return problems
