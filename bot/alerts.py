"""Alerts: a new story that matches a chat's interests is sent as it arrives.

`select_alerts` decides, for one newly placed article: a chat gets an alert when it has
alerts on, something in the article is followed and nothing excluded
(bot.nlp.interests), the story is new to it (or this is an update and the chat has
`/alerts updates`), and it had fewer than ALERTS_PER_HOUR alerts in the past hour (the
rest are held back and wait for the digest); in its quiet hours (local time) the alert
is silent.

`AlertService` runs in the leader only (bot/leader.py, started by `App.lead`). It reads
the story placements (`articles.story_seq`) past its stored progress, so it sees the
articles every process stores; this process's own stores wake it at once, the others'
are found within `POLL_SECONDS`. Each placement's alerts are recorded in the delivery
ledger (kind "alert", one ref per story and article) together with the progress past
it, in one transaction: the ledger's sender (bot/outbox.py) sends them with the
digest's pacing and 429/403/migration handling, and never twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import language, render
from bot.articles import ArticleService
from bot.chats import ChatService
from bot.clock import Clock, as_utc
from bot.interests import interest_index
from bot.models import Article, ChatSettings, OutboxPart
from bot.nlp.interests import InterestIndex, ItemTerms, item_terms
from bot.outbox import Outbox, part
from bot.parsing import is_quiet
from bot.stories import StoryService
from storage.alerts import AlertRecord, AlertRepo, Placement
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# How often the leader looks for articles stored by other processes.
POLL_SECONDS = 2.0
# Placements read per round trip.
BATCH = 200
# An article published longer ago than this is not news any more (an archive loaded
# today): it goes to the digest, never to an alert.
MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Alert:
    chat_id: int
    story_id: int
    # Sent with disable_notification: the chat's quiet hours.
    silent: bool
    # Over the hourly cap: recorded, not sent; the digest brings the story.
    held: bool = False


def select_alerts(
    story_id: int,
    terms: ItemTerms,
    *,
    update: bool,
    index: InterestIndex,
    chats: Mapping[int, ChatSettings],
    alerted: Collection[int],
    recent: Mapping[int, Sequence[datetime]],
    per_hour: int,
    now: datetime,
    muted: Collection[int] = (),
) -> list[Alert]:
    """The alerts for one article of a story that has just arrived.

    `chats` holds the settings of the chats the index may name; `alerted` the chats
    already told of this story (or held back from it); `recent` each chat's alert
    times, any period; `muted` the chats that turned the article's outlet off."""
    now = as_utc(now)
    found = []
    for chat_id in sorted(index.match(terms)):
        chat = chats.get(chat_id)
        if chat is None or chat.alerts == "off" or chat_id in muted:
            continue
        if chat_id in alerted and not (update and chat.alerts == "updates"):
            continue
        held = _within_hour(recent.get(chat_id, ()), now) >= per_hour
        local = now.astimezone(ZoneInfo(chat.timezone)).time()
        found.append(Alert(chat_id, story_id, silent=is_quiet(chat.quiet, local), held=held))
    return found


def _within_hour(times: Iterable[datetime], now: datetime) -> int:
    return sum(1 for moment in times if now - as_utc(moment) < HOUR)


class AlertService:
    def __init__(
        self,
        repo: AlertRepo,
        *,
        articles: ArticleService,
        stories: StoryService,
        chats: ChatService,
        subscriptions: SubscriptionRepo,
        outbox: Outbox,
        per_hour: int,
        clock: Clock,
        poll: float = POLL_SECONDS,
    ) -> None:
        self._repo = repo
        self._articles = articles
        self._stories = stories
        self._chats = chats
        self._subscriptions = subscriptions
        self._outbox = outbox
        self.per_hour = per_hour
        self._clock = clock
        self._poll = poll
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """An article was stored here: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, *, now: datetime) -> int:
        """One pass over the placements not looked at yet; returns how many alerts were
        recorded to be sent. The first pass ever starts from the newest placement: what
        was stored before alerts existed is no news."""
        async with self._lock:
            seq = await self._repo.progress()
            if seq is None:
                await self._repo.set_progress(await self._stories.repo.last_seq())
                return 0
            placements = await self._repo.placements_after(seq, limit=BATCH)
            if not placements:
                return 0
            rows = await self._repo.alerting_interests()
            index = interest_index(rows)
            recorded = 0
            for placement in placements:
                recorded += await self._placement(placement, index, now=now)
            if recorded:
                self._outbox.wake()
            if len(placements) == BATCH:
                # More are waiting: the loop comes straight back for them.
                self._wake.set()
            return recorded

    async def _placement(self, placement: Placement, index: InterestIndex, *, now: datetime) -> int:
        article = await self._articles.get(placement.article_id)
        if article is None or as_utc(now) - as_utc(article.date) > MAX_AGE:
            await self._repo.record(placement, [], now=now)
            return 0
        terms = await asyncio.to_thread(item_terms, article.title, article.text)
        matched = index.match(terms)
        if not matched:
            await self._repo.record(placement, [], now=now)
            return 0
        chats = {chat_id: await self._chats.settings(chat_id) for chat_id in matched}
        alerts = select_alerts(
            placement.story_id,
            terms,
            update=placement.update,
            index=index,
            chats=chats,
            alerted=await self._repo.alerted(placement.story_id, matched),
            recent=await self._repo.sent_since(matched, as_utc(now) - HOUR),
            per_hour=self.per_hour,
            now=now,
            muted=await self._repo.muting(article.source, matched),
        )
        records = []
        for alert in alerts:
            parts = () if alert.held else await self._parts(alert, article, placement, chats)
            records.append(AlertRecord(alert.chat_id, alert.held, parts))
        await self._repo.record(placement, records, now=now)
        return sum(1 for r in records if r.parts)

    async def _parts(
        self,
        alert: Alert,
        article: Article,
        placement: Placement,
        chats: Mapping[int, ChatSettings],
    ) -> tuple[OutboxPart, ...]:
        # To the forum topic the chat subscribed from, like its digest.
        sub = await self._subscriptions.get(alert.chat_id)
        thread = sub.thread_id if sub is not None and sub.active else None
        story = await self._stories.tell(alert.story_id)
        chosen = chats[alert.chat_id].language
        with language.use(chosen or language.DEFAULT):
            reply = render.alert_reply(story, article, update=placement.update)
        return (
            part(
                reply.html,
                reply.keyboard,
                reply.article_id,
                thread_id=thread,
                silent=alert.silent,
            ),
        )

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Starts the passes; the first pass ever has its progress stored first, so an
        article stored right after the start is news to it."""
        if self._loop is not None:
            return
        if await self._repo.progress() is None:
            await self._repo.set_progress(await self._stories.repo.last_seq())
        self._loop = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run(now=self._clock())
            except Exception:
                # The store failed this pass; the progress did not move, the next pass
                # tries the same placements again.
                log.exception("alerts pass failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with suppress(asyncio.CancelledError):
                await loop
