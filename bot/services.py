"""What the bot does, independent of Telegram: finding articles, summaries, points, settings."""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime

from bot.config import ALGORITHMS, Settings, check_timezone
from bot.errors import (
    ArticleNotFound,
    BadSentenceCount,
    BadTimezone,
    EmptyText,
    NoArticles,
    TextTooLong,
    UnknownAlgorithm,
    UnknownSetting,
)
from bot.intake.lang import article_language
from bot.models import Article, ChatSettings, NewArticle, Points, SearchHit, Summary
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.memo import Memo

# What to show while a summary or points are computed (a "typing…" status, say): not
# entered at all when they come from the cache.
Busy = Callable[[], AbstractAsyncContextManager[object]]

MAX_SENTENCES = 20
MAX_QUERY = 300
# /more shows this many times the chat's summary length.
MORE_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Target:
    """How a command names its article: a reply to a bot message, a number, words or nothing."""

    query: str = ""
    reply_to: int | None = None


def parse_sentences(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_SENTENCES:
        raise BadSentenceCount(value)
    return int(value)


def parse_algorithm(value: str) -> str:
    name = value.strip().lower()
    if name not in ALGORITHMS:
        raise UnknownAlgorithm(value)
    return name


def split_title(text: str) -> NewArticle:
    """Text from a chat: the first line is the title, the rest the article."""
    stripped = text.strip()
    if not stripped:
        raise EmptyText
    title, _, body = stripped.partition("\n")
    body = body.strip()
    if not body:
        # One paragraph: its first sentence serves as the title.
        body = stripped
        title = re.split(r"(?<=[.!?])\s", stripped, maxsplit=1)[0]
    return NewArticle(title=title.strip()[:300], text=body)


class ArticleService:
    def __init__(
        self,
        articles: ArticleRepo,
        cache: SummaryCache,
        chats: ChatRepo,
        settings: Settings,
    ) -> None:
        self.articles = articles
        self.cache = cache
        self.chats = chats
        self.settings = settings
        # The cache's recently used entries, in memory: a cached /summary then costs no
        # trip to SQLite. Article ids are never reused and texts never change, so an
        # entry stays true; one of a deleted article is never asked for again (no
        # article resolves to it) and ages out.
        self._kept: Memo[tuple[int, str, int], Summary | Points] = Memo(1024)

    @property
    def defaults(self) -> ChatSettings:
        return ChatSettings(
            chat_id=0,
            algorithm=self.settings.summary_algorithm,
            sentences=self.settings.summary_sentences,
            timezone=self.settings.default_timezone,
        )

    async def chat_settings(self, chat_id: int) -> ChatSettings:
        return await self.chats.settings(chat_id, default=self.defaults)

    async def resolve(self, chat_id: int, target: Target) -> Article:
        """The article a command is about: the replied-to message's, a number, the best
        search match, or the chat's current one, else the newest."""
        query = target.query.strip()
        if target.reply_to is not None and not query:
            article_id = await self.chats.article_for_message(chat_id, target.reply_to)
            if article_id is not None and (article := await self.articles.get(article_id)):
                return article
        if query:
            number = query.lstrip("№#").strip()
            if number.isdigit():
                article = await self.articles.get(int(number)) if len(number) < 12 else None
                if article is None:
                    raise ArticleNotFound(number)
                return article
            hits = await self.search(query, limit=1)
            if not hits:
                raise ArticleNotFound(query)
            return hits[0].article
        current = await self.chats.current(chat_id)
        if current is not None and (article := await self.articles.get(current)):
            return article
        newest = await self.articles.newest()
        if newest is None:
            raise NoArticles
        return newest

    def focus(self, chat_id: int, article_id: int) -> None:
        """Makes the article the chat's current one, the target of a bare /points."""
        self.chats.record(chat_id, focus=article_id)

    def remember(
        self, chat_id: int, messages: Sequence[tuple[int, int]], *, focus: int | None = None
    ) -> None:
        """Records which article each of the bot's messages (message id, article id) was
        about and, with `focus`, makes that article the chat's current one."""
        self.chats.record(chat_id, focus=focus, messages=messages)

    async def summary(
        self, article: Article, *, algorithm: str, sentences: int, busy: Busy | None = None
    ) -> Summary:
        """From the cache, else computed and cached; `busy()` is entered while computing."""
        key = (article.id, algorithm, sentences)
        if isinstance(kept := self._kept.get(key), Summary):
            return kept
        cached = await self.cache.get_summary(article.id, algorithm, sentences)
        if cached is not None:
            self._kept.put(key, cached)
            return cached
        async with busy() if busy is not None else nullcontext():
            # sumy is CPU-bound: off the event loop, so other chats keep being served.
            chosen = await asyncio.to_thread(
                _summarize, article.text, algorithm=algorithm, sentences=sentences
            )
        result = Summary(article_id=article.id, algorithm=algorithm, sentences=chosen)
        await self.cache.put_summary(result, sentences)
        self._kept.put(key, result)
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
            settings = await self.chat_settings(chat_id)
        count = settings.sentences * MORE_FACTOR if longer else settings.sentences
        return await self.summary(article, algorithm=settings.algorithm, sentences=count, busy=busy)

    async def points(self, article: Article, *, busy: Busy | None = None) -> Points:
        key = (article.id, "points", 0)
        if isinstance(kept := self._kept.get(key), Points):
            return kept
        cached = await self.cache.get_points(article.id)
        if cached is not None:
            self._kept.put(key, cached)
            return cached
        async with busy() if busy is not None else nullcontext():
            result = await asyncio.to_thread(
                _extract_points, article.text, algorithm=self.settings.summary_algorithm
            )
        await self.cache.put_points(article.id, result)
        self._kept.put(key, result)
        return result

    async def forget_summaries(self, article_id: int | None = None) -> None:
        """Drops the cached summaries and points of one article, or of all."""
        await self.cache.clear(article_id)
        self._kept.discard_where(lambda key: article_id is None or key[0] == article_id)

    async def warm(self, article: Article) -> None:
        """Computes the default summary and points so the first request is a cache hit."""
        await self.summary(
            article,
            algorithm=self.settings.summary_algorithm,
            sentences=self.settings.summary_sentences,
        )
        await self.points(article)

    async def latest(self, limit: int) -> list[Article]:
        return await self.articles.latest(limit)

    async def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        return await self.articles.search(query[:MAX_QUERY], limit=limit)

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]:
        if not new.text.strip() or not new.title.strip():
            raise EmptyText
        if len(new.text) > self.settings.max_article_chars:
            raise TextTooLong(len(new.text), self.settings.max_article_chars)
        if not new.lang:
            lang = await asyncio.to_thread(article_language, new.title, new.text)
            new = replace(new, lang=lang)
        article, created = await self.articles.add(new, now=now)
        if created:
            await self.warm(article)
        return article, created

    async def update_settings(self, chat_id: int, key: str, value: str) -> ChatSettings:
        """`/settings algorithm lsa`, `sentences 5`, `timezone Asia/Almaty`; Russian aliases too."""
        key = SETTING_ALIASES.get(key.lower(), key.lower())
        if key == "algorithm":
            await self.chats.update_settings(chat_id, algorithm=parse_algorithm(value))
        elif key == "sentences":
            await self.chats.update_settings(chat_id, sentences=parse_sentences(value))
        elif key == "timezone":
            await self.chats.update_settings(chat_id, timezone=parse_timezone(value))
        else:
            raise UnknownSetting(key)
        return await self.chat_settings(chat_id)


SETTING_ALIASES = {
    "алгоритм": "algorithm",
    "предложения": "sentences",
    "предложений": "sentences",
    "длина": "sentences",
    "пояс": "timezone",
    "tz": "timezone",
    "часовой_пояс": "timezone",
}


def parse_timezone(value: str) -> str:
    try:
        return check_timezone(value)
    except ValueError as exc:
        raise BadTimezone(value) from exc


# The summarizer stack (sumy, nltk, numpy, scipy.sparse) takes most of a second and
# 40 MB to import: loaded in a worker thread, by load_summarizer() (the warm-up after
# start) or by the first summary, so the bot polls without waiting for it.


def load_summarizer() -> None:
    importlib.import_module("bot.nlp.points")  # and with it bot.nlp.summarizer and sumy


def _summarize(text: str, *, algorithm: str, sentences: int) -> tuple[str, ...]:
    from bot.nlp.summarizer import summarize

    return summarize(text, algorithm=algorithm, sentences=sentences)


def _extract_points(text: str, *, algorithm: str) -> Points:
    from bot.nlp.points import extract_points

    return extract_points(text, algorithm=algorithm)
