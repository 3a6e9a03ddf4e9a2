"""HTML previews that look like each platform's rendering. Every piece of user text is escaped.

The fragments use inline styles only, so the Streamlit app can show them with ``st.html``
without a stylesheet; the email preview puts the message's own HTML in a sandboxed iframe.
A post's media show as the platform lays them out: images as thumbnails (with their alt
text), a video as a dark placeholder with a play sign and its duration when known (the
caller passes durations it has read off the files; previews never download anything).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from publishers.base import SocialPost, fill_placeholders
from publishers.limits import media_kind
from publishers.text import url_spans, weighted_length

_TOKEN = re.compile(r"(?<![\w&#/])([#＃]\w*[^\W\d_]\w*)|(?<![\w@])([@＠]\w{1,30})")

_FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _safe_url(url: str) -> str | None:
    url = url if url.lower().startswith(("http://", "https://")) else f"https://{url}"
    return _e(url) if re.match(r"(?i)^https?://[^\s<>\"']+$", url) else None


def _rich(text: str, link_color: str, limit: int | None = None, more: str = "") -> str:
    """Escape text; make links, hashtags and mentions look as the platform shows them."""
    truncated = limit is not None and len(text) > limit
    shown = text[:limit].rstrip() if truncated else text
    out, last = [], 0
    spans = url_spans(shown)
    for start, end in spans:
        out.append(_tags(shown[last:start], link_color))
        url = shown[start:end]
        href = _safe_url(url)
        label = _e(url if len(url) <= 30 else url[:29] + "…")
        out.append(f'<a href="{href}" style="color:{link_color};text-decoration:none" target="_blank" rel="noopener">{label}</a>' if href else label)
        last = end
    out.append(_tags(shown[last:], link_color))
    body = "".join(out).replace("\n", "<br>")
    if truncated:
        body += f'…<span style="color:#666"> {_e(more)}</span>'
    return body


def _tags(text: str, color: str) -> str:
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        out.append(_e(text[last : match.start()]))
        out.append(f'<span style="color:{color}">{_e(match.group(0))}</span>')
        last = match.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _avatar(size: int, label: str, background: str = "#cfd9de") -> str:
    initial = _e((label.strip("@ ") or "?")[0].upper())
    return (f'<div style="width:{size}px;height:{size}px;border-radius:50%;background:{background};color:#fff;flex:none;'
            f'display:flex;align-items:center;justify-content:center;font-weight:700">{initial}</div>')


@dataclass(frozen=True)
class MediaView:
    """One attachment as a preview shows it."""

    url: str
    kind: Literal["image", "video"] = "image"
    alt: str = ""
    duration: float | None = None  # seconds, for a video whose file was read


def media_views(post: SocialPost, durations: Mapping[str, float] | None = None) -> list[MediaView]:
    durations = durations or {}
    return [MediaView(url, media_kind(url), post.alt(n), durations.get(url)) for n, url in enumerate(post.media)]


def duration_label(seconds: float | None) -> str:
    if seconds is None:
        return "Video"
    whole = int(round(seconds))
    return f"Video · {whole // 60}:{whole % 60:02d}"


# an image not uploaded yet (the app's compose form shows it before anything is stored)
_DATA_IMAGE = re.compile(r"^data:image/(jpeg|png|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$")


def _media(item: MediaView, style: str) -> str:
    if item.kind == "video":
        return (f'<div class="preview-video" style="{style};background:#111;color:#fff;display:flex;align-items:center;justify-content:center;'
                f'gap:8px;font-weight:600;min-height:160px" title="{_e(duration_label(item.duration))}">'
                f'<span style="font-size:28px">▶</span><span>{_e(duration_label(item.duration))}</span></div>')
    src = item.url if _DATA_IMAGE.match(item.url) else _safe_url(item.url)
    return f'<img src="{src}" alt="{_e(item.alt)}" style="{style}">' if src else ""


def _gallery(media: Sequence[MediaView], radius: str = "0") -> str:
    """X and LinkedIn: one item full width, several in a two-column grid."""
    if not media:
        return ""
    if len(media) == 1:
        return f'<div style="margin-top:8px">{_media(media[0], f"width:100%;display:block;border-radius:{radius};object-fit:cover")}</div>'
    cells = "".join(_media(m, f"width:100%;aspect-ratio:1/1;object-fit:cover;display:block;border-radius:{radius}") for m in media[:4])
    more = f'<div style="color:#666;font-size:12px">+{len(media) - 4} more</div>' if len(media) > 4 else ""
    return f'<div style="display:grid;grid-template-columns:1fr 1fr;gap:2px;margin-top:8px">{cells}</div>{more}'


def x_preview(parts: Sequence[str], *, name: str = "", handle: str = "", media: Sequence[MediaView] = ()) -> str:
    name, handle = name or "Your brand", handle.lstrip("@") or "yourbrand"
    cards = []
    for number, part in enumerate(parts, start=1):
        length = weighted_length(part)
        counter_color = "#f4212e" if length > 280 else "#536471"
        thread_line = '<div style="width:2px;background:#cfd9de;margin:4px auto 0;flex:1"></div>' if number < len(parts) else ""
        cards.append(
            f'<div style="display:flex;gap:12px;padding:12px 16px">'
            f'<div style="display:flex;flex-direction:column;align-items:center">{_avatar(40, name, "#1d9bf0")}{thread_line}</div>'
            f'<div style="flex:1;min-width:0">'
            f'<div><b style="color:#0f1419">{_e(name)}</b> <span style="color:#536471">@{_e(handle)} · now</span></div>'
            f'<div style="color:#0f1419;font-size:15px;line-height:20px;white-space:normal;word-wrap:break-word">{_rich(part, "#1d9bf0")}</div>'
            f'{_gallery(media, "16px") if number == 1 else ""}'
            f'<div style="color:{counter_color};font-size:12px;text-align:right">{length}/280</div>'
            f"</div></div>"
        )
    return f'<div class="preview preview-x" style="{_FONT};max-width:598px;border:1px solid #cfd9de;border-radius:16px;background:#fff">{"".join(cards)}</div>'


def facebook_preview(text: str, *, name: str = "", link: str | None = None, image: str | None = None,
                     media: Sequence[MediaView] = ()) -> str:
    name = name or "Your Page"
    media = list(media) or ([MediaView(image)] if image else [])
    link_card = ""
    if link and not media and (href := _safe_url(link)):
        domain = re.sub(r"(?i)^https?://(www\.)?", "", link).split("/")[0]
        link_card = (f'<a href="{href}" style="display:block;background:#f0f2f5;padding:10px 12px;color:#65676b;text-decoration:none;'
                     f'font-size:12px;text-transform:uppercase">{_e(domain)}</a>')
    return (
        f'<div class="preview preview-facebook" style="{_FONT};max-width:500px;background:#fff;border-radius:8px;box-shadow:0 1px 2px rgba(0,0,0,.2)">'
        f'<div style="display:flex;gap:8px;padding:12px 16px 0">{_avatar(40, name, "#1877f2")}'
        f'<div><b style="color:#050505;font-size:15px">{_e(name)}</b><div style="color:#65676b;font-size:13px">Just now · Public</div></div></div>'
        f'<div style="padding:4px 16px 16px;color:#050505;font-size:15px;line-height:1.33">{_rich(text, "#0064d1", 480, "See more")}</div>'
        f'{_media(media[0], "width:100%;display:block") if media else ""}{link_card}'
        f'<div style="display:flex;justify-content:space-around;border-top:1px solid #ced0d4;margin:0 12px;padding:6px 0;color:#65676b;font-weight:600;font-size:15px">'
        f"<span>Like</span><span>Comment</span><span>Share</span></div></div>"
    )


def instagram_preview(caption: str, *, handle: str = "", image: str | None = None, media: Sequence[MediaView] = ()) -> str:
    handle = handle.lstrip("@") or "yourbrand"
    media = list(media) or ([MediaView(image)] if image else [])
    shown = _media(media[0], "width:100%;aspect-ratio:1/1;object-fit:cover;display:block") if media else ""
    if shown and len(media) > 1:  # a carousel: the first item with a counter, as the app shows it
        shown = (f'<div style="position:relative">{shown}<span style="position:absolute;top:8px;right:8px;background:rgba(0,0,0,.6);'
                 f'color:#fff;border-radius:12px;padding:2px 8px;font-size:12px">1/{len(media)}</span></div>')
    picture = shown or (
        '<div style="width:100%;aspect-ratio:1/1;background:#efefef;display:flex;align-items:center;justify-content:center;'
        'color:#8e8e8e">Instagram needs an image or a video</div>'
    )
    return (
        f'<div class="preview preview-instagram" style="{_FONT};max-width:470px;background:#fff;border:1px solid #dbdbdb;border-radius:8px">'
        f'<div style="display:flex;gap:10px;align-items:center;padding:10px 12px">{_avatar(32, handle, "#d62976")}'
        f'<b style="font-size:14px;color:#262626">{_e(handle)}</b></div>{picture}'
        f'<div style="padding:8px 12px;font-size:22px;letter-spacing:12px">♡💬➤</div>'
        f'<div style="padding:0 12px 12px;font-size:14px;color:#262626;line-height:18px"><b>{_e(handle)}</b> '
        f'{_rich(caption, "#00376b", 125, "more")}</div></div>'
    )


def linkedin_preview(text: str, *, name: str = "", media: Sequence[MediaView] = ()) -> str:
    name = name or "Your company"
    return (
        f'<div class="preview preview-linkedin" style="{_FONT};max-width:552px;background:#fff;border:1px solid #e0dfdc;border-radius:8px">'
        f'<div style="display:flex;gap:8px;padding:12px 16px 0">{_avatar(48, name, "#0a66c2")}'
        f'<div><b style="color:rgba(0,0,0,.9);font-size:14px">{_e(name)}</b>'
        f'<div style="color:rgba(0,0,0,.6);font-size:12px">Now · Public</div></div></div>'
        f'<div style="padding:8px 16px 12px;color:rgba(0,0,0,.9);font-size:14px;line-height:20px">{_rich(text, "#0a66c2", 210, "see more")}</div>'
        f'{_gallery(media)}'
        f'<div style="display:flex;justify-content:space-around;border-top:1px solid #e0dfdc;padding:8px 0;color:rgba(0,0,0,.6);font-weight:600;font-size:14px">'
        f"<span>Like</span><span>Comment</span><span>Repost</span><span>Send</span></div></div>"
    )


def email_preview(message) -> str:  # message: publishers.base.EmailMessage

    first = message.recipients[0]
    values = {**first.variables, "unsubscribe_url": first.unsubscribe_url}
    subject = fill_placeholders(message.subject, values)
    body = fill_placeholders(message.html, values, escape=True) if message.html.strip() else f"<pre>{_e(fill_placeholders(message.text, values))}</pre>"
    preheader = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()[:90]
    return (
        f'<div class="preview preview-email" style="{_FONT};max-width:640px;border:1px solid #dadce0;border-radius:8px;background:#fff">'
        f'<div style="padding:12px 16px;border-bottom:1px solid #dadce0">'
        f'<div style="font-size:20px;color:#1f1f1f">{_e(subject)}</div>'
        f'<div style="font-size:13px;color:#5e5e5e"><b>{_e(message.sender)}</b> to {_e(first.email)}'
        f' · <span style="text-decoration:underline">Unsubscribe</span></div>'
        f'<div style="font-size:12px;color:#80868b">{_e(preheader)}</div></div>'
        f'<iframe sandbox="" srcdoc="{_e(body)}" style="width:100%;height:480px;border:0"></iframe></div>'
    )
