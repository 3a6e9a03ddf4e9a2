"""Fitting text into a limit without cutting a word: the format optimizer's primitives.

Lengths are measured the way the platform counts (X: weighted, URLs 23, CJK and emoji 2;
everyone else: code points after NFC). Cuts happen at sentence ends first, then at spaces;
a URL is never cut. Chinese and Japanese have no spaces, so a cut may fall between two
CJK characters, preferably after punctuation (、。). A cut text ends with "…".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from agents.source import split_sentences
from publishers.text import plain_length, url_spans, weighted_length

Measure = Callable[[str], int]
ELLIPSIS = "…"
_CJK_CHAR = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_TRAILING_JUNK = " \t\n,;:–—-(/&+·•|"


def ad_width(text: str) -> int:
    """Google Ads' count: wide (CJK) characters count 2, everything else 1."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in unicodedata.normalize("NFC", text))


def measure_for(rule: str) -> Measure:
    if rule == "x_weighted":
        return weighted_length
    if rule == "ad_width":
        return ad_width
    return plain_length


def _break_points(text: str) -> list[int]:
    """Indices where `text` may be cut (the prefix text[:i] ends at a word boundary)."""
    protected = url_spans(text)
    points = []
    for i in range(1, len(text)):
        if any(start < i < end for start, end in protected):
            continue
        before, after = text[i - 1], text[i]
        if after.isspace() and not before.isspace():
            points.append(i)
        elif _CJK_CHAR.match(before) and (_CJK_CHAR.match(after) or after.isspace()):
            points.append(i)
        elif _CJK_CHAR.match(after) and not before.isspace() and not before.isalnum():
            points.append(i)
    return points


def _clean_end(text: str) -> str:
    return text.rstrip(_TRAILING_JUNK).rstrip()


def truncate(text: str, limit: int, measure: Measure = plain_length, *, ellipsis: str = ELLIPSIS) -> str:
    """The longest prefix of `text` ending at a word boundary that, with `ellipsis`, fits `limit`; "" if none."""
    text = text.strip()
    if measure(text) <= limit:
        return text
    for cut in reversed(_break_points(text)):
        candidate = _clean_end(text[:cut])
        if not candidate:
            continue
        if candidate[-1] in ".!?。！？…":
            if measure(candidate) <= limit:
                return candidate
            continue
        if measure(candidate + ellipsis) <= limit:
            return candidate + ellipsis
    return ""


def trim_to_word(text: str, limit: int, measure: Measure = plain_length) -> str:
    """Like `truncate` without an ellipsis, for headlines: drops dangling punctuation and joiners."""
    text = text.strip()
    if measure(text) <= limit:
        return text
    for cut in reversed(_break_points(text)):
        candidate = _clean_end(text[:cut])
        words = candidate.split()
        # a headline that ends on "for", "and", "der" reads as cut off
        while words and words[-1].lower() in _DANGLING:
            words.pop()
        candidate = _clean_end(" ".join(words)) if words else ""
        if candidate and measure(candidate) <= limit:
            return candidate
    return ""


_DANGLING = frozenset(
    "a an the and or but for of to in on at by with from your our my its their this that as is are was "
    "der die das und oder aber für von zu im in am an auf mit ein eine einen dem den des ist sind".split()
)


def fit_sentences(sentences: Iterable[str], limit: int, measure: Measure = plain_length, *, sep: str = " ") -> str:
    """As many whole sentences, in order, as fit `limit`; the first one truncated at a word if even it is too long."""
    chosen: list[str] = []
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        candidate = sep.join([*chosen, sentence])
        if measure(candidate) <= limit:
            chosen.append(sentence)
        elif not chosen:
            return truncate(sentence, limit, measure)
        else:
            break
    return sep.join(chosen)


def pack(required_tail: str, pieces: Iterable[str], limit: int, measure: Measure = plain_length, *, sep: str = "\n\n") -> str:
    """`pieces` in order while they fit, then `required_tail` (a link, a call to action) always kept.

    The first piece is truncated at a word boundary when nothing else would fit.
    """
    tail = required_tail.strip()
    chosen: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        candidate = sep.join([*chosen, piece, tail]) if tail else sep.join([*chosen, piece])
        if measure(candidate) <= limit:
            chosen.append(piece)
        elif not chosen:
            overhead = measure(sep + tail) if tail else 0
            cut = truncate(piece, limit - overhead, measure)
            if cut:
                chosen.append(cut)
            break
        # a later, shorter piece (a bullet, a hashtag line) may still fit
    return sep.join([*chosen, tail]) if tail else sep.join(chosen)


def fit_block(text: str, limit: int, measure: Measure = plain_length) -> str:
    """Whole lines while they fit; the first line that does not is cut to whole sentences (or, if it is the first line, at a word)."""

    kept: list[str] = []
    for line in text.strip().split("\n"):
        candidate = "\n".join([*kept, line])
        if measure(candidate) <= limit:
            kept.append(line)
            continue
        room = limit - (measure("\n".join([*kept, ""])) if kept else 0)
        if room > 0 and line.strip():
            sentences = split_sentences(line)
            partial = fit_sentences(sentences, room, measure) if not kept else _whole_sentences(sentences, room, measure)
            if partial:
                kept.append(partial)
        break
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept).strip()


def _whole_sentences(sentences: list[str], limit: int, measure: Measure) -> str:
    chosen: list[str] = []
    for sentence in sentences:
        if measure(" ".join([*chosen, sentence])) > limit:
            break
        chosen.append(sentence)
    return " ".join(chosen)
