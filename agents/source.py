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
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

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


# --------------------------------------------------------------------------- blocks

Block = tuple[Literal["heading", "paragraph", "list_item"], str, int, str]  # kind, text, heading level (0 otherwise), role

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_BARE_URL = re.compile(r"\bhttps?://\S+")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


_FOOTNOTE = re.compile(r"\[\^[^\]]+\]")
_JSX_EXPR = re.compile(r"\{[^{}]*\}")
_CALLOUT_LABEL = re.compile(
    r"^(?:[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2757\u2139\uFE0F]\s*)+(?:[\w'’ ]{0,30}?(?:tip|note|hint|info|warning|caution|important)\s*:\s*)?"
    r"|^\[!(?:note|tip|important|warning|caution|info)\]\s*"
    r"|^(?:pro tip|tip|note|hint|heads up|warning|caution|important|info|n\.b\.)\s*:\s*",
    re.IGNORECASE,
)
_ADMONITION = re.compile(r"^(:{3,}|!{3}|\?{3}\+?)\s*(\w+)?")


def strip_callout_label(text: str) -> tuple[str, bool]:
    """"💡 Acme Tip: Want more?" → ("Want more?", True): the marker and label of a callout, which are never copy."""
    stripped = _CALLOUT_LABEL.sub("", text, count=1).strip()
    return (stripped, True) if stripped != text.strip() else (text, False)


