"""Reading a blog post (Markdown with front matter, HTML or plain text) into sentences.

Everything Leo writes is traced back to the numbered sentences made here (``s1``, ``s2``,
...). Code blocks and tables are counted but never quoted: they do not survive a social
post. MDX imports, JSX/HTML components, admonition and callout markers (``:::tip``,
``> [!NOTE]``, "💡 Tip:"), footnotes and image syntax never reach a sentence; callouts are
kept but marked (``role="callout"``), quotations are marked ``role="quote"``, image alt
texts are kept apart (`SourcePost.images`), and a short all-bold line ("**FAQs**") is read
as the heading it looks like. Sentences that read like instructions to a language model ("ignore previous
instructions ...") are flagged: they stay part of the content, are never quoted, and the
live engine is told the whole post is data, not instructions.

Refusals (`SourceError`) name the fix: an empty file, a binary file, a file over
``CAMPAIGNS_MAX_SOURCE_BYTES``. A post longer than ``CAMPAIGNS_MAX_SOURCE_CHARS`` is
truncated at a paragraph and says so in `SourcePost.notes`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from agents.blocks import Block, html_blocks, inline_markdown, markdown_blocks, text_blocks
from agents.figures import Figure, html_figures, markdown_figures

SourceFormat = Literal["markdown", "html", "text"]


class SourceError(ValueError):
    """The input cannot be read as a post; the message says what to do."""


@dataclass(frozen=True)
class Sentence:
    id: str
    text: str
    section: str  # heading the sentence sits under ("" before the first heading)
    kind: Literal["heading", "paragraph", "list_item"]
    position: int  # 0-based order in the post
    paragraph: int  # sentences of one paragraph or list share this number
    level: int = 0  # heading level (1-6) of a heading, 0 otherwise
    role: str = ""  # "callout" (a tip or note box), "quote" (a blockquote), "" for plain text


@dataclass(frozen=True)
class SourcePost:
    title: str
    url: str | None
    tags: tuple[str, ...]
    language: str
    sentences: tuple[Sentence, ...]
    headings: tuple[str, ...]
    format: SourceFormat
    source_hash: str
    code_blocks: int = 0
    truncated: bool = False
    flagged: frozenset[str] = frozenset()  # ids of sentences that read like instructions to a model
    notes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    description: str = ""  # front matter description / subtitle / summary, or the HTML meta description
    images: tuple[str, ...] = ()  # alt texts of the post's images
    ordered_items: int = 0  # items of numbered lists (steps)
    figures: tuple[Figure, ...] = ()  # the post's images: source as written, alt text, caption, section, hero
    folder: str | None = None  # the folder of the post's file, for images given by a relative path

    @property
    def by_id(self) -> dict[str, Sentence]:
        return {s.id: s for s in self.sentences}

    @property
    def usable(self) -> list[Sentence]:
        """Sentences that may be quoted: not headings, not flagged."""
        return [s for s in self.sentences if s.kind != "heading" and s.id not in self.flagged]

    @property
    def prose(self) -> str:
        """Title, tags and every sentence: what outputs may draw words and figures from."""
        return "\n".join([self.title, self.description, " ".join(self.tags), *self.images, *(s.text for s in self.sentences)])

    def summary(self) -> dict:
        return {
            "title": self.title, "url": self.url, "tags": list(self.tags), "language": self.language, "format": self.format,
            "description": self.description,
            "sentences": len(self.sentences), "code_blocks": self.code_blocks, "truncated": self.truncated,
            "flagged_sentences": sorted(self.flagged, key=lambda i: int(i[1:])), "notes": list(self.notes), "source_hash": self.source_hash,
        }


# --------------------------------------------------------------------------- decoding


def decode(data: bytes | str, *, max_bytes: int) -> str:
    if isinstance(data, str):
        raw_len = len(data.encode("utf-8", "surrogatepass"))
        text = data
    else:
        raw_len = len(data)
        if raw_len > max_bytes:
            raise SourceError(
                f"the post is {raw_len / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: split it or raise CAMPAIGNS_MAX_SOURCE_BYTES"
            )
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            if b"\x00" in data[:8192]:
                raise SourceError("the file looks binary (it holds NUL bytes); give a Markdown, HTML or plain-text post")
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise SourceError(f"the file is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from None
    if raw_len > max_bytes:
        raise SourceError(f"the post is {raw_len / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: split it or raise CAMPAIGNS_MAX_SOURCE_BYTES")
    control = sum(1 for ch in text[:8192] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if control > max(8, len(text[:8192]) // 50):
        raise SourceError("the file looks binary (many control characters); give a Markdown, HTML or plain-text post")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise SourceError("the post is empty; give a file with a title and some text")
    return text


def sniff_format(text: str, filename: str | None = None) -> SourceFormat:
    suffix = Path(filename).suffix.lower() if filename else ""
    if suffix in (".md", ".markdown", ".mdx"):
        return "markdown"
    if suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix == ".txt":
        return "text"
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(r"<(p|h[1-6]|article|body|div|ul|li)\b[^>]*>", head):
        return "html"
    if text.lstrip().startswith("---\n") or re.search(r"(?m)^#{1,6} \S|^\s*[-*+] \S|^```", text):
        return "markdown"
    return "text"


# --------------------------------------------------------------------------- front matter


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_front_matter(text: str) -> tuple[dict[str, object], str]:
    """The ``---`` block of simple ``key: value`` lines (inline ``[a, b]`` or ``- item`` lists) and the rest."""
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"(?m)^(---|\.\.\.)\s*$", text[4:])
    if end is None:
        return {}, text
    block, rest = text[4 : 4 + end.start()], text[4 + end.end() :]
    meta: dict[str, object] = {}
    key: str | None = None
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and key is not None:
            current = meta.get(key)
            meta[key] = [*(current if isinstance(current, list) else []), _scalar(item.group(1))]
            continue
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if not pair:
            continue
        key, value = pair.group(1).lower(), pair.group(2).strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
        elif value:
            meta[key] = _scalar(value)
        else:
            meta[key] = []
    return meta, rest


# --------------------------------------------------------------------------- sentences

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_SPLIT_LATIN = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[¿¡]?[A-ZÀ-ÖØ-ÞĀ-ſ0-9])")
_SPLIT_CJK = re.compile(r"(?<=[。！？])")


def split_sentences(text: str) -> list[str]:
    parts: list[str] = []
    for piece in _SPLIT_CJK.split(text):
        parts.extend(_SPLIT_LATIN.split(piece))
    return [p.strip() for p in parts if p and p.strip()]


_INJECTION = re.compile(
    r"(?i)\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|any|your)\b.{0,20}\b(instructions?|prompts?|directions)\b"
    r"|\bsystem prompt\b|\bdeveloper (mode|message)\b|\byou are now\b|\bas an ai\b|\bnew instructions\b|\bjailbreak"
    r"|\b(if you are|you are) an? (ai|llm|language model|assistant|chatbot)\b"
    r"|\b(ai|llm|language model|chatbot|assistant)s? (reading|processing|summari[sz]ing) this\b"
    r"|\breveal\b.{0,30}\b(prompt|instructions|secrets?)\b"
    r"|\bignorier(e|en|t)?\b.{0,40}\b(anweisungen|vorgaben|instruktionen)\b|指示を無視|以前の指示|これまでの指示|システムプロンプト"
)


def looks_like_instruction(text: str) -> bool:
    return bool(_INJECTION.search(text))


def detect_language(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    if cjk / len(letters) > 0.2:
        if _KANA.search(text):
            return "ja"
        return "ko" if re.search(r"[\uac00-\ud7af]", text) else "zh"
    words = re.findall(r"[a-zäöüß]+", text.lower())
    counts = Counter(words)
    german = sum(counts[w] for w in ("der", "die", "das", "und", "ist", "nicht", "mit", "für", "ein", "eine", "zu", "den", "von", "auf", "sie", "wir", "dem", "auch", "sich"))
    english = sum(counts[w] for w in ("the", "and", "is", "of", "to", "in", "for", "with", "you", "your", "it", "that", "on", "are", "this", "we"))
    return "de" if german > english else "en"


STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below between both but by can could
    did do does doing down during each few for from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself what's it's don't doesn't isn't you'll you're we're they're one two three
    every many much like get gets got make makes made use used using need needs want wants way ways thing things really actually
    der die das und ist nicht mit für ein eine einen einem einer zu den von auf sie wir dem auch sich ich du er es im in am an als
    bei bis durch oder aber wenn dann noch nur schon sehr wie was wer wo mehr kein keine sind war waren wird werden hat haben kann
    können muss müssen soll diese dieser dieses man mal so um vor nach über unter zum zur beim aus
    four five six seven eight nine ten first second third fourth fifth last next best better good great little small big
    zwei drei vier fünf sechs sieben acht neun zehn erste zweite dritte bleibt wird macht""".split()
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]")
_KATAKANA_WORD = re.compile(r"[\u30a0-\u30ffー]{2,}")


