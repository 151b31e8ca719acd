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
# A page's header, above the article proper, that trafilatura keeps as the text's
# first lines: "08.04.2015 12:46", "17 июня 2025, 10:15", "Обновлено: 2025-06-17",
# and bylines such as "by Полина Лазарева".
_DATE = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\s+[^\W\d_]{3,10}\.?,?\s+\d{4}(?:\s*г\.)?"
)
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_WORD = re.compile(r"[^\W\d_]+")
_BYLINE = re.compile(r"(?:by|автор:?)\s+\S.{0,50}", re.IGNORECASE)
_HEADER_LINES = 3
# What joins a site's name to a page's title: "Заголовок | Сайт", "Titre - Le Monde".
_JOINS = frozenset({"|", "-", "–", "—", "»", "·", ":", "/"})


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
    paragraphs = _without_header(paragraphs, [t for t in (page_title, title or "") if t])
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


def _without_header(paragraphs: list[str], titles: list[str]) -> list[str]:
    """The text without the page's header that trafilatura keeps as its first lines:
    the <h1> with a section label or date above it, then a date line or a byline."""
    for n, line in enumerate(paragraphs[:_HEADER_LINES]):
        if any(_is_title(line, title) for title in titles):
            if all(_is_label(above) for above in paragraphs[:n]):
                paragraphs = paragraphs[n + 1 :]
            break
    dropped = 0
    while paragraphs and dropped < _HEADER_LINES and _is_meta(paragraphs[0]):
        paragraphs = paragraphs[1:]
        dropped += 1
    return paragraphs


def _is_title(line: str, title: str) -> bool:
    """The title, or the title without the site's suffix ("… » Noticias", "… | DW")."""
    if _same(line, title):
        return True
    head = _WHITESPACE.sub(" ", line).strip().casefold()
    full = _WHITESPACE.sub(" ", title).strip().casefold()
    return len(head) >= 20 and full.startswith(head) and full[len(head) :][:3].strip() in _JOINS


def _is_label(line: str) -> bool:
    """A section name or a date above the title ("Neuigkeiten", "08.04.2015 12:46")."""
    return _is_meta(line) or (
        len(line) <= 40 and len(line.split()) <= 3 and not line.endswith((".", "!", "?"))
    )


def _is_meta(line: str) -> bool:
    """A date line or a byline: "17 июня 2025, 10:15", "by Полина Лазарева",
    "Patricio Candia | Palma de Mallorca | 08/01/2014"."""
    if len(line) > 60 or line.endswith(("!", "?")):
        return False
    if _BYLINE.fullmatch(line) and not line.endswith("."):
        return True
    if not _DATE.search(line):
        return False
    parts = [part.strip() for part in re.split(r"[|·•]", line)]
    if len(parts) > 1:
        # "author | place | date": a few short names and the date.
        return len(parts) <= 4 and all(len(part) <= 30 for part in parts)
    rest = _CLOCK.sub(" ", _DATE.sub(" ", line))
    # A date and a time, perhaps with a word or two ("Обновлено:", "Uhr"), nothing else.
    return len(_WORD.findall(rest)) <= 2 and not any(ch.isdigit() for ch in rest)


def _date(value: str | None) -> datetime | None:
    # trafilatura gives a day (YYYY-MM-DD), not a time.
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None
