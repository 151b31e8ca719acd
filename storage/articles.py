"""Articles and their full-text index over lemmas."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta

from razdel import sentenize, tokenize

from bot.errors import EmptyText
from bot.models import Article, NewArticle, SearchHit
from bot.nlp.index import index_text, query_groups, word_variants
from storage.db import Database, from_db_time, from_db_time_or_none, to_db_time
from storage.memo import Memo

logger = logging.getLogger(__name__)

_COLUMNS = "id, title, text, source, url, published_at, added_at, content_hash, lang"
_COLUMNS_A = ", ".join(f"a.{name.strip()}" for name in _COLUMNS.split(","))

# A title hit says more about what the article is about than one in the body.
_TITLE_WEIGHT = 10.0
# Bounds the work a pasted wall of text can cause; real queries are a few words.
_MAX_QUERY_CHARS = 1000
_MAX_TERMS = 16
SNIPPET_CHARS = 160

_WHITESPACE = re.compile(r"\s+")

# Publication dates are kept between these: a feed's year 9999 or year 1 is a slip, and
# at the edges of what `datetime` holds a date cannot even be shown in a time zone east
# (or west) of UTC. A date ahead of the clock by more than a day becomes the time of
# storing; a few hours ahead is a wrong zone, and kept.
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)
_AHEAD = timedelta(days=1)


def sane_date(value: datetime, *, now: datetime) -> datetime:
    """`value` within [EARLIEST_DATE, now + a day]; later than that, `now`."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    if value - now > _AHEAD:
        return now
    return max(value, EARLIEST_DATE)


def normalize_text(text: str) -> str:
    """What duplicates are judged by: whitespace collapsed, lowercase, ё as е."""
    return _WHITESPACE.sub(" ", text).strip().lower().replace("ё", "е")


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        text=row["text"],
        source=row["source"],
        url=row["url"],
        published_at=from_db_time_or_none(row["published_at"]),
        added_at=from_db_time(row["added_at"]),
        content_hash=row["content_hash"],
        lang=row["lang"],
    )


def query_terms(query: str) -> list[tuple[str, ...]]:
    """Per distinct query word, its alternative normal forms (see bot.nlp.index)."""
    return query_groups(query[:_MAX_QUERY_CHARS], max_terms=_MAX_TERMS)


def _quoted(term: str) -> str:
    # FTS5 reads a NUL as the end of the query string ("unterminated string").
    return '"' + term.replace("\x00", "").replace('"', '""') + '"'


def match_expression(groups: list[tuple[str, ...]], operator: str) -> str:
    """Each term a quoted FTS5 string, so no user input is ever read as query syntax;
    a word's alternative forms are OR-ed, the words joined by `operator`."""
    parts = [
        _quoted(group[0]) if len(group) == 1 else "(" + " OR ".join(map(_quoted, group)) + ")"
        for group in groups
    ]
    return f" {operator} ".join(parts)


def _window(sentence: str, start: int, stop: int, width: int) -> str:
    if len(sentence) <= width:
        return _WHITESPACE.sub(" ", sentence).strip()
    left = max(0, start - (width - (stop - start)) // 2)
    right = min(len(sentence), left + width)
    left = max(0, right - width)
    # Cut at spaces so the snippet holds whole words.
    if left > 0 and (space := sentence.find(" ", left, start)) != -1:
        left = space + 1
    if right < len(sentence) and (space := sentence.rfind(" ", stop, right)) != -1:
        right = space
    body = _WHITESPACE.sub(" ", sentence[left:right]).strip()
    return ("…" if left > 0 else "") + body + ("…" if right < len(sentence) else "")


def make_snippet(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> str:
    """Plain text around the first sentence that holds one of the lemmas `terms`."""
    for sentence in sentenize(text):
        for token in tokenize(sentence.text):
            if any(ch.isalnum() for ch in token.text) and not terms.isdisjoint(
                word_variants(token.text)
            ):
                return _window(sentence.text, token.start, token.stop, width)
    # The match was in the title only: the opening of the text says the most.
    return _window(text, 0, 0, width)


def _lemmas(title: str, text: str) -> tuple[str, str]:
    return index_text(title), index_text(text)


class ArticleRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._recent: Memo[int, Article] = Memo(256)

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        """Stores the article; a duplicate by URL or by text returns the stored one and False."""
        title = new.title.strip()
        text = new.text.strip()
        if not normalize_text(text):
            raise EmptyText()
        url = (new.url or "").strip() or None
        digest = content_hash(text)
        published = to_db_time(sane_date(new.published_at, now=now)) if new.published_at else None
        # pymorphy3 over a long text takes a while: keep it off the event loop, and
        # outside the write transaction.
        title_lemmas, text_lemmas = await asyncio.to_thread(_lemmas, title, text)
        async with self._db.transaction():
            row = await self._db.fetchone(
                "INSERT INTO articles (title, source, url, published_at, added_at, text,"
                " content_hash, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                (
                    title,
                    new.source.strip(),
                    url,
                    published,
                    to_db_time(now),
                    text,
                    digest,
                    new.lang or "ru",
                ),
            )
            if row is None:
                existing = await self._db.fetchone(
                    f"SELECT {_COLUMNS} FROM articles WHERE url = ? OR content_hash = ?"
                    " ORDER BY url = ? DESC LIMIT 1",
                    (url, digest, url),
                )
                assert existing is not None, "a conflict implies a stored row"
                return _article(existing), False
            await self._db.execute(
                "INSERT INTO articles_fts (rowid, title_lemmas, text_lemmas) VALUES (?, ?, ?)",
                (row["id"], title_lemmas, text_lemmas),
            )
        return _article(row), True

    async def get(self, article_id: int) -> Article | None:
        # Articles never change once stored; only delete() removes one.
        if (hit := self._recent.get(article_id)) is not None:
            return hit
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM articles WHERE id = ?", (article_id,)
        )
        if row is None:
            return None
        article = _article(row)
        self._recent.put(article_id, article)
        return article

    async def latest(self, limit: int = 5) -> list[Article]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM articles ORDER BY added_at DESC, id DESC LIMIT ?",
            (max(limit, 0),),
        )
        return [_article(row) for row in rows]

    async def newest(self) -> Article | None:
        found = await self.latest(1)
        return found[0] if found else None

    async def added_since(self, since: datetime, *, limit: int | None = None) -> list[Article]:
        """Articles added strictly after `since`, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM articles WHERE added_at > ? ORDER BY added_at, id LIMIT ?",
            (to_db_time(since), -1 if limit is None else max(limit, 0)),
        )
        return [_article(row) for row in rows]

    async def count_since(self, since: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM articles WHERE added_at > ?", (to_db_time(since),)
        )
        return int(row[0]) if row else 0

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM articles")
        return int(row[0]) if row else 0

    async def delete(self, article_id: int) -> bool:
        # The FTS row goes with it (trigger); cached summaries and message links cascade.
        deleted = await self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,)) > 0
        self._recent.pop(article_id)
        return deleted

    async def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        """Best matches by bm25 over lemmas: all words first, any word if that finds nothing."""
        if limit <= 0:
            return []
        terms = await asyncio.to_thread(query_terms, query)
        if not terms:
            return []
        rows = await self._match(match_expression(terms, "AND"), limit)
        if not rows and len(terms) > 1:
            rows = await self._match(match_expression(terms, "OR"), limit)
        wanted = {form for group in terms for form in group}
        return [
            SearchHit(article, await asyncio.to_thread(make_snippet, article.text, wanted))
            for article in map(_article, rows)
        ]

    async def _match(self, expression: str, limit: int) -> list[sqlite3.Row]:
        try:
            return await self._db.fetchall(
                f"SELECT {_COLUMNS_A} FROM articles_fts"
                " JOIN articles AS a ON a.id = articles_fts.rowid"
                " WHERE articles_fts MATCH ?"
                " ORDER BY bm25(articles_fts, ?, 1.0), a.id DESC LIMIT ?",
                (expression, _TITLE_WEIGHT, limit),
            )
        except sqlite3.OperationalError:
            # Quoting should make this unreachable; a search must still never break a chat.
            logger.warning("full-text query failed: %r", expression, exc_info=True)
            return []
