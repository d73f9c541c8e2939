"""Network text made inert (SPEC §8) and cut to terminal cells."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tests.core.fresh_python import NEITHER_RICH_NOR_TEXTUAL, run_python
from twoway.text import MAX_COMBINING, cell_width, excerpt, neutralize

FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u2028\u2029\ud800-\udfff]"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1;38;2;255;0;0mtrue colour\x1b[m", "true colour"),
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear screen, cursor home
        ("\x1b[?1049hx", "x"),  # private-mode CSI: alternate screen
        ("\x1b]8;;https://evil.example\x07click here\x1b]8;;\x07", "click here"),  # OSC 8, BEL
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8, ESC \
        ("a\x1b]52;c;ZXZpbA==\x07b", "ab"),  # OSC 52 clipboard write
        ("a\x1b]0;new title\x1b\\b", "ab"),  # window title
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel)
        ("a\x1b_payload\x1b\\b", "ab"),  # APC
        ("a\x1b7\x1b8\x1bc\x1b(0b", "ab"),  # save/restore cursor, reset, charset
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("a\x9d52;c;ZXZpbA==\x9cb", "ab"),  # 8-bit OSC ended by 8-bit ST
        ("a\x9d8;;https://evil\x07b", "ab"),  # 8-bit OSC ended by BEL
        ("a\x90payload\x9cb", "ab"),  # 8-bit DCS
        ("a\x85b\x9cc", "abc"),  # other C1 controls
        ("ding\x07dong", "dingdong"),
        ("back\x08\x08space", "backspace"),
        ("del\x7fete", "delete"),
        ("nul\x00l", "null"),
        ("a\tb", "a b"),
        ("line\nnext", "line\nnext"),
        ("crlf\r\nnext", "crlf\nnext"),
        ("over\rwrite", "over\nwrite"),
        ("para\u2028graph", "para\ngraph"),
        ("unterminated \x1b]52;c;ZXZpbA==", "unterminated "),
        ("dangling escape \x1b", "dangling escape "),
    ],
)
def test_escape_sequences_and_controls_are_removed(raw: str, expected: str) -> None:
    assert neutralize(raw) == expected


def test_bidi_controls_become_visible_escapes() -> None:
    assert neutralize("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert neutralize("\u2066x\u2069") == "\\u2066x\\u2069"
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        assert neutralize(chr(code)) == f"\\u{code:04x}"


def test_bidi_marks_and_zero_width_are_removed() -> None:
    assert neutralize("a\u200eb\u200fc\u061cd") == "abcd"
    assert neutralize("\ufeffz\u200be\u200cr\u200do\u2060") == "zero"
    assert neutralize("soft\u00adhyphen") == "softhyphen"
    assert neutralize("tag\U000e0041\U000e007f") == "tag"


def test_rtl_text_itself_is_kept() -> None:
    assert neutralize("مرحبا بالعالم") == "مرحبا بالعالم"
    assert neutralize("שלום") == "שלום"


def test_combining_floods_are_capped() -> None:
    zalgo = "Z" + "\u0301\u0316\u0337\u0350" * 20 + "a" + "\u0300" * 50 + "lgo"
    clean = neutralize(zalgo)
    assert clean == "Z\u0301\u0316a\u0300\u0300lgo"
    run = 0
    for ch in clean:
        run = run + 1 if unicodedata.combining(ch) else 0
        assert run <= MAX_COMBINING


def test_ordinary_accents_and_scripts_survive() -> None:
    scripts = ("café", "cafe\u0301", "Tiếng Việt", "Vie\u0323\u0302t", "हिन्दी", "ภาษาไทย", "Ελληνικά")
    for text in scripts:
        assert neutralize(text) == text


def test_a_combining_mark_without_a_base_is_dropped() -> None:
    assert neutralize("\u0301\u0301x") == "x"
    assert neutralize("a\n\u0301b") == "a\nb"


def test_lone_surrogates_become_replacement_characters() -> None:
    text = neutralize("bad \ud800 pair")
    assert text == "bad \ufffd pair"
    text.encode("utf-8")


def test_cjk_and_emoji_keep_their_width() -> None:
    for text in ("図書館へようこそ", "도서관", "📚 books 🎉", "👍🏽", "🇺🇸", "❤️"):
        assert neutralize(text) == text
        assert cell_width(neutralize(text)) == cell_len(text)
    assert cell_width("図書館") == 6


def test_markup_is_just_text() -> None:
    assert neutralize("[bold red]x[/]") == "[bold red]x[/]"
    assert neutralize("[link=https://evil]x[/link]") == "[link=https://evil]x[/link]"


@given(st.text())
def test_neutralized_text_has_nothing_that_steers_a_terminal(text: str) -> None:
    clean = neutralize(text)
    assert not FORBIDDEN.search(clean)
    assert "\x1b" not in clean


@given(st.text(alphabet=st.sampled_from(list("ab \n\t\x1b[]\x07\\\x9b\x9c\x9d;8P_\u202e\u200b\u0301"))))
def test_neutralize_is_idempotent(text: str) -> None:
    once = neutralize(text)
    assert neutralize(once) == once


def test_excerpt_collapses_whitespace_and_cuts_with_an_ellipsis() -> None:
    assert excerpt("  hello \n\t world  ", 40) == "hello world"
    assert excerpt("hello world", 11) == "hello world"
    assert excerpt("hello world", 8) == "hello w…"
    assert excerpt("hello world", 8, ellipsis="...") == "hello..."
    assert excerpt("hello world", 1) == "…"
    assert excerpt("hello", 0) == ""


def test_excerpt_counts_cells_not_characters() -> None:
    cut = excerpt("図書館へようこそ", 7)
    assert cell_len(cut) <= 7
    assert cut == "図書館…"
    cut = excerpt("📚📚📚📚", 6)
    assert cell_len(cut) <= 6 and cut.endswith("…")


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_excerpt_never_exceeds_its_width(text: str, width: int) -> None:
    cut = excerpt(text, width)
    assert cell_len(cut) <= width
    assert "\n" not in cut


def test_excerpt_neutralizes() -> None:
    assert excerpt("\x1b[31m[b]x[/b]\x1b[0m \u202e", 40) == "[b]x[/b] \\u202e"


def test_module_imports_neither_rich_nor_textual() -> None:
    run_python("import sys, twoway.text as t\nassert t.neutralize('\\x1b[1mx') == 'x'\n" + NEITHER_RICH_NOR_TEXTUAL)
