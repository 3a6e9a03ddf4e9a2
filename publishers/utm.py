"""UTM tags on outgoing links: per campaign (utm_campaign), channel (utm_source/utm_medium) and content (utm_content).

Source and medium per channel match what the demo data and the attribution models expect
(x.com/social, newsletter/email, ...). Tags the author already wrote are kept. Tagging is
deterministic, so the queue applies it when it renders an approved post for sending.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from publishers.text import url_spans

SOURCE_MEDIUM: dict[str, tuple[str, str]] = {
    "x": ("x.com", "social"),
    "facebook": ("facebook.com", "social"),
    "instagram": ("instagram.com", "social"),
    "linkedin": ("linkedin.com", "social"),
    "email": ("newsletter", "email"),
    "smtp": ("newsletter", "email"),
    "sendgrid": ("newsletter", "email"),
    "mailgun": ("newsletter", "email"),
}


def utm_params(channel: str, campaign: str, content: str | None = None) -> dict[str, str]:
    try:
        source, medium = SOURCE_MEDIUM[channel]
    except KeyError:
        raise ValueError(f"no UTM source for channel {channel!r}; known: {', '.join(SOURCE_MEDIUM)}") from None
    params = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
    if content:
        params["utm_content"] = content
    return params


def tag_url(url: str, params: dict[str, str]) -> str:
    """Add `params` to `url`, keeping its other query parameters, any utm_* already there, and the fragment."""
    has_scheme = url.lower().startswith(("http://", "https://"))
    parts = urlsplit(url if has_scheme else f"https://{url}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query += [(k, v) for k, v in params.items() if k not in present]
    tagged = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))
    return tagged if has_scheme else tagged.removeprefix("https://")


def tag_links(text: str, *, channel: str, campaign: str, content: str | None = None, domains: Iterable[str] | None = None) -> str:
    """Tag every link in `text` (only links to `domains`, when given, so other sites are left alone)."""
    params = utm_params(channel, campaign, content)
    allowed = {d.lower().removeprefix("www.") for d in domains} if domains is not None else None
    out, last = [], 0
    for start, end in url_spans(text):
        url = text[start:end]
        host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
        if allowed is None or host.removeprefix("www.") in allowed or any(host.endswith("." + d) for d in allowed):
            url = tag_url(url, params)
        out.append(text[last:start] + url)
        last = end
    out.append(text[last:])
    return "".join(out)
