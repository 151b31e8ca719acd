"""Summarising any link someone sends: the page is fetched through the intake's safe
fetcher, its text extracted, summarised and kept in the chat's link cache (its own table,
a few pages a chat, for a day), never in the shared news store, so that anyone may ask.

Asking is held to LINKS_PER_MINUTE pages a minute per sender (each a fetch and a summary);
the count is kept in the process that answers.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.articles import MORE_FACTOR, Busy
from bot.chats import ChatService
from bot.config import Settings
from bot.errors import TooManyLinks
from bot.intake import Fetcher, normalize_url
from bot.intake.lang import article_language
from bot.intake.pages import extract_page
from bot.models import LinkPage, Points, is_row_id
from storage.links import LinkRepo
from storage.memo import Memo

# Pages kept per chat, and for how long: enough for follow-ups on what was asked today.
KEEP_PER_CHAT = 20
KEEP_FOR = timedelta(hours=24)
WINDOW = timedelta(minutes=1)
# Senders whose recent requests are remembered; past it the oldest are forgotten (and
# merely start with a fresh minute).
MAX_SENDERS = 10_000
# What can be asked about a kept page: "link" is the first answer (summary and points).
LINK_ACTIONS = ("link", "summary", "more", "points", "full")


@dataclass(frozen=True, slots=True)
class LinkAnswer:
    page: LinkPage
    action: str
    timezone: str
    summary: tuple[str, ...] = ()
    points: Points | None = None


class LinkService:
    def __init__(
        self, fetcher: Fetcher, pages: LinkRepo, chats: ChatService, settings: Settings
    ) -> None:
        self._fetcher = fetcher
        self._pages = pages
        self._chats = chats
        self._settings = settings
        self.per_minute = settings.links_per_minute
        self._asked: dict[int, deque[datetime]] = {}
        self._computed: Memo[tuple[int, datetime, str, int], tuple[str, ...] | Points] = Memo(256)

    def allow(self, sender: int, *, now: datetime) -> None:
        """Counts a request of `sender`; raises TooManyLinks over the minute's limit."""
        asked = self._asked.pop(sender, None) or deque()
        while asked and now - asked[0] >= WINDOW:
            asked.popleft()
        # Re-inserted last: the dict's order is the order senders were last seen.
        self._asked[sender] = asked
        if len(asked) >= self.per_minute:
            wait = (asked[0] + WINDOW - now).total_seconds()
            raise TooManyLinks(max(1, math.ceil(wait)))
        asked.append(now)
        while len(self._asked) > MAX_SENDERS:
            del self._asked[next(iter(self._asked))]

    async def summarize(
        self, chat_id: int, sender: int, url: str, *, now: datetime, busy: Busy | None = None
    ) -> LinkAnswer:
        """The first answer about the page at `url`: fetched (refused as the fetcher
        refuses), kept in the chat's cache, with its summary and points."""
        self.allow(sender, now=now)
        url = self._fetcher.check(url)
        response = await self._fetcher.get(url)
        new = await asyncio.to_thread(
            extract_page, response.body, url=response.url, charset=response.charset
        )
        text = new.text[: self._settings.max_article_chars]
        lang = await asyncio.to_thread(article_language, new.title, text)
        page = await self._pages.put(
            chat_id,
            normalize_url(response.url),
            title=new.title,
            source=new.source,
            text=text,
            lang=lang,
            now=now,
            expires_at=now + KEEP_FOR,
            keep=KEEP_PER_CHAT,
        )
        return await self.follow_up(chat_id, page, "link", busy=busy)

    async def get(self, chat_id: int, page_id: int, *, now: datetime) -> LinkPage | None:
        if not is_row_id(page_id):
            return None
        return await self._pages.get(chat_id, page_id, now=now)

    async def for_message(self, chat_id: int, message_id: int, *, now: datetime) -> LinkPage | None:
        """The kept page a bot message in this chat was about, if it is still kept."""
        return await self._pages.for_message(chat_id, message_id, now=now)

    async def remember(self, chat_id: int, page_id: int, message_ids: list[int]) -> None:
        await self._pages.remember(chat_id, page_id, message_ids)

    async def follow_up(
        self, chat_id: int, page: LinkPage, action: str, *, busy: Busy | None = None
    ) -> LinkAnswer:
        """The answer to a button or a reply on a kept page, at the chat's settings."""
        settings = await self._chats.settings(chat_id)
        zone = settings.timezone
        if action == "full":
            return LinkAnswer(page, action, zone)
        points = None
        if action in ("link", "points"):
            points = await self._points(page, busy)
        summary: tuple[str, ...] = ()
        if action != "points":
            count = settings.sentences * (MORE_FACTOR if action == "more" else 1)
            summary = await self._summary(page, settings.algorithm, count, busy)
        return LinkAnswer(page, action, zone, summary=summary, points=points)

    async def _summary(
        self, page: LinkPage, algorithm: str, sentences: int, busy: Busy | None
    ) -> tuple[str, ...]:
        def work() -> tuple[str, ...]:
            from bot.nlp.summarizer import summarize

            return summarize(page.text, algorithm=algorithm, sentences=sentences)

        result = await self._compute((page.id, page.fetched_at, algorithm, sentences), work, busy)
        assert isinstance(result, tuple)
        return result

    async def _points(self, page: LinkPage, busy: Busy | None) -> Points:
        algorithm = self._settings.summary_algorithm

        def work() -> Points:
            from bot.nlp.points import extract_points

            return extract_points(page.text, algorithm=algorithm)

        result = await self._compute((page.id, page.fetched_at, "points", 0), work, busy)
        assert isinstance(result, Points)
        return result

    async def _compute(
        self,
        key: tuple[int, datetime, str, int],
        work: Callable[[], tuple[str, ...] | Points],
        busy: Busy | None,
    ) -> tuple[str, ...] | Points:
        kept = self._computed.get(key)
        if kept is not None:
            return kept
        if busy is None:
            result = await asyncio.to_thread(work)
        else:
            async with busy():
                result = await asyncio.to_thread(work)
        self._computed.put(key, result)
        return result
