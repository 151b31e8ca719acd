"""Articles: finding the one a command means, its summaries and points, adding,
searching. Independent of Telegram."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.chats import ChatService
from bot.config import Settings
from bot.errors import ArticleNotFound, EmptyText, NoArticles, TextTooLong
from bot.intake.lang import article_language
from bot.models import Article, ChatSettings, NewArticle, Points, SearchHit, Summary, is_row_id
from bot.parsing import MAX_QUERY, number_in, parse_number
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.memo import Memo
from storage.seeds import load_seeds

if TYPE_CHECKING:
    from bot.stories import StoryService

# What to show while a summary or points are computed (a "typing…" status, say): not
# entered at all when they come from the cache.
Busy = Callable[[], AbstractAsyncContextManager[object]]

# A summary's article, algorithm and length; points are (article, "points", 0).
Key = tuple[int, str, int]
# /more shows this many times the chat's summary length.
MORE_FACTOR = 3
# What can be asked about an article, by command or button.
FOLLOW_UPS = ("summary", "more", "points", "full")
# Articles stored (and grouped) per transaction by add_many: the write lock is held for
# one batch at a time, and a batch's lemmas are all that is held in memory at once.
BATCH = 200


@dataclass(frozen=True, slots=True)
class Target:
    """How a command names its article: a reply to a bot message, a number, words or nothing."""

    query: str = ""
    reply_to: int | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The answer to one follow-up on an article, ready to render: the summary for
    "summary" and "more", the points for "points", neither for "full"."""

    article: Article
    action: str
    timezone: str
    summary: Summary | None = None
    points: Points | None = None


