"""Understanding a post before writing about it: what it claims, how central each sentence is, what it is.

`digest(source, voice)` reads a `SourcePost` once and keeps:

* the **candidates**: sentences that may be quoted as copy — not a heading, not a callout, not
  flagged, not holding a word the brand voice avoids, and standing alone (`copyrules.standalone_problem`);
* their **salience**: TextRank centrality over the whole body (sentence graph weighted by shared
  content-word stems, normalised by the log of both lengths, PageRank by power iteration in
  numpy), boosted by title, description and heading words, by concrete content (figures,
  named things) and by the lead paragraph, and damped for very short or very long sentences;
* the **claim headings** (section headings that are not structure: no "Conclusion", "FAQ",
  "About Acme"), **key phrases** (repeated two- and three-word phrases and the strongest single
  words, title and headings weighing more), **steps** (numbered lists, how-to headings),
  **questions** the post asks and answers, **quotations**, and **number claims**.

Everything is extractive and deterministic; the sentence graph is bounded to the first
`MAX_GRAPH` candidates so a huge post stays fast.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from agents.leo.copyrules import GENERIC_TAGS, content_words, is_boilerplate_section, is_generic_heading, standalone_problem
from agents.leo.voice import BrandVoice
from agents.source import STOPWORDS, Sentence, SourcePost

MAX_GRAPH = 400
_DIGIT = re.compile(r"\d")
_YEAR_OR_DATE = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}(?:st|nd|rd|th)\b")
_NAMED = re.compile(r"(?<=[a-z,;] )[A-Z][\w’'-]+")
_HOWTO_TITLE = re.compile(r"(?i)^(?:how\s+(?:to|we|i|you)\b|a\s+guide|the\s+guide|guide\s+to|\d+\s+(?:ways|steps|tips|things)|step[- ]by[- ]step|"
                          r"getting\s+\w+\s+right|setting\s+up|building|migrating|choosing)")
_STEP_HEADING = re.compile(r"(?i)^(?:step\s+\d+|\d+[.)]\s|first,|then\b)")
_QUOTATION = re.compile(r"[“\"].{12,}[”\"]\s*,?\s*(?:said|says|writes|wrote|explains|adds)\b|\b(?:said|says)\s*,?\s*[“\"]")
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]")


def stem(word: str) -> str:
    word = word.lower().strip("'’-")
    for suffix in ("ing", "ies", "es", "s", "ed", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in STOPWORDS]


def word_count(text: str) -> int:
    return len(text.split()) + len(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]", text)) // 2


def textrank(token_lists: list[list[str]], damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """PageRank over the sentence graph: edge weight = shared terms / (log |a| + log |b|)."""
    n = len(token_lists)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.ones(1)
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, tokens in enumerate(token_lists):
        for t in set(tokens):
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
    matrix = np.zeros((n, max(len(vocab), 1)), dtype=np.float32)
    if rows:
        matrix[rows, cols] = 1.0
    overlap = matrix @ matrix.T
    lengths = np.log(np.maximum(matrix.sum(axis=1), 1.0) + 1.0)
    weights = overlap / (lengths[:, None] + lengths[None, :])
    np.fill_diagonal(weights, 0.0)
    out_sum = weights.sum(axis=1)
    transition = np.divide(weights, out_sum[:, None], out=np.full_like(weights, 1.0 / n), where=out_sum[:, None] > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = (1 - damping) / n + damping * (transition.T @ rank)
        if np.abs(new - rank).sum() < 1e-6:
            rank = new
            break
        rank = new
    return rank / rank.max()


@dataclass
class Candidate:
    sentence: Sentence
    score: float
    number: bool
    question: bool

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def id(self) -> str:
        return self.sentence.id


@dataclass
class Digest:
    source: SourcePost
    ranked: list[Candidate]  # standalone candidates, most salient first
    in_order: list[Candidate]  # the same, in the post's order
    claim_headings: list[Sentence]
    key_phrases: list[str]
    steps: list[Sentence]
    questions: list[Candidate]
    quotations: list[Candidate]
    howto: bool
    lead: Candidate | None
    hashtag_words: list[str] = field(default_factory=list)
    voice: BrandVoice = field(default_factory=BrandVoice)

    @property
    def main_claim(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None

    @property
    def numbers(self) -> list[Candidate]:
        return [c for c in self.ranked if c.number]

    def best(self, exclude: set[str] = frozenset(), *, prose: bool = True, max_chars: int | None = None, shift: int = 0) -> Candidate | None:
        pool = [c for c in self.ranked if c.id not in exclude and (not prose or c.sentence.kind == "paragraph" or not self._has_prose())
                and (max_chars is None or len(c.text) <= max_chars)]
        return pool[shift % len(pool)] if pool else None

    def _has_prose(self) -> bool:
        return any(c.sentence.kind == "paragraph" for c in self.ranked)

    def support(self, exclude: set[str], count: int, *, max_chars: int = 400, skip: int = 0) -> list[Candidate]:
        """The next `count` most salient sentences not in `exclude` (after skipping `skip`, wrapping round), in the post's order."""
        pool = [c for c in self.ranked if c.id not in exclude and len(c.text) <= max_chars and not c.question]
        if pool and skip:
            k = (skip * max(1, min(count, len(pool) - count))) % len(pool) if len(pool) > count else skip % len(pool)
            pool = pool[k:] + pool[:k]
        return sorted(pool[:count], key=lambda c: c.sentence.position)