def keywords_of(title: str, headings: list[str], sentences: list[str], tags: list[str], limit: int = 12) -> list[str]:
    """Content words by weighted frequency (title and headings count more), tags first."""
    scores: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for weight, texts in ((3, [title]), (2, headings), (1, sentences)):
        for text in texts:
            for word in _WORD.findall(text):
                key = word.lower().strip("'’-")
                if len(key) < 4 or key in STOPWORDS:
                    continue
                scores[key] += weight
                spelled.setdefault(key, word.strip("'’-"))
            for word in _KATAKANA_WORD.findall(text):
                scores[word] += weight
                spelled.setdefault(word, word)
    ordered = [t for t in tags if t]
    seen = {t.lower() for t in ordered}
    for key, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if key not in seen:
            ordered.append(spelled[key])
            seen.add(key)
        if len(ordered) >= limit:
            break
    return ordered[:limit]


# --------------------------------------------------------------------------- entry points


def _same_heading(heading: str, title: str) -> bool:
    """An H1 that repeats the title (or its part before a colon) is not a section."""
    h = [w.lower() for w in _WORD.findall(heading)]
    t = {w.lower() for w in _WORD.findall(title)}
    if not h:
        return heading.strip() in title
    return sum(1 for w in h if w in t) / len(h) >= 0.8