class ArticleService:
    def __init__(
        self,
        articles: ArticleRepo,
        cache: SummaryCache,
        chats: ChatService,
        settings: Settings,
        *,
        stories: StoryService | None = None,
    ) -> None:
        self._articles = articles
        self.stories = stories
        self._cache = cache
        self._chats = chats
        self._settings = settings
        # The cache's recently used entries, in memory: a cached /summary then costs no
        # trip to SQLite. Article ids are never reused and texts never change, so an
        # entry stays true; one of a deleted article is never asked for again (no
        # article resolves to it) and ages out.
        self._kept: Memo[Key, Summary | Points] = Memo(1024)
        self._running: dict[Key, asyncio.Future[Summary | Points]] = {}

    async def get(self, article_id: int) -> Article | None:
        # A number from outside (a forged button, say) may be past any row id the
        # store can hold: no such article, rather than an error from the driver.
        if not is_row_id(article_id):
            return None
        return await self._articles.get(article_id)

    async def timezone(self, chat_id: int) -> str:
        """The zone the chat's dates are shown in."""
        return (await self._chats.settings(chat_id)).timezone

    async def resolve(self, chat_id: int, target: Target) -> Article:
        """The article a command is about: the replied-to message's, a number, the best
        search match, or the chat's current one, else the newest."""
        query = target.query.strip()
        if target.reply_to is not None and not query:
            article_id = await self._chats.article_for_message(chat_id, target.reply_to)
            if article_id is not None and (article := await self._articles.get(article_id)):
                return article
        if target.reply_to is not None and self.stories is not None and query:
            # "/points 2" in reply to a digest means its story 2: the story's main article.
            digits = number_in(query)
            number = parse_number(digits) if digits is not None else None
            if number is not None:
                story_id = await self.stories.numbered(chat_id, number, target.reply_to)
                told = await self.stories.tell(story_id, sentences=0) if story_id else None
                if told is not None:
                    return told.main
        if query:
            digits = number_in(query)
            if digits is not None:
                number = parse_number(digits)
                article = await self._articles.get(number) if number is not None else None
                if article is None:
                    raise ArticleNotFound(digits)
                return article
            hits = await self.search(query, limit=1)
            if not hits:
                raise ArticleNotFound(query)
            return hits[0].article
        current = await self._chats.current(chat_id)
        if current is not None and (article := await self._articles.get(current)):
            return article
        newest = await self._articles.newest()
        if newest is None:
            raise NoArticles
        return newest

    async def follow_up(
        self, chat_id: int, article: Article, action: str, *, busy: Busy | None = None
    ) -> FollowUp:
        """What /summary, /more, /points or /full (or their buttons) answer, at the
        chat's settings."""
        settings = await self._chats.settings(chat_id)
        if action == "full":
            return FollowUp(article, action, settings.timezone)
        if action == "points":
            points = await self.points(article, busy=busy)
            return FollowUp(article, action, settings.timezone, points=points)
        summary = await self.chat_summary(
            chat_id, article, longer=action == "more", settings=settings, busy=busy
        )
        return FollowUp(article, action, settings.timezone, summary=summary)

    async def summary(
        self, article: Article, *, algorithm: str, sentences: int, busy: Busy | None = None
    ) -> Summary:
        """From the cache, else computed and cached; `busy()` is entered while computing."""
        key = (article.id, algorithm, sentences)
        if isinstance(kept := self._kept.get(key), Summary):
            return kept

        async def fill() -> Summary:
            cached = await self._cache.get_summary(article.id, algorithm, sentences)
            if cached is not None:
                return cached
            async with busy() if busy is not None else nullcontext():
                # sumy is CPU-bound: off the event loop, so other chats keep being served.
                chosen = await asyncio.to_thread(
                    _summarize, article.text, algorithm=algorithm, sentences=sentences
                )
            result = Summary(article_id=article.id, algorithm=algorithm, sentences=chosen)
            await self._cache.put_summary(result, sentences)
            return result

        result = await self._once(key, fill)
        assert isinstance(result, Summary)
        return result

    async def chat_summary(
        self,
        chat_id: int,
        article: Article,
        *,
        longer: bool,
        settings: ChatSettings | None = None,
        busy: Busy | None = None,
    ) -> Summary:
        """The summary at the chat's settings; pass them when the caller has them already."""
        if settings is None:
            settings = await self._chats.settings(chat_id)
        count = settings.sentences * MORE_FACTOR if longer else settings.sentences
        return await self.summary(article, algorithm=settings.algorithm, sentences=count, busy=busy)

    async def points(self, article: Article, *, busy: Busy | None = None) -> Points:
        key = (article.id, "points", 0)
        if isinstance(kept := self._kept.get(key), Points):
            return kept

        async def fill() -> Points:
            cached = await self._cache.get_points(article.id)
            if cached is not None:
                return cached
            async with busy() if busy is not None else nullcontext():
                result = await asyncio.to_thread(
                    _extract_points, article.text, algorithm=self._settings.summary_algorithm
                )
            await self._cache.put_points(article.id, result)
            return result

        result = await self._once(key, fill)
        assert isinstance(result, Points)
        return result

    async def _once(
        self, key: Key, fill: Callable[[], Awaitable[Summary | Points]]
    ) -> Summary | Points:
        """Fills the memo for `key` once, however many callers ask at the same time: at a
        digest's minute every subscribed chat asks for the same new summaries, and each
        computing its own would queue them all behind one another in sumy's threads. A
        caller's `busy()` shows only in the first chat to ask."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(fill())
            self._running[key] = running

            def done(task: asyncio.Future[Summary | Points]) -> None:
                del self._running[key]
                if not task.cancelled() and task.exception() is None:
                    self._kept.put(key, task.result())

            running.add_done_callback(done)
        # Shielded: one caller giving up (its update cancelled) must not cancel the
        # work the others wait for.
        return await asyncio.shield(running)

    async def forget_summaries(self, article_id: int | None = None) -> None:
        """Drops the cached summaries and points of one article, or of all."""
        await self._cache.clear(article_id)
        self._kept.discard_where(lambda key: article_id is None or key[0] == article_id)

    async def warm(self, article: Article) -> None:
        """Computes the default summary and points so the first request is a cache hit."""
        await self.summary(
            article,
            algorithm=self._settings.summary_algorithm,
            sentences=self._settings.summary_sentences,
        )
        await self.points(article)

    async def load_seeds(self, folder: Path, *, now: datetime) -> int:
        """Stores the articles in `folder` that are not stored yet; the warm-up after
        start computes their summaries."""
        return await load_seeds(folder, _Stored(self), now=now)

    async def store(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        """Stores the article and puts it into its story: every way in comes here."""
        return (await self.store_many([new], now=now))[0]

    async def store_many(
        self, items: Sequence[NewArticle], *, now: datetime
    ) -> list[tuple[Article, bool]]:
        """Stores the articles in one transaction and puts the new ones into their
        stories in another: the same stories as storing them one by one."""
        stored = await self._articles.add_many(items, now=now)
        if self.stories is not None:
            await self.stories.assign_many([article for article, created in stored if created])
        return stored

    async def latest(self, limit: int) -> list[Article]:
        return await self._articles.latest(limit)

    async def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        return await self._articles.search(query[:MAX_QUERY], limit=limit)

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        """Checks, stores and groups one article, and computes its default summary and
        points: what /add and feeds do, for an article someone may ask about next."""
        article, created = (await self.add_many([new], now=now))[0]
        if created:
            await self.warm(article)
        return article, created

    async def add_many(
        self, items: Sequence[NewArticle], *, now: datetime
    ) -> list[tuple[Article, bool]]:
        """Checks the articles (the first that fails raises before any is stored), tells
        the language of those that do not say it, stores and groups them in batches.
        No summary is computed here: a story's text is drawn from its articles' leads,
        an article's summary is computed once when first asked for (or by the warm-up
        of the newest articles after start)."""
        for new in items:
            if not new.text.strip() or not new.title.strip():
                raise EmptyText
            if len(new.text) > self._settings.max_article_chars:
                raise TextTooLong(len(new.text), self._settings.max_article_chars)
        stored: list[tuple[Article, bool]] = []
        for start in range(0, len(items), BATCH):
            batch = await asyncio.to_thread(_with_languages, items[start : start + BATCH])
            stored += await self.store_many(batch, now=now)
        return stored


class _Stored:
    """Seeds go in stored and grouped; their summaries are computed after start."""

    def __init__(self, service: ArticleService) -> None:
        self._service = service

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        return await self._service.store(new, now=now)


# The summarizer stack (sumy, nltk, numpy, scipy.sparse) takes most of a second and
# 40 MB to import: loaded in a worker thread, by load_summarizer() (the warm-up after
# start) or by the first summary, so the bot polls without waiting for it.


def _with_languages(items: Sequence[NewArticle]) -> list[NewArticle]:
    return [
        new if new.lang else replace(new, lang=article_language(new.title, new.text))
        for new in items
    ]


def load_summarizer() -> None:
    importlib.import_module("bot.nlp.points")  # and with it bot.nlp.summarizer and sumy


def _summarize(text: str, *, algorithm: str, sentences: int) -> tuple[str, ...]:
    from bot.nlp.summarizer import summarize

    return summarize(text, algorithm=algorithm, sentences=sentences)


def _extract_points(text: str, *, algorithm: str) -> Points:
    from bot.nlp.points import extract_points

    return extract_points(text, algorithm=algorithm)
