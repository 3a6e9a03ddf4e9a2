"""Which of the post's own images goes with a social draft, and the alt text it carries.

The rule, in order:

1. The image whose alt text, caption and section heading share the most content words with the
   sentences the draft draws on (and their section headings), when at least one word is shared;
   on a tie, the hero image, then the earlier image.
2. Otherwise the post's hero image (front matter ``image``/``cover``/``hero``..., HTML ``og:image``).
3. Otherwise the post's first image.

A post without a usable image gives no media (Instagram's drafts then say they need one). The
alt text is the image's own; without one, its caption, then its section heading, then the post's
title: never empty. Where the image is: an absolute http(s) address as it is; a relative one
next to the post's file when that file exists (never outside the post's folder), else resolved
against the post's URL. Nothing is fetched here: the image is fetched and stored when the draft
is scheduled (`campaigns.social.campaign_content`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from agents.figures import Figure
from agents.leo.outputs import MediaChoice, Output
from agents.leo.understand import stem
from agents.source import STOPWORDS, SourcePost

SOCIAL_FORMATS = ("x", "linkedin", "facebook", "instagram")
NEEDS_IMAGE = ("instagram",)
MAX_ALT = 300  # characters; every platform takes at least this much alt text


def resolve(src: str, post_url: str | None, folder: str | None) -> str | None:
    """An absolute http(s) URL or file path for the image at `src`, or None when it cannot be located."""
    src = src.strip()
    if src.startswith("//"):
        return f"https:{src}"
    if urlsplit(src).scheme in ("http", "https"):
        return src
    if urlsplit(src).scheme:  # mailto:, ftp:, file: ... are not images a post can carry
        return None
    if folder:
        base = Path(folder).resolve()
        candidate = (base / unquote(src.split("?")[0].split("#")[0]).lstrip("/")).resolve()
        if candidate.is_relative_to(base) and candidate.is_file():
            return str(candidate)
    if post_url:
        return urljoin(post_url, src)
    return None


def _words(text: str) -> set[str]:
    return {stem(w) for w in text.replace("-", " ").split() if len(w.strip(".,;:!?()\"'“”")) > 2
            and w.lower().strip(".,;:!?()\"'“”") not in STOPWORDS}


def alt_text(figure: Figure, source: SourcePost) -> str:
    alt = next((t for t in (figure.alt, figure.caption, figure.section, source.title) if t and t.strip()), "Image from the post")
    alt = " ".join(alt.split())
    return alt if len(alt) <= MAX_ALT else alt[: MAX_ALT - 1].rsplit(" ", 1)[0] + "…"


def choose_image(source: SourcePost, sentence_ids: list[str]) -> MediaChoice | None:
    """The post's image for a draft drawing on `sentence_ids` (the rule above), or None."""
    located = [(f, where) for f in source.figures if (where := resolve(f.src, source.url, source.folder))]
    if not located:
        return None
    by_id = source.by_id
    quoted = [by_id[i] for i in sentence_ids if i in by_id]
    draft_words = _words(" ".join(f"{s.text} {s.section}" for s in quoted))
    scored = [(len(_words(f"{f.alt} {f.caption} {f.section}") & draft_words), f, where) for f, where in located]
    best, figure, where = max(scored, key=lambda t: (t[0], t[1].hero, -t[1].position))
    if best > 0:
        why = f"its alt text, caption or section shares {best} word(s) with the sentences this draft draws on"
    else:
        figure, where = next(((f, w) for f, w in located if f.hero), located[0])
        why = "the post's hero image" if figure.hero else "the post's first image"
    return MediaChoice(src=where, alt=alt_text(figure, source), why=why)


def attach_media(outputs: list[Output], source: SourcePost) -> None:
    """Give each social output its image (a note on Instagram's when the post has none)."""
    for out in outputs:
        if out.format not in SOCIAL_FORMATS:
            continue
        out.media = choose_image(source, [r.id for r in out.source_sentences])
        if out.media is None and out.format in NEEDS_IMAGE:
            out.notes.append("instagram needs an image and the post has none Leo could use: add one to the post, "
                             "or post the caption with an image (`campaigns social schedule --media FILE`)")
