"""A post's own images, as written: where each points, its alt text and caption, the section it sits in, and the hero.

Part of reading a post (`agents.source`): the text is scanned apart from the sentences, so the
images never change what Leo quotes. The hero is the image the post names for itself (front
matter ``image``/``cover``/``hero``..., or the HTML ``og:image``). Code blocks are skipped, and so
are inline ``data:`` images and icons (an HTML image declared under 100 pixels wide or high).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

HERO_KEYS = ("image", "cover", "cover_image", "hero", "hero_image", "featured_image", "feature_image", "banner", "og_image", "thumbnail")
HERO_ALT_KEYS = ("image_alt", "cover_alt", "hero_alt", "featured_image_alt", "alt")
MAX_FIGURES = 50
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(](.*?)[\"')])?\s*\)")
_HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SMALL = 100  # pixels: logos, avatars and icons are not post images


@dataclass(frozen=True)
class Figure:
    src: str  # as written in the post (relative or absolute)
    alt: str = ""
    caption: str = ""
    section: str = ""  # the heading above it ("" before the first heading)
    hero: bool = False
    position: int = 0  # order in the post


def _usable(src: str) -> bool:
    src = src.strip()
    return bool(src) and not src.lower().startswith(("data:", "javascript:", "#")) and not src.lower().split("?")[0].endswith(".svg")


def _small(attrs: dict[str, str]) -> bool:
    sizes = [attrs.get("width", ""), attrs.get("height", "")]
    return any(s.isdigit() and int(s) < _SMALL for s in sizes)


def markdown_figures(meta: dict[str, object], body: str) -> list[Figure]:
    figures: list[Figure] = []
    hero = next((str(meta[k]) for k in HERO_KEYS if isinstance(meta.get(k), str) and _usable(str(meta[k]))), None)
    if hero:
        alt = next((str(meta[k]) for k in HERO_ALT_KEYS if isinstance(meta.get(k), str) and str(meta[k]).strip()), "")
        figures.append(Figure(hero.strip(), alt.strip(), "", "", True, 0))
    section, fence = "", None
    for line in body.split("\n"):
        stripped = line.strip()
        if fence is not None:
            fence = None if stripped.startswith(fence) else fence
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if heading := _HEADING.match(stripped):
            section = re.sub(r"[*_`]|!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(2)).strip()
            continue
        for alt, src, title in _MD_IMAGE.findall(line):
            if _usable(src):
                figures.append(Figure(src, alt.strip(), (title or "").strip(), section, False, len(figures)))
        for tag in _HTML_IMG.findall(line):
            attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(tag)}
            src = attrs.get("src") or attrs.get("data-src") or ""
            if _usable(src) and not _small(attrs):
                figures.append(Figure(src, attrs.get("alt", "").strip(), attrs.get("title", "").strip(), section, False, len(figures)))
    return _unique(figures)


class _HTMLFigures(HTMLParser):
    SKIP = {"nav", "footer", "form", "script", "style", "noscript", "template", "aside"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[Figure] = []
        self.hero: tuple[str, str] | None = None
        self._section = ""
        self._heading: list[str] | None = None
        self._skip = 0
        self._figure: int | None = None  # index of the image inside the open <figure>
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "meta" and (values.get("property") or values.get("name") or "").lower() in ("og:image", "twitter:image"):
            if self.hero is None and _usable(values.get("content", "")):
                self.hero = (values["content"].strip(), "")
        elif tag == "meta" and (values.get("property") or values.get("name") or "").lower() in ("og:image:alt", "twitter:image:alt"):
            if self.hero is not None and not self.hero[1]:
                self.hero = (self.hero[0], values.get("content", "").strip())
        elif re.fullmatch(r"h[1-6]", tag) and not self._skip:
            self._heading = []
        elif tag == "img" and not self._skip:
            src = values.get("src") or values.get("data-src") or ""
            if _usable(src) and not _small(values):
                self.figures.append(Figure(src.strip(), values.get("alt", "").strip(), values.get("title", "").strip(), self._section))
                if self._figure is not None:
                    self._figure = len(self.figures) - 1
        elif tag == "figure":
            self._figure = -1
        elif tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(self._skip - 1, 0)
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self._section = " ".join("".join(self._heading).split())
            self._heading = None
        elif tag == "figcaption" and self._caption is not None:
            caption = " ".join("".join(self._caption).split())
            if self._figure is not None and self._figure >= 0 and caption:
                f = self.figures[self._figure]
                self.figures[self._figure] = Figure(f.src, f.alt, caption, f.section)
            self._caption = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._caption is not None:
            self._caption.append(data)


def html_figures(text: str) -> list[Figure]:
    parser = _HTMLFigures()
    parser.feed(text)
    parser.close()
    figures = [Figure(parser.hero[0], parser.hero[1], "", "", True)] if parser.hero else []
    return _unique([*figures, *parser.figures])


def _unique(figures: list[Figure]) -> list[Figure]:
    """Each source once (the hero's entry wins, the body's alt text fills an empty one), numbered in order."""
    seen: dict[str, int] = {}
    out: list[Figure] = []
    for f in figures:
        if f.src in seen:
            kept = out[seen[f.src]]
            out[seen[f.src]] = Figure(kept.src, kept.alt or f.alt, kept.caption or f.caption, kept.section or f.section, kept.hero, kept.position)
            continue
        seen[f.src] = len(out)
        out.append(Figure(f.src, f.alt, f.caption, f.section, f.hero, len(out)))
    return out[:MAX_FIGURES]
