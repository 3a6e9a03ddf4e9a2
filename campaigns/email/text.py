"""The plain-text part of an email, generated from its HTML.

Headings become their own paragraph underlined with ``=`` (h1) or ``-`` (h2-h6), links
``text: url`` (just the url when the text is the url), list items ``- item``, images their alt
text; the hidden preheader, ``<head>``, ``<style>`` and ``<script>`` are left out.
Placeholders such as ``{{first_name}}`` pass through untouched.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SKIP = {"head", "style", "script", "title", "template"}
_BLOCK = {"p", "div", "table", "tr", "ul", "ol", "blockquote", "section", "article", "header", "footer", "center", "hr"}
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.link: list[str] | None = None
        self.href = ""
        self.heading: list[str] | None = None
        self.heading_level = 0

    @property
    def hidden(self) -> bool:
        return any(hides for _, hides in self.stack)

    def emit(self, text: str) -> None:
        if self.hidden:
            return
        if self.link is not None:
            self.link.append(text)
        elif self.heading is not None:
            self.heading.append(text)
        else:
            self.out.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in _VOID:
            self.stack.append((tag, tag in _SKIP or bool(_HIDDEN.search(values.get("style") or "")) or "hidden" in values))
        if self.hidden:
            return
        if tag == "br":
            self.emit("\n")
        elif tag == "img" and values.get("alt"):
            self.emit(f" {values['alt']} ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCK:
            self.out.append("\n\n")
        elif tag in ("td", "th"):
            self.out.append("\n")
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n")
            self.heading, self.heading_level = [], int(tag[1])
        elif tag == "a":
            self.link, self.href = [], (values.get("href") or "").strip()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.link is not None and not self.hidden:
            label, href, self.link = " ".join("".join(self.link).split()), self.href, None
            if not href or href.startswith("#"):
                self.emit(label)
            else:
                self.emit(href if not label or label == href else f"{label}: {href}")
        elif re.fullmatch(r"h[1-6]", tag) and self.heading is not None and not self.hidden:
            title, self.heading = " ".join("".join(self.heading).split()), None
            if title:
                self.out.append(f"{title}\n{('=' if self.heading_level == 1 else '-') * len(title)}\n\n")
        elif tag in _BLOCK:
            if not self.hidden:
                self.out.append("\n")
        if tag not in _VOID:
            for depth in range(len(self.stack) - 1, -1, -1):
                if self.stack[depth][0] == tag:
                    del self.stack[depth:]
                    break

    def handle_data(self, data: str) -> None:
        self.emit(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    lines = [" ".join(line.split()) for line in "".join(writer.out).splitlines()]
    lines = [line if not line.startswith("- ") or len(line) > 2 else "" for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
