"""The text-fitting primitives: where a cut may fall (words, CJK, never inside a URL), sentence ends,
and what happens when nothing fits."""

from __future__ import annotations

from agents.textfit import fit_block, fit_sentences, pack, trim_to_word, truncate


def test_japanese_is_cut_between_characters_and_prefers_the_sentence_end() -> None:
    text = "冬のセール、始まりました。全品二割引です"
    assert truncate(text, 10) == "冬のセール、始まり…"  # no spaces: the cut falls between two CJK characters
    assert truncate(text, 14) == "冬のセール、始まりました。"  # a whole sentence needs no ellipsis


def test_a_cut_may_fall_before_cjk_that_follows_punctuation() -> None:
    # "Sale:" then Japanese: the colon ends the Latin word, and the cut drops it as trailing punctuation
    assert truncate("Sale:冬のセール開催中です", 6) == "Sale…"


def test_a_sentence_end_is_kept_without_an_ellipsis_only_when_it_fits() -> None:
    assert truncate("Done! Then more words here", 6) == "Done!"
    assert truncate("Done. Then. More words", 7) == "Done."  # "Done. Then." is too long, the earlier sentence end fits
    assert truncate("Done. Then more words here", 12) == "Done. Then…"


def test_nothing_fits_gives_an_empty_string() -> None:
    assert truncate("Supercalifragilistic word", 5) == ""
    assert truncate("- - - hello world", 4) == ""  # prefixes of only dashes clean away to nothing
    assert trim_to_word("Supercalifragilistic for", 5) == ""
    assert trim_to_word("for the and of a", 5) == ""  # only dangling words


def test_blank_sentences_and_pieces_are_skipped() -> None:
    assert fit_sentences(["", "One.", "  ", "Two."], 20) == "One. Two."
    assert pack("", ["", "first piece", "second piece too long for this", "tiny"], 20) == "first piece\n\ntiny"


def test_pack_cuts_the_first_piece_and_always_keeps_the_tail() -> None:
    tail = "https://s.example/a"
    packed = pack(tail, ["A very long opening paragraph that cannot fit", "short"], 40)
    assert packed == "A very long…\n\nhttps://s.example/a" and len(packed) <= 40
    assert pack(tail, ["Supercalifragilisticexpialidocious"], 25) == tail  # no word boundary fits: the tail alone


def test_fit_block_drops_trailing_blank_lines_and_keeps_whole_sentences_after_the_first_line() -> None:
    assert fit_block("Line one\n\n\nLine two is long. Way too long here.", 11) == "Line one"
    assert fit_block("Head\nFirst sentence. Second sentence that is long.", 22) == "Head\nFirst sentence."
