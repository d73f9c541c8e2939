"""Network text is data: make it inert before any view shows it (SPEC §8).

`neutralize` is a one-pass scanner rather than a chain of regexes so that an escape
sequence split by another control (ESC, then a C1 byte, then a payload) cannot be
reassembled by an earlier substitution. Choices, so every view agrees:

- ANSI CSI, OSC (OSC 8 links, OSC 52 clipboard writes), DCS/SOS/PM/APC strings and
  every other ESC sequence are removed with their payloads; so are their 8-bit C1
  forms (U+009B CSI, U+009D OSC, U+0090 DCS, ...). An unterminated string sequence
  swallows the rest of the text, as a terminal would.
- C0 and C1 controls and DEL are removed, except "\\n"; "\\t" becomes a space;
  "\\r\\n", a lone "\\r" and U+2028/U+2029 become "\\n".
- Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are shown
  as visible escapes such as `\\u202e`, so a reader sees that something tried to
  reorder the text; the invisible marks U+200E, U+200F and U+061C are removed.
- Zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and other invisible format
  characters (Unicode category Cf, e.g. soft hyphens and tag characters) are removed.
  Dropping the zero-width joiner splits an emoji family into its members, which
  keeps the width Rich measures equal to the width a terminal draws.
- At most two combining marks are kept per base character, so a "zalgo" flood cannot
  grow a line upwards and downwards through the layout.
- Lone surrogates (from JSON `\\udc80`-style escapes) become U+FFFD, so no output encoder
  ever raises on them.

This module imports neither Rich nor Textual at import time: collectors and the JSON
snapshot use it too.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_COMBINING", "cell_width", "excerpt", "neutralize"]

MAX_COMBINING = 2
"""Combining marks kept after one base character."""

_ESC = "\x1b"
_BEL = "\x07"
_ST = "\x9c"
_CSI_8BIT = "\x9b"
_STRING_8BIT = frozenset("\x90\x98\x9d\x9e\x9f")  # DCS, SOS, OSC, PM, APC
_STRING_INTRODUCERS = frozenset("]PX^_")  # after ESC: OSC, DCS, SOS, PM, APC
_BIDI_VISIBLE = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_BIDI_MARKS = frozenset("\u200e\u200f\u061c")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_LINE_BREAKS = frozenset("\u2028\u2029")


def _skip_csi(text: str, i: int) -> int:
    """Index after a CSI body starting at `i` (parameters, intermediates, final byte)."""
    n = len(text)
    while i < n and "\x30" <= text[i] <= "\x3f":
        i += 1
    while i < n and "\x20" <= text[i] <= "\x2f":
        i += 1
    if i < n and "\x40" <= text[i] <= "\x7e":
        i += 1
    return i


def _skip_string(text: str, i: int) -> int:
    """Index after an OSC/DCS-style string starting at `i`, ended by BEL, ST or ESC \\."""
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == _BEL or ch == _ST:
            return i + 1
        if ch == _ESC:
            # ESC \ is the proper terminator; any other ESC also ends the string in
            # xterm, and starts a new sequence that the main loop removes.
            return i + 2 if text[i + 1 : i + 2] == "\\" else i
        i += 1
    return n


def _skip_escape(text: str, i: int) -> int:
    """Index after an ESC sequence whose ESC is at `i - 1`."""
    n = len(text)
    if i >= n:
        return n
    ch = text[i]
    if ch == "[":
        return _skip_csi(text, i + 1)
    if ch in _STRING_INTRODUCERS:
        return _skip_string(text, i + 1)
    # nF sequences: intermediates then a final byte; Fp/Fe/Fs: a single final byte.
    while i < n and "\x20" <= text[i] <= "\x2f":
        i += 1
    if i < n and "\x30" <= text[i] <= "\x7e":
        i += 1
    return i


def neutralize(text: str) -> str:
    """Return `text` with everything that could steer a terminal or fool a reader made inert.

    See the module docstring for what happens to each kind of character. Idempotent:
    `neutralize(neutralize(s)) == neutralize(s)`.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to do
    out: list[str] = []
    combining = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        code = ord(ch)
        if ch == _ESC:
            i = _skip_escape(text, i)
            continue
        if ch == _CSI_8BIT:
            i = _skip_csi(text, i)
            continue
        if ch in _STRING_8BIT:
            i = _skip_string(text, i)
            continue
        if code < 0x20 or 0x7F <= code < 0xA0:
            if ch == "\n":
                out.append("\n")
                combining = 0
            elif ch == "\t":
                out.append(" ")
                combining = 0
            elif ch == "\r" and text[i : i + 1] != "\n":
                out.append("\n")
                combining = 0
            continue
        if ch in _BIDI_VISIBLE:
            out.append(f"\\u{code:04x}")
            combining = 0
            continue
        if ch in _LINE_BREAKS:
            out.append("\n")
            combining = 0
            continue
        if ch in _BIDI_MARKS or ch in _ZERO_WIDTH:
            continue
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        if category == "Cs":
            out.append("\ufffd")
            combining = 0
            continue
        if category in ("Mn", "Me"):
            combining += 1
            if combining > MAX_COMBINING or not out or out[-1] == "\n":
                continue  # too many, or nothing to sit on
            out.append(ch)
            continue
        combining = 0
        out.append(ch)
    return "".join(out)


def cell_width(text: str) -> int:
    """Terminal cells `text` takes, as Rich measures them."""
    from rich.cells import cell_len  # lazily: JSON and CSV output never need Rich

    return cell_len(text)


def excerpt(text: str, width: int, *, ellipsis: str = "…") -> str:
    """One line of at most `width` terminal cells: neutralized, whitespace collapsed,
    ending with `ellipsis` when cut."""
    line = " ".join(neutralize(text).split())
    if width <= 0:
        return ""
    from rich.cells import cell_len, set_cell_size  # lazily, as above

    if cell_len(line) <= width:
        return line
    room = width - cell_len(ellipsis)
    if room <= 0:
        return set_cell_size(ellipsis, width)
    cut = set_cell_size(line, room)
    # set_cell_size pads with a space when a wide character straddles the edge
    return cut.rstrip() + ellipsis