def _truncate_blocks(blocks: list[Block], max_chars: int) -> tuple[list[Block], bool]:
    total, kept = 0, []
    for block in blocks:
        total += len(block[1]) + 1
        if total > max_chars and kept:
            return kept, True
        if total > max_chars:
            # one paragraph longer than the limit: keep its whole sentences that fit
            room, text = max_chars, block[1][: max_chars + 1]
            cut = max((m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)", text) if m.end() <= room), default=0)
            kept.append((block[0], text[:cut].strip() if cut else text[:room].rsplit(" ", 1)[0], block[2], block[3]))
            return kept, True
        kept.append(block)
    return kept, False


def parse_post(data: bytes | str, *, filename: str | None = None, max_bytes: int = 5_000_000, max_chars: int = 60_000,
               url: str | None = None, title: str | None = None) -> SourcePost:
    """Read `data` as a post. `url` and `title` override what the post says about itself."""
    text = decode(data, max_bytes=max_bytes)
    fmt = sniff_format(text, filename)
    meta: dict[str, object] = {}
    code_blocks = ordered = 0
    images: list[str] = []
    figures: list[Figure] = []
    # bound the work: only the head of a very long text can survive `max_chars` anyway
    # (HTML keeps more, as markup takes room)
    head_limit = max_chars * (20 if fmt == "html" else 3)
    clipped = len(text) > head_limit
    if clipped:
        text = text[:head_limit]
    if fmt == "markdown":
        meta, body = parse_front_matter(text)
        blocks, code_blocks, ordered = markdown_blocks(body, images)
        figures = markdown_figures(meta, body)
    elif fmt == "html":
        blocks, meta, code_blocks, images, ordered = html_blocks(text)
        figures = html_figures(text)
    else:
        meta, body = parse_front_matter(text)
        blocks = text_blocks(body)

    notes: list[str] = []
    found_title = str(meta.get("title") or meta.get("og_title") or "").strip()
    first_heading = next((b for b in blocks if b[0] == "heading" and b[2] == 1), None)
    if not found_title and first_heading:
        found_title = first_heading[1]
    if not found_title:
        found_title = str(meta.get("html_title") or "").strip()
    if first_heading and found_title and _same_heading(first_heading[1], found_title):
        blocks.remove(first_heading)
    if not found_title and fmt == "text" and blocks and blocks[0][0] == "paragraph" and len(blocks[0][1]) <= 120 and len(blocks) > 1:
        found_title = blocks.pop(0)[1]
    if not found_title:
        candidates = [b[1] for b in blocks if b[0] != "heading"]
        if not candidates:
            raise SourceError("the post has no text to repurpose; give it a title and at least one paragraph")
        first = split_sentences(candidates[0])[0]
        found_title = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0]
        notes.append("no title found: the first sentence stands in for it; add `title:` front matter or a # heading")
    found_title = inline_markdown(found_title)

    blocks, truncated = _truncate_blocks(blocks, max_chars)
    truncated = truncated or clipped
    if truncated:
        notes.append(f"the post is longer than {max_chars:,} characters: only the part before that was used (whole paragraphs, or whole sentences of one longer paragraph)")
    if code_blocks:
        notes.append(f"{code_blocks} code block(s) left out: code does not survive a social post")

    sentences: list[Sentence] = []
    section = ""
    for paragraph_no, (kind, content, level, role) in enumerate(blocks):
        if kind == "heading":
            section = content
            pieces = [content]
        else:
            pieces = split_sentences(content)
        for piece in pieces:
            sentences.append(Sentence(f"s{len(sentences) + 1}", piece, section, kind, len(sentences), paragraph_no, level, role))
    if not [s for s in sentences if s.kind != "heading"]:
        raise SourceError("the post has a title but no paragraphs or list items to repurpose; add some text")

    flagged_paragraphs = {s.paragraph for s in sentences if looks_like_instruction(s.text)}
    flagged = frozenset(s.id for s in sentences if s.paragraph in flagged_paragraphs)
    if looks_like_instruction(found_title):
        notes.append("the title reads like an instruction to a language model; it is treated as text")
    if flagged:
        notes.append(f"{len(flagged)} sentence(s) read like instructions to a language model; treated as content and never quoted")

    raw_tags = meta.get("tags") or meta.get("keywords") or []
    if isinstance(raw_tags, str):
        raw_tags = [t.strip() for t in raw_tags.split(",")]
    tags = tuple(dict.fromkeys(str(t).strip().lstrip("#") for t in raw_tags if str(t).strip()))  # type: ignore[union-attr]
    found_url = (url or str(meta.get("url") or meta.get("canonical") or meta.get("link") or "")).strip() or None
    if found_url and not re.match(r"(?i)^https?://[^\s/]+\.[^\s]+$", found_url):
        notes.append(f"url {found_url!r} is not an absolute http(s) URL; outputs carry no link (pass --url)")
        found_url = None
    if title:
        found_title = title.strip()

    prose_sentences = [s.text for s in sentences if s.id not in flagged]
    language = detect_language(" ".join([found_title, *prose_sentences]))
    headings = tuple(s.text for s in sentences if s.kind == "heading")
    keywords = keywords_of(found_title, list(headings), [s.text for s in sentences if s.kind != "heading" and s.id not in flagged], list(tags))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    raw_description = meta.get("description") or meta.get("subtitle") or meta.get("summary") or meta.get("excerpt") or ""
    description = inline_markdown(str(raw_description)) if isinstance(raw_description, str) else ""
    if looks_like_instruction(description):
        description = ""
    return SourcePost(
        title=found_title, url=found_url, tags=tags, language=language, sentences=tuple(sentences), headings=headings, format=fmt,
        source_hash=digest, code_blocks=code_blocks, truncated=truncated, flagged=flagged, notes=tuple(notes), keywords=tuple(keywords),
        description=description, images=tuple(dict.fromkeys(images)), ordered_items=ordered, figures=tuple(figures),
    )


def read_post(path: Path, *, max_bytes: int = 5_000_000, max_chars: int = 60_000, url: str | None = None) -> SourcePost:
    if not path.exists():
        raise SourceError(f"{path} does not exist; give the path of a .md, .html or .txt post")
    if path.is_dir():
        raise SourceError(f"{path} is a folder; give one post file")
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: split it or raise CAMPAIGNS_MAX_SOURCE_BYTES")
    post = parse_post(path.read_bytes(), filename=path.name, max_bytes=max_bytes, max_chars=max_chars, url=url)
    return replace(post, folder=str(path.resolve().parent))