def _number_claim(text: str) -> bool:
    return bool(_DIGIT.search(_YEAR_OR_DATE.sub("", text)))


_ADVERBS = frozenset("early late later fast often well soon again away back enough still already ahead instead together".split())


def key_phrases(source: SourcePost, usable: list[Sentence], limit: int = 12) -> list[str]:
    """Repeated two- and three-word phrases without stopwords, then strong single words; title and headings weigh more."""
    scores: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    texts = [(3, source.title), (2, source.description), *((2, h) for h in source.headings if not is_generic_heading(h)),
             *((1, s.text) for s in usable)]
    places: dict[str, set[int]] = {}
    for index, (weight, text) in enumerate(texts):
        for chunk in re.split(r"[,.;:!?()“”\"'—–]+", text):
            words = _WORD.findall(chunk)
            for size in (2, 3):
                for i in range(len(words) - size + 1):
                    gram = words[i : i + size]
                    last = gram[-1].lower()
                    if any(w.lower() in STOPWORDS or len(w) < 3 for w in gram) or last.endswith("ly") or last in _ADVERBS:
                        continue
                    key = " ".join(stem(w) for w in gram)
                    scores[key] += weight
                    places.setdefault(key, set()).add(index)
                    spelled.setdefault(key, " ".join(gram))
    # a phrase found in two places of the post (title, description, a heading, a sentence) is a phrase the post uses
    phrases = [spelled[k] for k, v in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if v >= 2 and len(places[k]) >= 2]
    out: list[str] = []
    for phrase in phrases:
        if not any(stem(phrase.split()[0]) in (stem(w) for w in o.split()) and len(set(map(stem, phrase.split())) & set(map(stem, o.split()))) >= 1
                   for o in out):
            out.append(phrase)
        if len(out) >= limit:
            break
    return out


