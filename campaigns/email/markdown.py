"""The small Markdown an email campaign's body is written in, turned into HTML for the template's ``{{ content }}`` slot.

Blocks are separated by blank lines: ``#``/``##``/``###`` headings, ``-``/``*`` bullet lists, and paragraphs (single
line breaks kept). Inline: ``**bold**``, ``[label](https://...)`` links and bare ``https://`` addresses. A paragraph that
is only one link becomes the email's button (``class="button"``, styled by the base layout).

Everything else is text: it is HTML-escaped, so a body can never carry markup, scripts or event handlers, and only
http(s) and mailto links are made (a ``javascript:`` link stays plain text). Braces are written as character references
so the body's text is never read as a merge tag placeholder.
"""

from __future__ import annotations

import html
import re

MAX_BODY_CHARS = 50_000

_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]{1,300})\]\((?P<href>(?:https?://|mailto:)[^\s()<>\"']{1,2000})\)"
    r"|\*\*(?P<bold>[^*\n]{1,500})\*\*"
    r"|(?P<url>https?://[^\s()<>\"']{1,2000}[^\s()<>\"'.,;:!?])"
)
_ONLY_LINK = re.compile(r"^\[([^\]\n]{1,300})\]\(((?:https?://|mailto:)[^\s()<>\"']{1,2000})\)$")
_HEADING = re.compile(r"^(#{1,3})\s+(.+)$")
_BULLET = re.compile(r"^[-*]\s+(.+)$")


def _text(value: str) -> str:
    return html.escape(value, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def inline(value: str) -> str:
    """One line or paragraph of text with its inline marks as HTML, everything else escaped."""
    out, last = [], 0
    for match in _INLINE.finditer(value):
        out.append(_text(value[last:match.start()]))
        if match.group("label") is not None:
            out.append(f'<a href="{_text(match.group("href"))}">{_text(match.group("label"))}</a>')
        elif match.group("bold") is not None:
            out.append(f"<strong>{_text(match.group('bold'))}</strong>")
        else:
            out.append(f'<a href="{_text(match.group("url"))}">{_text(match.group("url"))}</a>')
        last = match.end()
    out.append(_text(value[last:]))
    return "".join(out)


def to_html(markdown: str) -> str:
    """The body as HTML blocks (empty for an empty body)."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", markdown.replace("\r\n", "\n").strip()) if b.strip()]
    parts = []
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        heading = _HEADING.match(lines[0])
        if len(lines) == 1 and heading:
            level = len(heading.group(1))
            parts.append(f"<h{level}>{inline(heading.group(2).strip())}</h{level}>")
        elif all(_BULLET.match(line) for line in lines):
            parts.append("<ul>" + "".join(f"<li>{inline(_BULLET.match(line).group(1))}</li>" for line in lines) + "</ul>")  # type: ignore[union-attr]
        elif len(lines) == 1 and (button := _ONLY_LINK.match(lines[0])):
            parts.append(f'<p><a class="button" href="{_text(button.group(2))}">{_text(button.group(1))}</a></p>')
        else:
            parts.append("<p>" + "<br>\n".join(inline(line) for line in lines) + "</p>")
    return "\n".join(parts)
