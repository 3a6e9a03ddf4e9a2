"""Text rules shared by publishers: URLs, hashtags, mentions, X's weighted length, fingerprints.

X weighted length follows the published counting rules (twitter-text configuration v3):
text is NFC-normalised; every URL counts 23; an emoji, including a whole sequence (skin
tone, ZWJ family, flag, keycap), counts 2; any other code point counts 1 when it lies in
0-4351, 8192-8205, 8208-8223 or 8242-8247 and 2 otherwise (so CJK counts 2). The limit is
280 weighted characters.
"""

from __future__ import annotations

import html
import re
import unicodedata

X_WEIGHT_ONE_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_WEIGHT = 23

_COMMON_TLDS = (
    "com|org|net|io|co|app|dev|shop|store|blog|info|biz|ai|me|tv|us|uk|de|fr|es|it|nl|ca|au|jp|cn|in|br|"
    "eu|ch|se|no|dk|fi|pl|at|be|ie|nz|sg|hk|kr|mx|xyz|site|online|tech|news|link|page|ly|gl|gg|to"
)
_URL = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"'\u00a0]+"
    rf"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_COMMON_TLDS})\b(?:/[^\s<>\"']*)?"
)
_TRAILING = ".,;:!?'\"]}>"
_HASHTAG = re.compile(r"(?<![\w&#/])[#＃](\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w@])[@＠](\w{1,30})")

THREAD_SEPARATOR = "---"


def normalise(text: str) -> str:
    """NFC, Unix newlines, no trailing spaces on lines, no surrounding blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        # keep a closing parenthesis only when the URL opened one (Wikipedia-style links)
        while end > start and text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end):
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def find_urls(text: str) -> list[str]:
    return [text[s:e] for s, e in url_spans(text)]


def hashtags(text: str) -> list[str]:
    return _HASHTAG.findall(text)


def mentions(text: str) -> list[str]:
    return _MENTION.findall(text)


def _is_pictographic(cp: int) -> bool:
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or 0x2190 <= cp <= 0x21FF
        or 0x25A0 <= cp <= 0x25FF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x2934, 0x2935, 0x3030, 0x303D, 0x3297, 0x3299)
    )


_VS16, _ZWJ, _KEYCAP = 0xFE0F, 0x200D, 0x20E3


def _emoji_end(text: str, i: int) -> int | None:
    """End index of the emoji sequence starting at `i`, or None when no emoji starts there."""
    n = len(text)
    cp = ord(text[i])
    # keycap: 0-9 # * [VS16] U+20E3
    if text[i] in "0123456789#*":
        j = i + 1
        if j < n and ord(text[j]) == _VS16:
            j += 1
        return j + 1 if j < n and ord(text[j]) == _KEYCAP else None
    # flag: two regional indicators
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return i + 2 if i + 1 < n and 0x1F1E6 <= ord(text[i + 1]) <= 0x1F1FF else i + 1
    if not _is_pictographic(cp):
        return None
    # symbols that are ordinary text below U+1100 (©, ®) are emoji only with the emoji selector
    if cp < 0x1100 and not (i + 1 < n and ord(text[i + 1]) == _VS16):
        return None
    j = i + 1
    while j < n:
        nxt = ord(text[j])
        if nxt in (_VS16, 0xFE0E) or 0x1F3FB <= nxt <= 0x1F3FF or 0xE0020 <= nxt <= 0xE007F:
            j += 1
        elif nxt == _ZWJ and j + 1 < n and _is_pictographic(ord(text[j + 1])):
            j += 2
        else:
            break
    return j


def _code_point_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in X_WEIGHT_ONE_RANGES) else 2


def weighted_length(text: str) -> int:
    """X's weighted length of `text` (see the module docstring)."""
    text = unicodedata.normalize("NFC", text)
    urls = dict(url_spans(text))
    total, i, n = 0, 0, len(text)
    while i < n:
        if i in urls:
            total += X_URL_WEIGHT
            i = urls[i]
            continue
        end = _emoji_end(text, i)
        if end is not None:
            total += 2
            i = end
            continue
        total += _code_point_weight(ord(text[i]))
        i += 1
    return total


def plain_length(text: str) -> int:
    """Characters as most platforms count them: code points after NFC."""
    return len(unicodedata.normalize("NFC", text))


def thread_parts(text: str) -> list[str]:
    """Split a thread written with lines holding only ``---``; a plain post is one part."""
    parts, current = [], []
    for line in normalise(text).split("\n"):
        if line.strip() == THREAD_SEPARATOR:
            parts.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current).strip())
    return [p for p in parts if p] or [""]


def fingerprint(text: str) -> str:
    """What survives the platform's rewriting: entities unescaped, URLs (t.co, UTM) blanked, spaces collapsed."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    spans = url_spans(text)
    for start, end in reversed(spans):
        text = text[:start] + "<url>" + text[end:]
    return " ".join(text.split())
