"""Hashtags, links and plain text out of what platforms send: one set of rules for
every collector and importer, so a goal's filters match the same way everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

__all__ = ["HASHTAG", "hashtags_in", "html_to_text", "links_in"]

HASHTAG = re.compile(r"(?<![\w#＃&/])[#＃](\w*[^\W\d_]\w*)")
"""A `#tag` in plain text (or a full-width `＃tag`): not inside a word, an HTML entity
(`&#39;`) or a URL's fragment, and not all digits (`#1` is no hashtag)."""
URL = re.compile(r"https?://[^\s<>\"'`]+")
TRAILING = ".,;:!?)]}"
"""Punctuation that ends a sentence rather than the link written before it."""


def hashtags_in(text: str, first: Iterable[str] = ()) -> tuple[str, ...]:
    """The tags a platform gives (`first`), then the `#words` written in the text; once each, whatever the case."""
    unique: dict[str, str] = {}
    for tag in (*first, *HASHTAG.findall(text)):
        unique.setdefault(tag.casefold(), tag)
    return tuple(unique.values())


def links_in(text: str, first: Iterable[str] = ()) -> tuple[str, ...]:
    """The links a platform gives (`first`), then the http(s) addresses written in plain text; once each."""
    return tuple(dict.fromkeys((*first, *(url.rstrip(TRAILING) for url in URL.findall(text)))))


_BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote figure figcaption pre hr table tr section article".split()
)
_HIDDEN = frozenset({"script", "style", "noscript", "template"})


class _Text(HTMLParser):
    """Rendered HTML → text lines and the http(s) targets of its `<a href>`."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.parts: list[str] = []
        self.links: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            url = urljoin(self.base, href.strip()) if href else ""
            if urlsplit(url).scheme in ("http", "https"):
                self.links.append(url)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str, base: str = "") -> tuple[str, tuple[str, ...]]:
    """Plain text (one line per block, spaces collapsed) and the links, relative ones resolved on `base`."""
    parser = _Text(base)
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line), tuple(dict.fromkeys(parser.links))
