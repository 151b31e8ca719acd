"""Articles and their full-text index over lemmas."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from razdel import sentenize, tokenize

from bot.errors import EmptyText
from bot.models import Article, NewArticle, SearchHit
from bot.nlp.index import index_text, query_groups, word_variants
from storage.db import Database, Row, from_db_time, from_db_time_or_none, to_db_time
from storage.memo import Memo
from storage.search import search_index

logger = logging.getLogger(__name__)

_COLUMNS = "id, title, text, source, url, published_at, added_at, content_hash, lang"
_COLUMNS_A = ", ".join(f"a.{name.strip()}" for name in _COLUMNS.split(","))

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


def _article(row: Row) -> Article:
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


# Inflection changes a Russian word's ending, rarely its start.
_STEM_START = 3


def make_snippet(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> str:
    """Plain text around the first sentence that holds one of the lemmas `terms`."""
    # Analysing every word of a text costs more than the search itself (pymorphy3, for
    # words not seen yet): only words that begin like a term are analysed. A word that
    # changes its stem ("люди" for "человек") shows the opening instead of its sentence.
    starts = tuple({term[:_STEM_START] for term in terms})
    for sentence in sentenize(text):
        lowered = sentence.text.lower().replace("ё", "е")
        if not any(start in lowered for start in starts):
            continue
        for token in tokenize(sentence.text):
            word = token.text.lower().replace("ё", "е")
            if (
                word.startswith(starts)
                and any(ch.isalnum() for ch in word)
                and not terms.isdisjoint(word_variants(token.text))
            ):
                return _window(sentence.text, token.start, token.stop, width)
    # The match was in the title only: the opening of the text says the most.
    return _window(text, 0, 0, width)


def _snippets(texts: list[str], terms: set[str]) -> list[str]:
    return [make_snippet(text, terms) for text in texts]


def _lemmas_of(texts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(index_text(title), index_text(text)) for title, text in texts]


def _prepared(
    new: NewArticle, now: datetime
) -> tuple[str, str, str | None, str | None, str, str, str, str]:
    """The row `add` inserts: title, source, url, published_at, added_at, text,
    content_hash, lang."""
    title = _clean(new.title)
    text = _clean(new.text)
    if not normalize_text(text):
        raise EmptyText()
    url = _clean(new.url or "") or None
    published = to_db_time(sane_date(new.published_at, now=now)) if new.published_at else None
    return (
        title,
        _clean(new.source),
        url,
        published,
        to_db_time(now),
        text,
        content_hash(text),
        new.lang or "ru",
    )


def _clean(value: str) -> str:
    # PostgreSQL text cannot hold a NUL; no reader misses one, so neither store keeps it.
    return value.replace("\x00", "").strip()


class ArticleRepo:
    def __init__(self, db: Database, *, candidates: int | None = None) -> None:
        self._db = db
        self._index = search_index(db, candidates)
        # Articles never change once stored, so even a store shared with other
        # processes keeps this true (only delete() removes one, and no command does).
        self._recent: Memo[int, Article] = Memo(256)

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        """Stores the article; a duplicate by URL or by text returns the stored one and False."""
        return (await self.add_many([new], now=now))[0]

    async def add_many(
        self, items: Sequence[NewArticle], *, now: datetime
    ) -> list[tuple[Article, bool]]:
        """Stores the articles in one transaction, in order, each as `add` would: a
        duplicate (of a stored article or of one earlier in `items`) gives the stored one
        and False. An empty text raises before anything is stored."""
        rows = [_prepared(new, now) for new in items]
        # pymorphy3 over a long text takes a while: keep it off the event loop, and
        # outside the write transaction; one trip to the thread for the whole batch.
        lemmas = await asyncio.to_thread(_lemmas_of, [(row[0], row[5]) for row in rows])
        stored: list[tuple[Article, bool]] = []
        async with self._db.transaction():
            for values, (title_lemmas, text_lemmas) in zip(rows, lemmas, strict=True):
                stored.append(await self._insert(values, title_lemmas, text_lemmas))
        return stored

    async def _insert(
        self, values: tuple[object, ...], title_lemmas: str, text_lemmas: str
    ) -> tuple[Article, bool]:
        row = await self._db.fetchone(
            "INSERT INTO articles (title, source, url, published_at, added_at, text,"
            " content_hash, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            values,
        )
        if row is None:
            url, digest = values[2], values[6]
            existing = await self._db.fetchone(
                f"SELECT {_COLUMNS} FROM articles WHERE url = ? OR content_hash = ?"
                # Not `url = ? DESC`: a NULL comparison sorts first in PostgreSQL.
                " ORDER BY CASE WHEN url = ? THEN 0 ELSE 1 END LIMIT 1",
                (url, digest, url),
            )
            assert existing is not None, "a conflict implies a stored row"
            return _article(existing), False
        await self._index.add(row["id"], title_lemmas, text_lemmas)
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

    async def get_many(self, ids: Sequence[int]) -> list[Article]:
        """The stored articles of `ids`, in that order (missing ones left out)."""
        found: dict[int, Article] = {}
        wanted = []
        for i in dict.fromkeys(ids):
            if (hit := self._recent.get(i)) is not None:
                found[i] = hit
            else:
                wanted.append(i)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM articles WHERE id IN ({marks})", chunk
            )
            for row in rows:
                found[row["id"]] = _article(row)
        return [found[i] for i in dict.fromkeys(ids) if i in found]

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
        sql = f"SELECT {_COLUMNS} FROM articles WHERE added_at > ? ORDER BY added_at, id"
        if limit is None:
            rows = await self._db.fetchall(sql, (to_db_time(since),))
        else:
            rows = await self._db.fetchall(f"{sql} LIMIT ?", (to_db_time(since), max(limit, 0)))
        return [_article(row) for row in rows]

    async def count_since(self, since: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM articles WHERE added_at > ?", (to_db_time(since),)
        )
        return int(row[0]) if row else 0

    async def sources(self, *, limit: int = 50) -> list[str]:
        """The outlets of stored articles, the one with most articles first."""
        rows = await self._db.fetchall(
            "SELECT source FROM articles WHERE source <> '' GROUP BY source"
            " ORDER BY count(*) DESC, source LIMIT ?",
            (limit,),
        )
        return [row["source"] for row in rows]

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
        rows = await self._match(terms, every_word=True, limit=limit)
        if not rows and len(terms) > 1:
            rows = await self._match(terms, every_word=False, limit=limit)
        wanted = {form for group in terms for form in group}
        found = [_article(row) for row in rows]
        # One trip to a worker thread for all of them: each trip costs a wait for the GIL.
        snippets = await asyncio.to_thread(_snippets, [a.text for a in found], wanted)
        return [
            SearchHit(article, snippet) for article, snippet in zip(found, snippets, strict=True)
        ]

    async def _match(
        self, terms: list[tuple[str, ...]], *, every_word: bool, limit: int
    ) -> list[Row]:
        try:
            return await self._index.match(
                terms, every_word=every_word, limit=limit, columns=_COLUMNS_A
            )
        except self._db.errors:
            # Terms are parameters or quoted; a search must still never break a chat.
            logger.warning("full-text query failed: %r", terms, exc_info=True)
            return []
