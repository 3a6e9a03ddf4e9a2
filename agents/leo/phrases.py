"""The few words Leo adds around quoted sentences, per language (English, German, Japanese).

The offline engine quotes the post; these frames are the only words it writes itself. They
hold no figures, so "no invented numbers" holds by construction. A language without its
own set uses English frames.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "question": "{title}: where do you start?",
        "howto": "{title}, step by step:",
        "takeaways": "Key points from “{title}”:",
        "quote_open": "“",
        "quote_close": "”",
        "quote_from": "From “{title}”.",
        "read_more": "Read the full post:",
        "link_in_bio": "Full post: link in bio.",
        "cta": "Read the full post",
        "howto_subject": "{title}: step by step",
        "takeaways_subject": "{title}: the key points",
        "greeting": "Hello,",
        "in_short": "In short:",
        "worth_reading": "Worth a read:",
        "new_post": "New on the blog:",
        "learn_more": "Learn more",
        "find_out_more": "Find out more",
        "read_guide": "Read the guide",
        "image_brief": "Image for a social post. Subject: {subjects}. Overlay text: “{overlay}”. Mood: {voice}",
        "alt_text": "{subjects}, with the words “{overlay}”",
        "joiner": ", ",
    },
    "de": {
        "question": "{title}: Wo fängt man an?",
        "howto": "{title}, Schritt für Schritt:",
        "takeaways": "Das Wichtigste aus „{title}“:",
        "quote_open": "„",
        "quote_close": "“",
        "quote_from": "Aus „{title}“.",
        "read_more": "Zum ganzen Artikel:",
        "link_in_bio": "Ganzer Artikel: Link in der Bio.",
        "cta": "Artikel lesen",
        "howto_subject": "{title}: Schritt für Schritt",
        "takeaways_subject": "{title}: das Wichtigste",
        "greeting": "Hallo,",
        "in_short": "Kurz gesagt:",
        "worth_reading": "Lesenswert:",
        "new_post": "Neu im Blog:",
        "learn_more": "Mehr erfahren",
        "find_out_more": "Mehr dazu",
        "read_guide": "Zum Ratgeber",
        "image_brief": "Bild für einen Social-Media-Beitrag. Motiv: {subjects}. Text im Bild: „{overlay}“. Stimmung: {voice}",
        "alt_text": "{subjects}, mit dem Text „{overlay}“",
        "joiner": ", ",
    },
    "ja": {
        "question": "{title}：何から始める？",
        "howto": "{title}：ステップごとに",
        "takeaways": "「{title}」のポイント：",
        "quote_open": "「",
        "quote_close": "」",
        "quote_from": "「{title}」より。",
        "read_more": "記事はこちら：",
        "link_in_bio": "記事はプロフィールのリンクから。",
        "cta": "記事を読む",
        "howto_subject": "{title}：ステップごとに",
        "takeaways_subject": "{title}：ポイントまとめ",
        "greeting": "こんにちは。",
        "in_short": "要点：",
        "worth_reading": "おすすめ記事：",
        "new_post": "ブログ更新：",
        "learn_more": "詳しく見る",
        "find_out_more": "詳しくはこちら",
        "read_guide": "ガイドを読む",
        "image_brief": "SNS投稿用の画像。被写体：{subjects}。画像内テキスト：「{overlay}」。雰囲気：{voice}",
        "alt_text": "{subjects}。「{overlay}」の文字入り",
        "joiner": "、",
    },
}

# Frames tried, in order, when two variants would otherwise come out the same.
DISTINCT_FRAMES = ("in_short", "worth_reading", "new_post")


def phrases(language: str) -> dict[str, str]:
    return PHRASES.get(language, PHRASES["en"])


def frame_words() -> set[str]:
    """Every word the frames may add, in any language (for the no-cut-word check)."""
    import re

    words: set[str] = set()
    for table in PHRASES.values():
        for template in table.values():
            words.update(w.lower() for w in re.findall(r"[^\W\d_]+", re.sub(r"\{[a-z_]+\}", " ", template)))
    return words