def _inline_markdown(text: str, images: list[str] | None = None) -> str:
    text = re.sub(r"<!--.*?-->", "", text)
    if images is not None:
        images.extend(alt.strip() for alt in re.findall(r"!\[([^\]]*)\]\([^)]*\)", text) if alt.strip())
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images carry no prose
    text = _FOOTNOTE.sub("", text)
    text = _JSX_EXPR.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_AUTOLINK.sub("", text)
    text = _BARE_URL.sub("", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    for _ in range(2):
        text = _MD_EMPHASIS.sub(r"\2", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return " ".join(text.split())


_BOLD_LINE = re.compile(r"^(\*\*|__)([^*_]{2,60})\1:?$")
_JSX_OPEN = re.compile(r"^<([A-Za-z][\w.]*)\b")
_MDX_STATEMENT = re.compile(r"^(import\s.+\sfrom\s|import\s+['\"]|export\s+(const|default|function|let)\b)")
_CALLOUT_COMPONENT = re.compile(r"(?i)^(callout|admonition|note|tip|info|warning|alert|aside|hint)$")


def markdown_blocks(text: str, images: list[str] | None = None) -> tuple[list[Block], int, int]:
    """Blocks of a Markdown (or MDX) body, the number of code blocks and of numbered list items."""
    blocks: list[Block] = []
    code_blocks = 0
    ordered = 0
    paragraph: list[str] = []
    fence: str | None = None
    previous_blank = True
    in_comment = False
    in_indented_code = False
    in_tag = False  # inside a multi-line JSX/HTML opening tag (its attributes are not prose)
    callout_depth = 0  # inside :::tip ... ::: or <Callout> ... </Callout>
    role = ""

    def flush() -> None:
        nonlocal role
        if paragraph:
            joined = _inline_markdown(" ".join(paragraph), images)
            joined, labelled = strip_callout_label(joined)
            this_role = "callout" if (callout_depth or labelled or role == "callout") else role
            bold = _BOLD_LINE.match(" ".join(paragraph).strip())
            if bold and not this_role and not re.search(r"[.!?]$", bold.group(2)):
                blocks.append(("heading", _inline_markdown(bold.group(2)), 6, ""))
            elif joined:
                blocks.append(("paragraph", joined, 0, this_role))
            paragraph.clear()
        role = ""

    for line in text.split("\n"):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if in_tag:
            in_tag = ">" not in stripped
            continue
        if _MDX_STATEMENT.match(stripped) and not paragraph:
            continue
        admonition = _ADMONITION.match(stripped)
        if admonition and (stripped.startswith(":::") or admonition.group(2)):
            flush()
            if stripped.startswith(":::") and not admonition.group(2):
                callout_depth = max(callout_depth - 1, 0)
            else:
                callout_depth += 1
            continue
        jsx = _JSX_OPEN.match(stripped) or re.match(r"^</([A-Za-z][\w.]*)\s*>", stripped)
        inner = _inline_markdown(stripped) if jsx else ""
        if jsx and (not paragraph or not inner or stripped.startswith("</")):
            # a component or HTML tag on its own line: markup, not prose
            flush()
            name = jsx.group(1)
            closing = stripped.startswith("</")
            if _CALLOUT_COMPONENT.match(name.split(".")[-1]):
                callout_depth += -1 if closing else (0 if stripped.endswith("/>") else 1)
                callout_depth = max(callout_depth, 0)
            if not closing and not re.search(r">", stripped):
                in_tag = True
                continue
            if not inner or inner == stripped or stripped.endswith("/>"):
                flush()
                continue
            # a tag wrapping text on one line: keep the text
            stripped = inner
        if in_comment:
            in_comment = "-->" not in line
            continue
        if stripped.startswith("<!--") and "-->" not in stripped:
            flush()
            in_comment = True
            continue
        if stripped.startswith(("```", "~~~")):
            flush()
            fence = stripped[:3]
            code_blocks += 1
            continue
        if not stripped:
            flush()
            previous_blank = True
            continue
        indented = line.startswith(("    ", "\t"))
        if indented and (in_indented_code or (previous_blank and not paragraph and not (blocks and blocks[-1][0] == "list_item"))):
            if not in_indented_code:
                code_blocks += 1
            in_indented_code = True
            continue
        in_indented_code = False
        previous_blank = False
        if (stripped.startswith("|") and stripped.endswith("|")) or stripped.count("|") >= 2 or re.fullmatch(r"[|:\- ]{3,}", stripped):
            flush()
            continue  # tables do not read as sentences
        if re.match(r"^\[\^[^\]]+\]:", stripped) or re.match(r"^\[[^\]]+\]:\s*\S+$", stripped):
            flush()
            continue  # footnote and link definitions
        if re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped):
            flush()
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            content = _inline_markdown(re.sub(r"\s*\{#[\w-]+\}\s*$", "", heading.group(2)), images)
            if content:
                blocks.append(("heading", content, len(heading.group(1)), ""))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            if re.match(r"^\s*\d", line):
                ordered += 1
            content = re.sub(r"^\[[ xX]\]\s*", "", _inline_markdown(item.group(1), images))
            content, labelled = strip_callout_label(content)
            if content:
                blocks.append(("list_item", content, 0, "callout" if (callout_depth or labelled) else ""))
            continue
        if stripped.startswith(">"):
            stripped = stripped.lstrip("> ").strip()
            if re.fullmatch(r"(?i)\[!(note|tip|important|warning|caution|info)\]", stripped):
                flush()
                role = "callout"
                continue
            if not paragraph and role != "callout":
                role = "quote"
            if not stripped:
                continue
        if blocks and blocks[-1][0] == "list_item" and not paragraph and line.startswith((" ", "\t")):
            kind, content, level, item_role = blocks.pop()
            blocks.append((kind, f"{content} {_inline_markdown(stripped, images)}", level, item_role))
            continue
        paragraph.append(stripped)
    flush()
    return blocks, code_blocks, ordered


class _HTMLBlocks(HTMLParser):
    BLOCK_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figcaption", "dd", "dt", "td", "th", "div", "section", "article"}
    SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "form", "button"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.meta: dict[str, object] = {}
        self.code_blocks = 0
        self._buffer: list[str] = []
        self._kind: tuple[str, int] = ("paragraph", 0)
        self._role = ""
        self.images: list[str] = []
        self.ordered = 0
        self._lists: list[str] = []
        self._skip = 0
        self._pre = 0
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag in self.SKIP_TAGS:
            self._skip += 1
            return
        if tag == "pre":
            self._flush()
            self._pre += 1
            self.code_blocks += 1
            return
        if tag == "img" and values.get("alt", "").strip() and not self._skip:
            self.images.append(values["alt"].strip())
        if tag in ("ol", "ul"):
            self._lists.append(tag)
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            prop = (values.get("property") or values.get("name") or "").lower()
            if prop in ("og:url",) and values.get("content"):
                self.meta.setdefault("url", values["content"])
            elif prop in ("og:title",) and values.get("content"):
                self.meta.setdefault("og_title", values["content"])
            elif prop in ("description", "og:description") and values.get("content"):
                self.meta.setdefault("description", values["content"])
            elif prop in ("keywords", "article:tag") and values.get("content"):
                tags = [t.strip() for t in values["content"].split(",") if t.strip()]
                self.meta["tags"] = [*self.meta.get("tags", []), *tags]  # type: ignore[misc]
        elif tag == "link" and values.get("rel", "").lower() == "canonical" and values.get("href"):
            self.meta["url"] = values["href"]
        elif tag in self.BLOCK_TAGS:
            self._flush()
            if tag.startswith("h") and len(tag) == 2:
                self._kind = ("heading", int(tag[1]))
            elif tag == "li":
                self._kind = ("list_item", 0)
                if self._lists and self._lists[-1] == "ol":
                    self.ordered += 1
            else:
                self._kind = ("paragraph", 0)
            css = values.get("class", "").lower()
            if tag == "blockquote":
                self._role = "quote"
            if re.search(r"\b(callout|admonition|alert|note|tip|warning)\b", css):
                self._role = "callout"
        elif tag == "br":
            self._buffer.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP_TAGS:
            self._skip = max(self._skip - 1, 0)
            return
        if tag == "pre":
            self._pre = max(self._pre - 1, 0)
            return
        if tag in ("ol", "ul") and self._lists:
            self._lists.pop()
        if tag == "title":
            self._in_title = False
        elif tag in self.BLOCK_TAGS:
            self._flush()
            if tag in ("blockquote", "div", "aside", "section"):
                self._role = ""

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not self._skip and not self._pre:
            self._buffer.append(data)

    def _flush(self) -> None:
        text = _BARE_URL.sub("", " ".join("".join(self._buffer).split()))
        text, labelled = strip_callout_label(text)
        if text:
            self.blocks.append((self._kind[0], text, self._kind[1], "callout" if labelled else self._role))  # type: ignore[arg-type]
        self._buffer = []
        self._kind = ("paragraph", 0)

    def close(self) -> None:
        super().close()
        self._flush()
        if self._title and "title" not in self.meta:
            # "Post title | Site name": the site's name is not part of the post's title
            self.meta["html_title"] = re.split(r"\s+[|–—·]\s+|\s+-\s+", " ".join("".join(self._title).split()))[0]


def html_blocks(text: str) -> tuple[list[Block], dict[str, object], int, list[str], int]:
    parser = _HTMLBlocks()
    parser.feed(text)
    parser.close()
    return parser.blocks, parser.meta, parser.code_blocks, parser.images, parser.ordered


def text_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        if not lines:
            continue
        if all(_LIST_ITEM.match(ln) for ln in lines):
            blocks.extend(("list_item", " ".join(_LIST_ITEM.match(ln).group(1).split()), 0, "") for ln in lines)  # type: ignore[union-attr]
        else:
            blocks.append(("paragraph", _BARE_URL.sub("", " ".join(" ".join(lines).split())), 0, ""))
    return [b for b in blocks if b[1]]


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
    # bound the work: only the head of a very long text can survive `max_chars` anyway
    # (HTML keeps more, as markup takes room)
    head_limit = max_chars * (20 if fmt == "html" else 3)
    clipped = len(text) > head_limit
    if clipped:
        text = text[:head_limit]
    if fmt == "markdown":
        meta, body = parse_front_matter(text)
        blocks, code_blocks, ordered = markdown_blocks(body, images)
    elif fmt == "html":
        blocks, meta, code_blocks, images, ordered = html_blocks(text)
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
    found_title = _inline_markdown(found_title)

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
    description = _inline_markdown(str(raw_description)) if isinstance(raw_description, str) else ""
    if looks_like_instruction(description):
        description = ""
    return SourcePost(
        title=found_title, url=found_url, tags=tags, language=language, sentences=tuple(sentences), headings=headings, format=fmt,
        source_hash=digest, code_blocks=code_blocks, truncated=truncated, flagged=flagged, notes=tuple(notes), keywords=tuple(keywords),
        description=description, images=tuple(dict.fromkeys(images)), ordered_items=ordered,
    )


def read_post(path: Path, *, max_bytes: int = 5_000_000, max_chars: int = 60_000, url: str | None = None) -> SourcePost:
    if not path.exists():
        raise SourceError(f"{path} does not exist; give the path of a .md, .html or .txt post")
    if path.is_dir():
        raise SourceError(f"{path} is a folder; give one post file")
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: split it or raise CAMPAIGNS_MAX_SOURCE_BYTES")
    return parse_post(path.read_bytes(), filename=path.name, max_bytes=max_bytes, max_chars=max_chars, url=url)

