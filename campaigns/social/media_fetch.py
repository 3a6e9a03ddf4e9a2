"""An image chosen from a blog post, fetched and made fit for a platform before it is stored.

The source is the image's file next to the post or its http(s) address (followed redirects stay
on http(s), never reach a link-local address such as a cloud metadata service); the download is
bounded in size and time. A platform that takes fewer formats or
shapes than blogs use (Instagram: JPEG only, 4:5 to 1.91:1) gets a converted and centre-cropped
copy, so a PNG hero image of a wide banner still makes a valid post; the original is untouched.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from pathlib import Path

import httpx

from campaigns.social.accounts import QueueError
from campaigns.social.media import MAX_BYTES, read_image
from publishers.limits import IMAGE_RULES

TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5


def fetch_image(src: str, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The bytes at `src` (an absolute file path or an http(s) URL), or a QueueError naming the source and the fix."""
    if src.startswith(("http://", "https://")):
        return _download(src, max_bytes, timeout)
    path = Path(src)
    if not path.is_absolute():
        raise QueueError(f"image source {src!r} is neither an http(s) URL nor an absolute file path; repurpose the post again")
    try:
        if path.stat().st_size > max_bytes:
            raise QueueError(f"image {src} is over {max_bytes // 1024 // 1024} MB; use a smaller image in the post")
        return path.read_bytes()
    except OSError as exc:
        raise QueueError(f"cannot read image {src}: {exc.strerror}; put the file back next to the post or repurpose it again") from None


def _refuse_link_local(request: httpx.Request) -> None:
    """Cloud metadata services live on link-local addresses: a post's image (or a redirect) never points the product there."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(request.url.host, request.url.port or 80, proto=socket.IPPROTO_TCP)}
    except OSError:
        return  # the connection reports the unknown host
    if any(ipaddress.ip_address(a.split("%")[0]).is_link_local for a in addresses):
        raise QueueError(f"image {request.url} points at a link-local address; use the image's public address in the post")


def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                          event_hooks={"request": [_refuse_link_local]}) as client:
            with client.stream("GET", url, headers={"Accept": "image/*"}) as response:
                if response.url.scheme not in ("http", "https"):
                    raise QueueError(f"image {url} redirected away from http(s); use a direct image URL in the post")
                if response.status_code != 200:
                    raise QueueError(f"image {url} answered HTTP {response.status_code}; fix the image's address in the post or publish it")
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > max_bytes:
                    raise QueueError(f"image {url} is {declared / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB: "
                                     "use a smaller image in the post")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise QueueError(f"image {url} is over {max_bytes // 1024 // 1024} MB; use a smaller image in the post")
                return bytes(data)
    except httpx.TimeoutException:
        raise QueueError(f"image {url} did not arrive within {timeout:.0f} s; try again, or use an image served faster") from None
    except httpx.HTTPError as exc:
        raise QueueError(f"cannot fetch image {url}: {type(exc).__name__}; check the address in the post") from None


def fit_image(platform: str, data: bytes, where: str) -> bytes:
    """`data` unchanged when `platform` takes it as it is, else a JPEG centre-cropped into the platform's aspect range."""
    facts = read_image(data, where)
    rules = IMAGE_RULES.get(platform)
    if rules is None:
        return data
    aspect = facts.width / facts.height
    fits = facts.mime in rules.types and rules.min_aspect <= aspect <= rules.max_aspect and max(facts.width, facts.height) <= rules.max_side
    if fits and facts.size <= rules.max_bytes:
        return data
    from PIL import Image  # Pillow loads only when an image needs converting

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    if aspect > rules.max_aspect:  # too wide: keep the centre
        keep = int(height * rules.max_aspect)
        image = image.crop(((width - keep) // 2, 0, (width - keep) // 2 + keep, height))
    elif aspect < rules.min_aspect:  # too tall
        keep = int(width / rules.min_aspect)
        image = image.crop((0, (height - keep) // 2, width, (height - keep) // 2 + keep))
    if max(image.size) > rules.max_side:
        image.thumbnail((rules.max_side, rules.max_side))
    kind = "JPEG" if "image/jpeg" in rules.types else "PNG"
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=90) if kind == "JPEG" else image.save(buffer, kind)
    return buffer.getvalue()
