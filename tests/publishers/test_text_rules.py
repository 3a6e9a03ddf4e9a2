"""Text rules computed by hand: X weighted length, LinkedIn escaping, limits, UTM tags, fingerprints."""

import pytest

from publishers.limits import LIMITS, check
from publishers.linkedin import escape_little_text, unescape_little_text
from publishers.text import find_urls, fingerprint, hashtags, mentions, normalise, thread_parts, weighted_length
from publishers.utm import tag_links, tag_url, utm_params


@pytest.mark.parametrize(
    ("text", "expected", "why"),
    [
        ("Hello, world!", 13, "13 ASCII code points, each in 0-4351"),
        ("日本語のテキスト", 16, "8 CJK code points outside the weight-1 ranges, 2 each"),
        ("Sale 🎉", 7, "'Sale ' 5 + one emoji 2"),
        ("👩🏽‍💻", 2, "woman + skin tone + ZWJ + laptop is one emoji sequence: 2, not 2+2+1+2"),
        ("🇩🇪", 2, "two regional indicators make one flag"),
        ("1️⃣", 2, "keycap sequence: digit + VS16 + U+20E3"),
        ("cafe\u0301", 4, "NFD e + combining acute becomes é after NFC: 4, not 5"),
        ("—", 1, "em dash U+2014 = 8212 lies in 8208-8223"),
        ("€", 2, "euro sign U+20AC = 8364 lies in no weight-1 range"),
        ("′", 1, "prime U+2032 = 8242 lies in 8242-8247"),
        ("…", 2, "ellipsis U+2026 = 8230 lies between 8223 and 8242"),
        ("\u2009", 1, "thin space U+2009 = 8201 lies in 8192-8205"),
        ("Привет", 6, "Cyrillic is below 4352"),
        ("한국", 4, "Hangul syllables weigh 2"),
        ("©", 1, "© without the emoji selector is ordinary text (169)"),
        ("©️", 2, "© with VS16 is an emoji"),
        ("Read https://shop.example.com/blog/winter-sale?utm_source=x.com&utm_medium=social now", 32, "'Read ' 5 + URL 23 + ' now' 4"),
        ("see shop.example.com/sale", 27, "'see ' 4 + a bare domain link 23"),
        ("mail ana@example.com", 20, "an email address is not a link: counted per character"),
    ],
)
def test_x_weighted_length_by_hand(text: str, expected: int, why: str) -> None:
    assert weighted_length(text) == expected, why


def test_x_limit_boundaries() -> None:
    assert check("x", "a" * 280) == []
    assert "281 weighted characters" in str(check("x", "a" * 281)[0]) and "shorten it by 1" in str(check("x", "a" * 281)[0])
    assert check("x", "日" * 140) == []  # 280
    assert check("x", "日" * 141)  # 282
    assert check("x", "a" * 256 + " https://shop.example.com/" + "x" * 200) == []  # 256 + 1 + 23 = 280
    assert check("x", "a" * 257 + " https://e.co") != []  # 257 + 1 + 23 = 281


def test_threads_split_on_separator_lines_and_each_part_is_checked() -> None:
    text = "First part\n---\nSecond part\r\n  ---  \nThird"
    assert thread_parts(text) == ["First part", "Second part", "Third"]
    issues = check("x", "ok\n---\n" + "b" * 281)
    assert len(issues) == 1 and issues[0].field == "part 2 of the thread"
    assert thread_parts("no separators here") == ["no separators here"]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Hello (world)", r"Hello \(world\)"),
        ("#1 sale @acme_co", r"\#1 sale \@acme\_co"),
        ("<3 ~ * [x] {y} | \\", r"\<3 \~ \* \[x\] \{y\} \| \\"),
        ("plain text, with: punctuation!?", "plain text, with: punctuation!?"),
        ("a\\b", "a\\\\b"),
    ],
)
def test_linkedin_little_text_escaping_by_hand(raw: str, escaped: str) -> None:
    assert escape_little_text(raw) == escaped
    assert unescape_little_text(escaped) == raw


def test_linkedin_counts_visible_characters_not_escapes() -> None:
    assert check("linkedin", "(" * 3000) == []  # 6000 characters once escaped, 3000 as seen
    assert check("linkedin", "a" * 3001)[0].message.startswith("is 3001 characters")


def test_hashtags_mentions_and_instagram_limits() -> None:
    assert hashtags("New #drop, #2026 and #winter_sale! not a#tag, https://x.com/#frag") == ["drop", "winter_sale"]
    assert mentions("thanks @acme and @bob_1, mail ana@example.com") == ["acme", "bob_1"]
    caption = " ".join(f"#tag{i}x" for i in range(31))
    issues = check("instagram", caption, ["https://cdn.example.com/a.jpg"])
    assert [i.message for i in issues] == ["has 31 hashtags; instagram allows 30"]
    assert check("instagram", "no picture")[0].message.startswith("instagram needs an image")
    assert LIMITS["instagram"].max_mentions == 20


def test_urls_keep_balanced_parentheses_and_drop_trailing_punctuation() -> None:
    text = "See https://en.wikipedia.org/wiki/Fell_(mountain). Or (https://shop.example.com/a)."
    assert find_urls(text) == ["https://en.wikipedia.org/wiki/Fell_(mountain)", "https://shop.example.com/a"]


def test_utm_tags_per_campaign_channel_and_content() -> None:
    assert utm_params("x", "cmp_1", "post-7") == {"utm_source": "x.com", "utm_medium": "social", "utm_campaign": "cmp_1", "utm_content": "post-7"}
    params = utm_params("email", "cmp_1")
    assert tag_url("https://shop.example.com/p?id=3#reviews", params) == (
        "https://shop.example.com/p?id=3&utm_source=newsletter&utm_medium=email&utm_campaign=cmp_1#reviews")
    # a tag the author wrote wins
    assert "utm_campaign=spring" in tag_url("https://shop.example.com/?utm_campaign=spring", params)
    assert tag_url("https://shop.example.com/?utm_campaign=spring", params).count("utm_campaign") == 1
    text = "New in: https://shop.example.com/new and https://other.example.org/x, or shop.example.com/sale."
    tagged = tag_links(text, channel="linkedin", campaign="cmp_9", content="content-4", domains=["shop.example.com"])
    assert tagged == ("New in: https://shop.example.com/new?utm_source=linkedin.com&utm_medium=social&utm_campaign=cmp_9&utm_content=content-4"
                      " and https://other.example.org/x, or shop.example.com/sale?utm_source=linkedin.com&utm_medium=social"
                      "&utm_campaign=cmp_9&utm_content=content-4.")
    with pytest.raises(ValueError, match="no UTM source for channel 'fax'"):
        utm_params("fax", "cmp_1")


def test_fingerprint_survives_platform_rewriting() -> None:
    sent = "Tea & cake <today> at https://shop.example.com/cafe?utm_source=x.com"
    shown = "Tea &amp; cake &lt;today&gt; at https://t.co/AbCdEf"
    assert fingerprint(sent) == fingerprint(shown)
    assert fingerprint(sent) != fingerprint("Tea & cake tomorrow at https://t.co/x")


def test_normalise_ignores_invisible_differences_only() -> None:
    assert normalise("caf\u0065\u0301 \r\nnext line   \n") == normalise("café\nnext line")
    assert normalise("two  spaces") != normalise("two spaces")
