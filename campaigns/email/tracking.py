"""First-party open and click tracking: pure rewriting of a rendered campaign and the signatures that guard it.

A campaign is rendered once with per-recipient placeholders; tracking keeps that shape:

* an open pixel ``<img src="{{open_url}}">`` goes before ``</body>``;
* every ``<a href="http(s)://...">`` becomes ``{{click_url}}&u=<url, percent-encoded>&s=<signature>``.
  The signature is HMAC-SHA256 of (email campaign id, url), so it is the same for every recipient and
  the redirect endpoint only ever sends people to URLs this installation put in that email (no open redirect).

Per recipient, ``open_url`` is ``<public url>/t/o/<token>`` and ``click_url`` is ``<public url>/t/c/<token>?``,
where the token is ``t1.<email send id>.<signature>``: it names the send row, never the address.

Left alone: ``mailto:``/``tel:``/anchor links, the unsubscribe link (a placeholder, not http), hrefs that
hold a per-recipient placeholder (``https://shop/?e={{email}}``: its URL differs per recipient, so one
campaign-wide signature cannot cover it), ``<link>`` tags, and the text part (plain text has no pixel,
and rewritten links there would be long and unreadable).

Keys are derived from ``CAMPAIGNS_TOKEN_KEY`` with their own labels (never the unsubscribe or Fernet
key itself), so a tracking token can never be replayed as an unsubscribe token. The first listed key
signs; every listed key verifies (rotation as for unsubscribe links).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from campaigns.core.crypto import token_keys

TOKEN_VERSION = "t1"
OPEN_PATH = "/t/o/"
CLICK_PATH = "/t/c/"
_TOKEN_LABEL = b"campaigns/email-tracking-token/v1"
_CLICK_LABEL = b"campaigns/email-tracking-click/v1"
_TOKEN_SIGNATURE_BYTES = 12
CLICK_SIGNATURE_HEX = 32  # 128 bits of HMAC-SHA256, hex

PIXEL = '<img src="{{open_url}}" width="1" height="1" alt="" style="display:block;border:0">'
# 1x1 transparent GIF (GIF89a, one transparent pixel), what the open endpoint always answers
TRANSPARENT_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")

_ANCHOR_TAG = re.compile(r"<(?:a|area)\b[^>]*>", re.I)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(\s*https?://[^"']*)\2""", re.I)
_BODY_END = re.compile(r"</body\s*>", re.I)
_PLACEHOLDER = re.compile(r"\{\{")
_TOKEN = re.compile(r"^t1\.([0-9]{1,18})\.([A-Za-z0-9_-]{16})$")


class TrackingTokenError(ValueError):
    """A tracking token or click signature that is malformed, forged, or signed with a key no longer listed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TrackingSigner:
    """Signs send tokens and click URLs under keys derived from CAMPAIGNS_TOKEN_KEY (comma-separated, first signs)."""

    _token_keys: tuple[bytes, ...]
    _click_keys: tuple[bytes, ...]

    @classmethod
    def from_keys(cls, keys: str | tuple[str, ...]) -> TrackingSigner:
        """Signer for CAMPAIGNS_TOKEN_KEY's keys, taken through the one key loader (TokenKeyError when missing or weak)."""
        parts = token_keys(",".join(keys) if isinstance(keys, tuple) else keys)
        return cls(tuple(hmac.new(k.encode(), _TOKEN_LABEL, hashlib.sha256).digest() for k in parts),
                   tuple(hmac.new(k.encode(), _CLICK_LABEL, hashlib.sha256).digest() for k in parts))

    def __repr__(self) -> str:
        return "TrackingSigner(<keys hidden>)"

    # --- send tokens ---------------------------------------------------------------------------
    def token(self, send_id: int) -> str:
        return f"{TOKEN_VERSION}.{int(send_id)}.{self._token_signature(self._token_keys[0], int(send_id))}"

    def send_id(self, token: str) -> int:
        """The email send id a token names; TrackingTokenError when it is malformed or forged."""
        match = _TOKEN.match(token or "")
        if match is None:
            raise TrackingTokenError("malformed tracking token")
        send_id = int(match.group(1))
        if not any(hmac.compare_digest(self._token_signature(key, send_id), match.group(2)) for key in self._token_keys):
            raise TrackingTokenError("tracking token signature does not match")
        return send_id

    @staticmethod
    def _token_signature(key: bytes, send_id: int) -> str:
        return _b64(hmac.new(key, f"{TOKEN_VERSION}.{send_id}".encode(), hashlib.sha256).digest()[:_TOKEN_SIGNATURE_BYTES])

    # --- click URLs ----------------------------------------------------------------------------
    def click_signature(self, email_campaign_id: int, url: str) -> str:
        return self._click_signature(self._click_keys[0], email_campaign_id, url)

    def click_ok(self, email_campaign_id: int, url: str, signature: str) -> bool:
        return any(hmac.compare_digest(self._click_signature(key, email_campaign_id, url), signature or "") for key in self._click_keys)

    @staticmethod
    def _click_signature(key: bytes, email_campaign_id: int, url: str) -> str:
        return hmac.new(key, f"{int(email_campaign_id)}\n{url}".encode(), hashlib.sha256).hexdigest()[:CLICK_SIGNATURE_HEX]


def open_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{OPEN_PATH}{token}"


def click_url(public_url: str, token: str) -> str:
    """Ends with ``?``: the campaign HTML appends ``&u=...&s=...`` to it."""
    return f"{public_url.rstrip('/')}{CLICK_PATH}{token}?"


def add_pixel(body: str) -> str:
    """The open pixel just before the last ``</body>``, or at the end when there is none."""
    ends = list(_BODY_END.finditer(body))
    if not ends:
        return body + PIXEL
    at = ends[-1].start()
    return body[:at] + PIXEL + body[at:]


def rewrite_links(body: str, email_campaign_id: int, signer: TrackingSigner) -> str:
    """Every http(s) href of an ``<a>``/``<area>`` tag through the click endpoint (see the module doc for what is left alone)."""

    def href(match: re.Match[str]) -> str:
        raw = match.group(3)
        if _PLACEHOLDER.search(raw):
            return match.group(0)  # differs per recipient: cannot be signed once per campaign
        url = html.unescape(raw).strip()
        tracked = (f"{{{{click_url}}}}&amp;u={quote(url, safe='')}"
                   f"&amp;s={signer.click_signature(email_campaign_id, url)}")
        return f"{match.group(1)}{match.group(2)}{tracked}{match.group(2)}"

    return _ANCHOR_TAG.sub(lambda tag: _HREF.sub(href, tag.group(0)), body)


def track_html(body: str, email_campaign_id: int, signer: TrackingSigner) -> str:
    """Rendered campaign HTML with its links rewritten and the open pixel added."""
    return add_pixel(rewrite_links(body, email_campaign_id, signer))


def redirect_location(url: str) -> str:
    """`url` as an HTTP Location value: non-ASCII, spaces and control characters percent-encoded (no header injection)."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
