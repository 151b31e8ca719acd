"""RSS 2.0 and Atom through feedparser: entries with their ids, links, text and dates."""

from __future__ import annotations

import hashlib
import re
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.intake.errors import BadFeed
from bot.intake.fetch import normalize_url
from bot.intake.markup import html_text

# Below this an entry's text is taken for a teaser and the page behind it is fetched.
# Feeds that carry whole articles (content:encoded, yandex:full-text) run to thousands.
TEASER_CHARS = 600
_CUT_OFF = re.compile(
    r"(?:\.\.\.|…|\[…\]|\[\.\.\.\]|Читать далее|Читать полностью|Подробнее|Read more)\W*$",
    re.IGNORECASE,
)
_XML_TYPES = ("xml", "rss", "atom", "rdf")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str
    """The feed's own id for the entry (guid, atom:id), else its link: what "seen" means."""
    link: str | None
    """The link as the feed gives it, for fetching the page."""
    url: str | None
    """The link normalised: what the article is stored and compared under."""
    title: str
    text: str
    teaser: bool
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[FeedEntry, ...]
    # What was wrong with the XML when feedparser had to recover the entries from it.
    warning: str | None = None


def looks_like_feed(content_type: str, body: bytes) -> bool | None:
    """True for a feed's content type or an XML document that opens as one, False for
    HTML, None when only parsing can tell."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    opens_as_feed = head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head)
    if content_type in _HTML_TYPES:
        # Some servers label their feeds text/html.
        return opens_as_feed
    if any(kind in content_type for kind in _XML_TYPES) or opens_as_feed:
        return True
    return None


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """The feed's title and entries; raises BadFeed for anything that is not an RSS or
    Atom document. Broken XML from which feedparser recovered entries (an undefined
    entity, a stray XML declaration, an unclosed tag) is read with a `warning`; broken
    XML that gave no entry is refused. An empty entry list is the caller's to judge."""
    import feedparser

    # Bytes, never a string: feedparser would fetch a string that looks like a URL itself.
    parsed = feedparser.parse(
        bytes(body),
        response_headers={**headers, "content-location": url},
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    warning: str | None = None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        # A wrong declared charset or content type is harmless: feedparser has decoded
        # the document anyway. Broken XML is read again by feedparser's lenient parser.
        if not isinstance(
            problem,
            (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType),
        ):
            warning = str(problem)[:200] or type(problem).__name__
    if not parsed.get("version"):
        raise BadFeed(url, warning or "not RSS or Atom")
    title = html_text(parsed.feed.get("title", "")) or (_host(url) or url)
    # A recovered entry's text may be cut short where the XML broke: its page is read
    # as for a teaser, and the feed's text kept only if the page fails.
    recovered = warning is not None
    entries = tuple(
        entry for raw in parsed.entries if (entry := _entry(raw, recovered)) is not None
    )
    if warning is not None and not any(entry.text or entry.link for entry in entries):
        # Nothing that could become an article survived: the feed is broken, not recovered.
        raise BadFeed(url, warning)
    return ParsedFeed(title=title[:300], entries=entries, warning=warning)


def _entry(raw: Mapping[str, Any], recovered: bool = False) -> FeedEntry | None:
    link = (raw.get("link") or "").strip() or None
    if link is not None and not link.lower().startswith(("http://", "https://")):
        link = None
    url = normalize_url(link) if link else None
    title = html_text(raw.get("title", ""))
    text = _best_text(raw)
    if not title and not text:
        return None
    key = (raw.get("id") or "").strip() or url
    if key is None:
        key = "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    if not title:
        # An untitled entry (some Atom feeds): its first sentence serves as the title.
        title = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0][:200]
    teaser = link is not None and (
        recovered or len(text) < TEASER_CHARS or bool(_CUT_OFF.search(text))
    )
    return FeedEntry(
        key=key[:1000],
        link=link,
        url=url,
        title=title[:300],
        text=text,
        teaser=teaser,
        published_at=_time(raw.get("published_parsed") or raw.get("updated_parsed")),
    )


def _best_text(raw: Mapping[str, Any]) -> str:
    """The fullest text the entry carries: yandex:full-text (Russian feeds made for
    Yandex News), content:encoded or Atom content, else the summary/description."""
    candidates = [raw.get("yandex_full-text") or ""]
    candidates += [part.get("value", "") for part in raw.get("content") or ()]
    candidates.append(raw.get("summary") or "")
    texts = [html_text(value) for value in candidates if isinstance(value, str)]
    return max(texts, key=len, default="")


def _time(value: Any) -> datetime | None:
    # feedparser gives UTC struct_time; a nonsense date is dropped, not guessed.
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _host(url: str) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname
