"""The article on a web page: trafilatura finds the text among navigation and boilerplate."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.intake.errors import NoArticleText
from bot.intake.fetch import decode_html
from bot.models import NewArticle

log = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")


def _same(a: str, b: str) -> bool:
    return _WHITESPACE.sub(" ", a).strip().casefold() == _WHITESPACE.sub(" ", b).strip().casefold()


def extract_page(
    body: bytes, *, url: str, charset: str | None, title: str | None = None
) -> NewArticle:
    """The page's article as a NewArticle (the link left to the caller); CPU-bound, so
    callers run it in a thread. Raises NoArticleText when the page holds no article."""
    import trafilatura

    html = decode_html(body, charset)
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            # Precision over recall: a stray menu or "read also" block in a summary is
            # worse than a paragraph missed.
            favor_precision=True,
        )
    except Exception as exc:
        # Untrusted HTML through a third-party parser: whatever it raises, this page has
        # no usable article, and a feed poll must go on with the other entries.
        log.warning("article extraction failed for %s: %r", url, exc)
        raise NoArticleText(url) from exc
    if not isinstance(doc, trafilatura.settings.Document) or not (doc.text or "").strip():
        raise NoArticleText(url)
    page_title = (doc.title or "").strip() or (title or "").strip()
    paragraphs = [line.strip() for line in (doc.text or "").splitlines() if line.strip()]
    # trafilatura keeps the page's <h1> as the first line of the text.
    if paragraphs and any(_same(paragraphs[0], t) for t in (page_title, title or "") if t):
        paragraphs.pop(0)
    if not paragraphs:
        raise NoArticleText(url)
    text = "\n\n".join(paragraphs)
    if not page_title:
        page_title = re.split(r"(?<=[.!?])\s", paragraphs[0], maxsplit=1)[0]
    return NewArticle(
        title=(title or page_title).strip()[:300],
        text=text,
        source=(doc.sitename or "").strip() or (urlsplit(url).hostname or ""),
        published_at=_date(doc.date),
    )


def _date(value: str | None) -> datetime | None:
    # trafilatura gives a day (YYYY-MM-DD), not a time.
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None
