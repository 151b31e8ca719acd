"""Inline mode: what `@bot words` offers in any chat, a page at a time: the articles
that best match the words, with their summaries, or with no words today's top stories.
Independent of Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.articles import ArticleService
from bot.config import Settings
from bot.models import Article, Summary
from bot.parsing import MAX_QUERY, parse_offset
from bot.stories import StoryService, StoryText

# Results in one answer; Telegram takes at most 50, and a phone shows about five.
PAGE = 10
# Results offered in all, page after page: a search's answer further down than that
# is no answer, and each page costs summaries.
MAX_OFFERED = 50
# Today's top stories: those of the last 24 hours, as /stories lists them.
TODAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class InlinePage:
    """One page of an inline query's answer: articles (a search) or stories (no words),
    and the offset of the next page, "" when this is the last."""

    articles: tuple[tuple[Article, Summary], ...] = ()
    stories: tuple[StoryText, ...] = ()
    next_offset: str = ""


class InlineService:
    def __init__(self, articles: ArticleService, stories: StoryService, settings: Settings) -> None:
        self._articles = articles
        self._stories = stories
        self._settings = settings

    async def page(self, query: str, offset: str, *, now: datetime) -> InlinePage:
        """The page at `offset` (the previous page's `next_offset`) for `query`: any
        text, searched as /search searches it."""
        start = parse_offset(offset, limit=MAX_OFFERED - 1)
        end = min(start + PAGE, MAX_OFFERED)
        words = query.strip()[:MAX_QUERY]
        if not words:
            return await self._top(start, end, now=now)
        # One more than the page, to know whether there is a next one.
        hits = await self._articles.search(words, limit=end + 1)
        found = []
        for hit in hits[start:end]:
            summary = await self._articles.summary(
                hit.article,
                algorithm=self._settings.summary_algorithm,
                sentences=self._settings.summary_sentences,
            )
            found.append((hit.article, summary))
        return InlinePage(articles=tuple(found), next_offset=_next(len(hits), end))

    async def _top(self, start: int, end: int, *, now: datetime) -> InlinePage:
        ranked = await self._stories.ranked(now - TODAY, now=now)
        told = []
        for story_id, _ in ranked[start:end]:
            story = await self._stories.tell(story_id)
            if story is not None:
                told.append(story)
        return InlinePage(stories=tuple(told), next_offset=_next(len(ranked), end))


def _next(found: int, end: int) -> str:
    return str(end) if found > end and end < MAX_OFFERED else ""
