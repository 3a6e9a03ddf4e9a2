"""The responsive base layout wrapped around templates whose layout is ``base``.

Table-based, 600px wide on desktop and full width under 620px (the media query stays in a
``<style data-css-inline="keep">`` block because inline styles cannot express it); everything
else is inlined by css-inline. The hidden preheader carries the preview text, and the footer
names the merchant and carries the unsubscribe link, so every ``base`` email has one.
"""

from __future__ import annotations

import base64
import binascii
import re

LAYOUT_BASE = "base"
LAYOUT_NONE = "none"
LAYOUTS = (LAYOUT_BASE, LAYOUT_NONE)

# Prepended to a template's source when its layout is `base`: a Jinja comment on the first line, so line
# numbers do not move, and part of the approved content, so switching the layout voids an approval.
LAYOUT_DIRECTIVE = "{#- layout: base -#}"

BASE_LAYOUT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{{ subject }}</title>
<style>
body { margin: 0; padding: 0; background-color: #f4f4f7; }
.wrapper { width: 100%; background-color: #f4f4f7; }
.container { width: 600px; max-width: 600px; background-color: #ffffff; }
.content { padding: 32px 40px; font-family: Helvetica, Arial, sans-serif; font-size: 16px; line-height: 24px; color: #1f2933; }
.content h1 { font-size: 26px; line-height: 32px; margin: 0 0 16px 0; color: #111827; }
.content h2 { font-size: 20px; line-height: 28px; margin: 24px 0 12px 0; color: #111827; }
.content p { margin: 0 0 16px 0; }
.content a { color: #4f46e5; }
.content a.button, .button { display: inline-block; padding: 12px 24px; background-color: #4f46e5; color: #ffffff; text-decoration: none; border-radius: 6px; font-weight: bold; }
.muted { color: #6b7280; font-size: 13px; line-height: 20px; }
.footer { padding: 24px 40px; font-family: Helvetica, Arial, sans-serif; font-size: 12px; line-height: 18px; color: #6b7280; text-align: center; }
.footer a { color: #6b7280; }
.preheader { display: none; max-height: 0; overflow: hidden; mso-hide: all; font-size: 1px; line-height: 1px; color: #f4f4f7; }
</style>
<style data-css-inline="keep">
@media only screen and (max-width: 620px) {
  .container { width: 100% !important; max-width: 100% !important; }
  .content, .footer { padding: 24px 20px !important; }
  .stack { display: block !important; width: 100% !important; }
}
</style>
</head>
<body>
<div class="preheader">{{ preview_text }}</div>
<table role="presentation" class="wrapper" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td align="center" style="padding: 24px 0;">
<table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" border="0">
<tr><td class="content">
{{ body }}
</td></tr>
<tr><td class="footer">
<p>You receive this email from {{ merchant_name }}.</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


def with_layout(html: str, layout: str) -> str:
    """The source that is rendered (and approved) for a stored template."""
    return LAYOUT_DIRECTIVE + html if layout == LAYOUT_BASE and not html.startswith(LAYOUT_DIRECTIVE) else html


def split_layout(source: str) -> tuple[str, str]:
    """(layout, body source) of a rendered source."""
    if source.startswith(LAYOUT_DIRECTIVE):
        return LAYOUT_BASE, source[len(LAYOUT_DIRECTIVE):]
    return LAYOUT_NONE, source


# An email campaign's body (campaigns.email.markdown) rides in front of its template's source the same way: a first-line
# Jinja comment holding the body's Markdown (base64, which can hold no "#}"). Every rendering and the approval hash read
# this one source, so a send, a preview and an approval all see the body; a campaign without a body keeps its old source.
_CONTENT_DIRECTIVE = re.compile(r"^\{#- content: ([A-Za-z0-9_=-]*) -#\}")


def with_content(source: str, markdown: str) -> str:
    """`source` with the body the template prints in its ``{{ content }}`` slot."""
    if not markdown.strip():
        return source
    return "{#- content: " + base64.urlsafe_b64encode(markdown.encode("utf-8")).decode("ascii") + " -#}" + source


def split_content(source: str) -> tuple[str, str]:
    """(body Markdown, the rest of the source) of a rendered source; an empty body when it carries none."""
    match = _CONTENT_DIRECTIVE.match(source)
    if match is None:
        return "", source
    try:
        markdown = base64.urlsafe_b64decode(match.group(1)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", source  # not ours: rendered as the template's own text (a Jinja comment)
    return markdown, source[match.end():]
