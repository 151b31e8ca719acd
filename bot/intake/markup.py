"""HTML fragments as plain text: feed entries, and article files whose text is HTML
(RIA's own format: `<p><strong>москва, 1 дек&nbsp;&mdash; риа новости.</strong> …`)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Markup that plain text does not hold by accident: a tag HTML has, or a named or
# numeric character reference. "AT&T" and "a < b" are not HTML.
_TAG = re.compile(
    r"</?(?:p|br|div|span|strong|b|i|em|u|s|a|h[1-6]|ul|ol|li|blockquote|q|table|tbody|tr|td"
    r"|th|img|figure|figcaption|section|article|hr|pre|code|sup|sub|font|small|big|center)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,9}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text) or _REFERENCE.search(text))


class _PlainText(HTMLParser):
    """Text of the HTML fragment a feed entry carries, a blank line between blocks."""

    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "tr",
            "table",
            "section",
            "article",
            "figure",
            "hr",
            "pre",
        }
    )
    _SKIP = frozenset({"script", "style", "figcaption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    """The text of an HTML fragment: paragraphs apart by a blank line, spaces collapsed."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    parser = _PlainText()
    parser.feed(fragment)
    parser.close()
    paragraphs = "".join(parser.parts).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
