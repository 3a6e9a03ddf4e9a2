"""A post's body as blocks: Markdown (and MDX), HTML and plain text into headings, paragraphs and list items.

Part of reading a post (`agents.source`). Code, tables, MDX imports, JSX/HTML components,
admonition and callout markers, footnotes and image syntax are left out here; callouts and
quotations are kept with their role, image alt texts apart.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

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


def inline_markdown(text: str, images: list[str] | None = None) -> str:
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
            joined = inline_markdown(" ".join(paragraph), images)
            joined, labelled = strip_callout_label(joined)
            this_role = "callout" if (callout_depth or labelled or role == "callout") else role
            bold = _BOLD_LINE.match(" ".join(paragraph).strip())
            if bold and not this_role and not re.search(r"[.!?]$", bold.group(2)):
                blocks.append(("heading", inline_markdown(bold.group(2)), 6, ""))
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
        inner = inline_markdown(stripped) if jsx else ""
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
            content = inline_markdown(re.sub(r"\s*\{#[\w-]+\}\s*$", "", heading.group(2)), images)
            if content:
                blocks.append(("heading", content, len(heading.group(1)), ""))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            if re.match(r"^\s*\d", line):
                ordered += 1
            content = re.sub(r"^\[[ xX]\]\s*", "", inline_markdown(item.group(1), images))
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
            blocks.append((kind, f"{content} {inline_markdown(stripped, images)}", level, item_role))
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