def digest(source: SourcePost, voice: BrandVoice | None = None) -> Digest:
    voice = voice or BrandVoice()
    # callouts and the text of boilerplate sections ("About Acme", "Press contacts") are never copy
    usable = [s for s in source.usable if s.role != "callout" and not is_boilerplate_section(s.section)][: MAX_GRAPH * 2]
    candidates_s = [s for s in usable if standalone_problem(s.text) is None and not is_generic_heading(s.text)
                    and voice.allows(s.text) and 3 <= word_count(s.text) <= 60][:MAX_GRAPH]
    focus = {stem(w) for w in _terms(f"{source.title} {source.description}")}
    heading_terms = {stem(w) for h in source.headings if not is_generic_heading(h) for w in _terms(h)}
    tokens = [_terms(s.text) for s in candidates_s]
    central = textrank(tokens)
    first_paragraph = next((s.paragraph for s in usable if s.kind == "paragraph"), None)
    scored: list[Candidate] = []
    for s, toks, c in zip(candidates_s, tokens, central):
        words = word_count(s.text)
        terms = set(toks)
        boost = 1.0
        boost += 0.8 * len(terms & focus) / max(len(focus), 1) + 0.3 * len(terms & heading_terms) / max(len(heading_terms), 1)
        number = _number_claim(s.text)
        if number:
            boost += 0.3
        if _NAMED.search(s.text):
            boost += 0.1
        if s.paragraph == first_paragraph:
            boost += 0.35
        length = 1.0 if 8 <= words <= 30 else 0.6 if words < 8 else 0.75 if words <= 40 else 0.45
        if s.kind == "list_item":
            length *= 0.7
        if s.role == "quote":
            length *= 0.8
        question = s.text.rstrip().endswith(("?", "？"))
        if question:
            length *= 0.6
        scored.append(Candidate(s, float(c) * boost * length + 1e-6 * (len(candidates_s) - s.position / 1000), number, question))
    ranked = sorted(scored, key=lambda c: (-c.score, c.sentence.position))
    in_order = sorted(scored, key=lambda c: c.sentence.position)

    headings = [s for s in source.sentences if s.kind == "heading" and s.id not in source.flagged]
    claim_headings = [h for h in headings if not is_generic_heading(h.text) and standalone_problem(h.text) is None and voice.allows(h.text)]
    howto = bool(_HOWTO_TITLE.match(source.title)) or source.ordered_items >= 3 or sum(1 for h in headings if _STEP_HEADING.match(h.text)) >= 2
    ordered_items = [s for s in usable if s.kind == "list_item" and standalone_problem(s.text) is None and voice.allows(s.text)]
    steps = claim_headings if (howto and len(claim_headings) >= 3) else ordered_items if len(ordered_items) >= 2 else claim_headings
    by_id = {c.id: c for c in in_order}
    questions = []
    for c in in_order:
        if c.question and word_count(c.text) >= 5:
            after = [x for x in in_order if x.sentence.position > c.sentence.position and not x.question][:1]
            if after:
                questions.append(c)
    quotations = [c for c in in_order if (c.sentence.role == "quote" or _QUOTATION.search(c.text)) and c.id in by_id]
    lead = next((c for c in in_order if c.sentence.kind == "paragraph"), None)
    phrases = [k for k in key_phrases(source, usable) if voice.allows(k)]
    return Digest(source, ranked, in_order, claim_headings, phrases, steps, questions, quotations, howto, lead,
                  hashtag_words=[w for w in _hashtag_words(source, phrases) if voice.allows(w)], voice=voice)


def _hashtag_words(source: SourcePost, phrases: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    candidates = [t for t in source.tags if t.lower() not in GENERIC_TAGS]
    candidates += [p for p in phrases[:4] if len(p.split()) == 2]
    body = " ".join(s.text.lower() for s in source.usable)
    title = source.title.lower()
    candidates += [k for k in source.keywords if k.lower() not in GENERIC_TAGS and k not in source.tags
                   and (k.lower() in title or body.count(k.lower()) >= 3)][:4]
    for word in candidates:
        key = stem(re.sub(r"[\s_-]+", "", word.lower()))
        if key and key not in seen:
            seen.add(key)
            out.append(word)
    return out[:10]


def title_core(title: str) -> str:
    """The title's part before a colon or dash when that part can stand alone, without end punctuation."""
    title = title.strip()
    head = re.split(r"[:：]|\s[–—-]\s", title, maxsplit=1)[0].strip()
    if head != title and word_count(head) >= 2:
        title = head
    return title.rstrip(".:;!。：").strip()


def content_overlap(a: str, b: str) -> float:
    wa, wb = content_words(a), content_words(b)
    return len(wa & wb) / max(len(wa), 1)
