"""Copy a marketer would post: every draft of every post of the corpus scored against the copy rules, zero violations.

The corpus (tests/agents/leo/corpus/) holds announcements, listicles, how-tos, comparisons,
opinion pieces, posts with tables, code, callouts and MDX components, with and without a
front matter description. Besides `agents.leo.copyrules`, each rule is also checked here
with a plain, independent test (word lists, the post's own title and sentences).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

from agents.leo.copyrules import copy_problems, is_generic_heading, near_duplicate, standalone_problem
from agents.leo.outputs import Output
from agents.leo.voice import BrandVoice
from agents.leo.repurpose import repurpose
from agents.settings import AgentSettings
from agents.source import read_post
from publishers.text import find_urls

CORPUS = Path(__file__).parent / "corpus"
POSTS = sorted(p.name for p in CORPUS.iterdir())
FORMATS = ["x", "linkedin", "facebook", "instagram", "email", "ads"]
GENERIC = {"why?", "conclusion", "introduction", "summary", "tl;dr", "faq", "faqs", "press contacts", "for example:", "let me explain.",
           "guides", "table of contents", "further reading", "about larkspur", "what, why, and how?", "wrapping up", "the verdict",
           "next steps", "the results", "the problem", "the solution", "what's new", "pricing", "availability", "learn more:"}
CONNECTORS = ("but ", "and ", "so ", "to avoid this", "using this", "for example", "this ", "that ", "these ", "it ", "they ", "(",
              "however", "also ", "let me explain", "we think so")
MARKUP = re.compile(r"```|<[A-Za-z/][^>]*>|\|\s*-{3}|^\s*\|.+\|\s*$|:::|\[!\w+\]|\*\*|!\[|\]\(|\{[^}]*\}|^#{1,6} |^> |💡", re.M)


@lru_cache(maxsize=None)
def _result(name: str):
    settings = AgentSettings(llm_engine="offline", brand_hashtags=[])
    return repurpose(read_post(CORPUS / name), FORMATS, 3, settings=settings)


def _without_links(text: str) -> str:
    for url in find_urls(text):
        text = text.replace(url, " ")
    return text


def _hook(o: Output) -> str:
    first_line = next(line for line in (o.text or "").split("\n") if line.strip())
    return re.split(r"(?<=[.!?])\s+", first_line.strip(), maxsplit=1)[0]


def test_the_corpus_has_the_variety_the_issue_asks_for() -> None:
    assert len(POSTS) >= 20
    sources = {n: _result(n).source for n in POSTS}
    raw = {n: (CORPUS / n).read_text(encoding="utf-8") for n in POSTS}
    assert sum(1 for s in sources.values() if s.description) >= 5
    assert sum(1 for n, s in sources.items() if not s.description and raw[n].startswith("---")) >= 5
    assert sum(1 for s in sources.values() if s.code_blocks) >= 1
    assert sum(1 for text in raw.values() if re.search(r"^\|.*\|$", text, re.M) or "<table" in text) >= 3
    assert sum(1 for s in sources.values() if any(x.role == "callout" for x in s.sentences)) >= 3
    assert sum(1 for s in sources.values() if s.ordered_items >= 3) >= 3
    assert {s.format for s in sources.values()} == {"markdown", "html", "text"}
    assert any(n.endswith(".mdx") for n in POSTS) and any(not raw[n].startswith("---") for n in POSTS)
    assert {"en", "de"} <= {s.language for s in sources.values()}


@pytest.mark.parametrize("name", POSTS)
def test_every_draft_passes_every_rule(name: str) -> None:
    result = _result(name)
    assert result.passed, result.failures()
    problems = [f"{o.format} v{o.variant}: {p}" for o in result.outputs for p in copy_problems(o, result.source)]
    assert problems == []
    assert {o.format for o in result.outputs} == set(FORMATS), result.notes


@pytest.mark.parametrize("name", POSTS)
def test_no_generic_heading_and_no_fragment_anywhere(name: str) -> None:
    for o in _result(name).outputs:
        lines = [*(o.headlines or []), *(o.descriptions or []), o.subject or "", o.primary_text or ""]
        if o.format not in ("email", "ads"):
            lines.append(_hook(o))
        lines += [_hook(o.model_copy(update={"text": part})) for part in (o.thread or [])[:-1]]
        for line in filter(None, lines):
            assert line.strip().lower() not in GENERIC, (o.format, o.variant, line)
            assert not line.strip().strip("“”\"").lower().startswith(CONNECTORS), (o.format, o.variant, line)
            assert not line.rstrip().endswith(":"), (o.format, o.variant, line)
            assert not (line.rstrip().endswith("?") and len(line.split()) < 5), (o.format, o.variant, line)
            assert "@" not in line and not re.match(r"(?i)^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d", line)


@pytest.mark.parametrize("name", POSTS)
def test_subjects_are_the_title_or_a_claim_of_the_post(name: str) -> None:
    result = _result(name)
    sentences = [s.text for s in result.source.sentences]
    title_words = {w.lower() for w in re.findall(r"\w+", result.source.title)}
    for o in result.outputs:
        if o.format != "email":
            continue
        words = {w.lower() for w in re.findall(r"\w+", o.subject)}
        from_title = len(words & title_words) / len(words) >= 0.6
        assert from_title or any(s.startswith(o.subject.rstrip(".")) for s in sentences), o.subject
        assert len(o.subject) <= 60 and o.preview_text and o.preview_text != o.subject


@pytest.mark.parametrize("name", POSTS)
def test_ads_have_no_duplicate_headline_and_complete_descriptions(name: str) -> None:
    for o in _result(name).outputs:
        if o.format != "ads":
            continue
        lowered = [h.lower().rstrip(".") for h in o.headlines]
        assert len(set(lowered)) == len(lowered)
        for a in range(len(lowered)):
            for b in range(a + 1, len(lowered)):
                assert not (lowered[a] in lowered[b] or lowered[b] in lowered[a]), (lowered[a], lowered[b])
        assert all(d.rstrip()[-1] in ".!?" and d.lstrip("“\"")[0].isupper() for d in o.descriptions)


@pytest.mark.parametrize("name", POSTS)
def test_no_markup_leaks(name: str) -> None:
    for o in _result(name).outputs:
        visible = [o.text or "", o.subject or "", o.preview_text or "", o.primary_text or "", o.alt_text or "", *(o.thread or []),
                   *(o.headlines or []), *(o.descriptions or [])]
        for text in visible:
            found = MARKUP.search(_without_links(text))
            assert found is None, (o.format, o.variant, found and found.group(0), text[:120])
        assert "import " not in (o.text or "") and "QUILL_KEY" not in (o.text or "")


@pytest.mark.parametrize("name", POSTS)
def test_hashtags_name_the_subject_not_a_blog_category(name: str) -> None:
    for o in _result(name).outputs:
        for tag in o.hashtags or []:
            assert tag.lower() not in {"guides", "news", "opinion", "blog", "tips", "updates"}, (o.format, tag)


def test_angles_are_chosen_only_where_the_post_supports_them() -> None:
    funding = _result("01-funding-announcement.md")
    howto = _result("03-howto-code.md")
    assert "how-to" not in {o.angle for o in funding.outputs}
    assert "how-to" in {o.angle for o in howto.outputs}
    assert "step by step" not in " ".join(o.text or "" for o in funding.outputs).lower()
    quoted = _result("21-interview-quote.md")
    assert any(o.angle == "quote" for o in repurpose(quoted.source, ["linkedin"], 6, settings=AgentSettings(llm_engine="offline")).outputs)


def test_variations_differ_in_hook_and_support() -> None:
    for name in POSTS:
        outs = [o for o in _result(name).outputs if o.format == "linkedin"]
        hooks = [_hook(o) for o in outs]
        assert len(set(hooks)) == len(hooks), (name, hooks)
        support = [tuple(r.id for r in o.source_sentences if r.text not in _hook(o) and _hook(o) not in r.text) for o in outs]
        assert len(set(support)) == len(support), (name, support)


def test_the_rules_reject_what_the_issue_found() -> None:
    fragments = ["Why?", "To avoid this problem, we track three things instead.", "Using this formula, you save time.",
                 "What, why, and how?", "Is this change sustainable?", "Jun 10th, 2021 Larkspur, the scheduling app, announced it.",
                 "(we can offer further discounts if your team is larger)", "But that posed a problem: teams kept going.",
                 "Write to press@larkspur.example today.", "For example:", "Let me explain.", "See https://example.com for more.",
                 "This is why it works.", "You still need a plan, though, because huts fill up."]
    for text in fragments:
        assert standalone_problem(text) is not None or is_generic_heading(text), text
    for heading in ["Conclusion", "Introduction", "Summary", "FAQ", "FAQs", "tl;dr", "Table of contents", "Further reading",
                    "About Larkspur", "Press contacts", "Why?", "What, why, and how?", "With Larkspur", "Guides", "Next steps"]:
        assert is_generic_heading(heading), heading
    for good in ["Larkspur raises $12M to bring shared calendars to field teams", "Field teams lose about 6 hours a week.",
                 "Book the huts early", "Merino or synthetic: which base layer should you buy?"]:
        assert standalone_problem(good, min_words=1) is None and not is_generic_heading(good), good
    assert near_duplicate("Book the huts early", "Book huts early.") and not near_duplicate("Book the huts early", "Pack light")


def test_a_model_style_output_with_a_fragment_hook_fails_the_copy_check() -> None:
    source = _result("05-opinion.md").source
    bad = Output(format="x", variant=1, angle="benefit", engine="m", source_sentences=[], text="To avoid this problem, we track three things.")
    assert any("connector" in p for p in copy_problems(bad, source))
    ads = Output(format="ads", variant=1, angle="benefit", engine="m", source_sentences=[], headlines=["Conclusion", "Open rates", "Open rate"],
                 descriptions=["Clicks show intent", "Replies show trust."], primary_text="Open rates became a guess.")
    found = " ".join(copy_problems(ads, source))
    assert "generic heading" in found and "repeats another headline" in found and "not a complete sentence" in found
    mail = Output(format="email", variant=1, angle="benefit", engine="m", source_sentences=[], subject="Unrelated words entirely here",
                  preview_text="Clicks show intent.")
    assert any("neither the title" in p for p in copy_problems(mail, source))


def test_each_copy_rule_names_its_reason() -> None:
    source = _result("05-opinion.md").source
    assert standalone_problem("  ") == "empty"
    assert "colon" in standalone_problem("Three things matter here:")
    assert "markup" in standalone_problem("Use the <Tabs> component today")
    assert "unbalanced" in standalone_problem("Clicks show intent (and trust today")
    assert is_generic_heading("Step 3") and is_generic_heading("About the author") and is_generic_heading("What to look for")
    assert is_generic_heading("On the trek") and is_generic_heading("Anything else") and is_generic_heading("1. Conclusion")
    post = Output(format="x", variant=1, angle="benefit", engine="m", source_sentences=[], text="Clicks show intent, replies show trust.",
                  hashtags=["Guides", "metrics"], thread=["Clicks show intent, replies show trust.", "**Replies** show trust.",
                                                          "Read the full post:\nhttps://x.example/p"])
    found = " ".join(copy_problems(post, source, BrandVoice(hashtag_count=1)))
    assert "#Guides is a blog category" in found and "the brand voice allows 1" in found and "markup" in found
    assert "thread[2]" not in found  # the closing link line is not a hook
    emoji = post.model_copy(update={"text": "Clicks show intent, replies show trust 🎉", "thread": None, "hashtags": []})
    assert "emoji" in " ".join(copy_problems(emoji, source, BrandVoice(emoji=False)))
    assert copy_problems(emoji, source, BrandVoice(emoji=True)) == []
    mail = Output(format="email", variant=1, angle="benefit", engine="m", source_sentences=[], subject="Stop measuring email success by open rates",
                  preview_text="Stop measuring email success by open rates")
    assert "preview_text repeats the subject" in copy_problems(mail, source)


def test_a_post_that_cannot_carry_the_variations_asked_gets_fewer_with_a_note() -> None:
    from agents.source import parse_post

    source = parse_post("# Weekend trip\n\nWe packed the car and drove to the lake.\n", filename="trip.md")
    result = repurpose(source, ["linkedin"], 12, settings=AgentSettings(llm_engine="offline"))
    assert result.passed, result.failures()
    assert 1 <= len(result.outputs) < 12 and [o.variant for o in result.outputs] == list(range(1, len(result.outputs) + 1))
    assert any(n.startswith(f"linkedin: {len(result.outputs)} variation(s) instead of 12") for n in result.notes)
