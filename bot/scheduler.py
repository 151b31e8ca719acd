"""APScheduler wiring for daily digests.

APScheduler only decides *when* to wake up; what a wake-up does lives in plain methods
that take `now` (`run_digest`, `catch_up`), so tests drive them with any clock.

Jobs live in memory and are rebuilt from SQLite at every start; SQLite is the one truth
about who is subscribed and which digests went out. A digest is claimed in SQLite
(`digest_runs`, one row per chat and local date) before it is sent and completed after,
so a second wake-up for the same day sends nothing. A crash between sending and
completing leaves the run pending; the next start sends it again if it is still within
the grace period, so delivery is at least once: a chat may then see that digest twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot import render
from bot.config import Settings
from bot.delivery import Deliverer, Limits
from bot.digest import DigestService, date_label
from bot.models import Subscription
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)

# A wake-up this late still counts as on time, whatever the grace period: the event loop
# may have been busy at the minute itself.
ON_TIME = timedelta(minutes=5)
# Chats whose missed digests are built and sent at once after a start; the Deliverer
# paces the messages themselves.
CATCH_UP_CONCURRENCY = 16


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def scheduled_at(sub: Subscription, period: str) -> datetime:
    """The instant of the chat's digest on the local date `period`, in UTC.

    A wall time skipped by a DST change (02:30 on a spring-forward night) resolves with
    the offset from before the change, i.e. an hour later on the new clock; a repeated
    one (01:30 on a fall-back night) means its first occurrence. This is also where
    APScheduler's CronTrigger fires, so a wake-up always finds its own day due.
    """
    day = date.fromisoformat(period)
    local = datetime.combine(day, sub.at, tzinfo=ZoneInfo(sub.timezone))
    return local.astimezone(UTC)


def latest_due(sub: Subscription, now: datetime) -> tuple[str, datetime] | None:
    """The most recent digest the subscription should have had by `now`: its period
    (the local date) and scheduled instant. None for an ended subscription."""
    if not sub.active:
        return None
    now = _utc(now)
    today = now.astimezone(ZoneInfo(sub.timezone)).date()
    for day in (today, today - timedelta(days=1)):
        at = scheduled_at(sub, day.isoformat())
        if at <= now:
            return day.isoformat(), at
    # Unreachable: yesterday's time of day is always before today began.
    return None


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one chat's digest messages."""

    chat_id: int  # where they went: the new id if the group became a supergroup
    messages: int
    failed: bool = False
    blocked: bool = False


class DigestScheduler:
    def __init__(
        self,
        bot: Bot,
        digests: DigestService,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        limits: Limits | None = None,
    ) -> None:
        self.bot = bot
        self.digests = digests
        self.settings = settings
        self.clock = clock
        self.grace = max(timedelta(hours=settings.digest_grace_hours), ON_TIME)
        self.deliverer = Deliverer(
            bot, on_blocked=self.on_blocked, on_migrated=self.on_migrated, limits=limits
        )
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: set[asyncio.Task[int]] = set()
        self._running = False

    @property
    def subscriptions(self) -> SubscriptionRepo:
        return self.digests.subscriptions

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Schedules every active subscription, then sends what was missed while the bot
        was down, in the background so that updates are served meanwhile."""
        for sub in await self.subscriptions.active():
            self._schedule(sub)
        if not self._running:
            self.scheduler.start()
            self._running = True
        task = asyncio.create_task(self.catch_up(self.clock()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._running:
            # Also cancels digests being sent; their runs stay pending for the next start.
            self.scheduler.shutdown(wait=False)
            self._running = False

    @property
    def running(self) -> bool:
        return self._running

    async def idle(self) -> None:
        """Waits for the start-up catch-up to finish (tests, orderly shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- jobs -----------------------------------------------------------------------

    @staticmethod
    def job_id(chat_id: int) -> str:
        return f"digest:{chat_id}"

    def _schedule(self, sub: Subscription) -> None:
        if not self._running and self.scheduler.get_job(self.job_id(sub.chat_id)):
            # Before start() APScheduler queues jobs without replacing same-id ones.
            self.scheduler.remove_job(self.job_id(sub.chat_id))
        self.scheduler.add_job(
            self.fire,
            CronTrigger(hour=sub.at.hour, minute=sub.at.minute, timezone=ZoneInfo(sub.timezone)),
            args=(sub.chat_id,),
            id=self.job_id(sub.chat_id),
            replace_existing=True,
            # run_digest decides about lateness itself; this only stops APScheduler from
            # dropping a wake-up the event loop was too busy to make on the dot.
            misfire_grace_time=max(1, int(self.grace.total_seconds())),
            coalesce=True,
            max_instances=1,
        )

    async def reschedule(self, chat_id: int) -> Subscription | None:
        """Brings the chat's job in line with SQLite: after /subscribe, /unsubscribe, a
        time zone change, a migration or a block. Returns the active subscription."""
        sub = await self.subscriptions.get(chat_id)
        if sub is not None and sub.active:
            self._schedule(sub)
            return sub
        if self.scheduler.get_job(self.job_id(chat_id)) is not None:
            self.scheduler.remove_job(self.job_id(chat_id))
        return None

    def next_run(self, chat_id: int) -> datetime | None:
        """When the chat's next digest is due by our clock, None without a job."""
        job = self.scheduler.get_job(self.job_id(chat_id))
        if job is None:
            return None
        moment = job.trigger.get_next_fire_time(None, _utc(self.clock()))
        return _utc(moment) if moment is not None else None

    async def fire(self, chat_id: int) -> None:
        """What APScheduler calls at the chat's local time."""
        await self.run_digest(chat_id, now=self.clock())

    # -- the work -------------------------------------------------------------------

    async def run_digest(self, chat_id: int, *, now: datetime) -> bool:
        """Sends the chat's latest due digest unless it was sent (or is being sent), or is
        `digest_grace_hours` late or more. True when this call sent it."""
        sub = await self.subscriptions.get(chat_id)
        due = latest_due(sub, now) if sub is not None else None
        if sub is None or due is None:
            return False
        period, at = due
        if _utc(now) - at >= self.grace:
            log.info("chat %s: digest for %s is %s late, skipped", chat_id, period, now - at)
            return False
        # The claim is the one guard against twice: only its winner sends.
        if not await self.subscriptions.claim_run(chat_id, period, now=now):
            return False
        return await self._send_period(chat_id, period, now=now)

    async def catch_up(self, now: datetime) -> int:
        """After a start: resends digests a crash left pending, then sends the ones missed
        while the bot was down, each only if less than the grace period late."""
        jobs: list[tuple[int, str | None]] = []
        for chat_id, period in await self.subscriptions.pending_runs():
            sub = await self.subscriptions.get(chat_id)
            if sub is None or not sub.active:
                continue
            if _utc(now) - scheduled_at(sub, period) >= self.grace:
                log.info("chat %s: pending digest for %s is too late, skipped", chat_id, period)
                continue
            jobs.append((chat_id, period))
        jobs += [(sub.chat_id, None) for sub in await self.subscriptions.active()]
        gate = asyncio.Semaphore(CATCH_UP_CONCURRENCY)

        async def one(chat_id: int, pending: str | None) -> bool:
            async with gate:
                try:
                    if pending is not None:
                        return await self._send_period(chat_id, pending, now=now)
                    return await self.run_digest(chat_id, now=now)
                except Exception:
                    # One chat's failure must not cost the others their digest.
                    log.exception("chat %s: catch-up digest failed", chat_id)
                    return False

        # Pending runs first and one by one per chat, so that a chat's resent digest is
        # completed before the same chat's newer period is looked at.
        sent = 0
        resends = [job for job in jobs if job[1] is not None]
        for ok in await asyncio.gather(*(one(c, p) for c, p in resends)):
            sent += ok
        fresh = [job for job in jobs if job[1] is None]
        for ok in await asyncio.gather(*(one(c, p) for c, p in fresh)):
            sent += ok
        return sent

    async def _send_period(self, chat_id: int, period: str, *, now: datetime) -> bool:
        digest = await self.digests.build(chat_id, now=now, period=period)
        zone = await self.digests.timezone(chat_id)
        replies = render.digest_replies(digest, date_label(period), zone)
        result = await self.send(chat_id, replies)
        if result.messages == 0:
            # Nothing arrived: the run stays pending, and the next start retries it
            # while it is within the grace period.
            log.warning("chat %s: digest for %s not delivered", chat_id, period)
            return False
        last = max((item.article.id for item in digest.items), default=None)
        # `now` is when the digest was built: articles stored after it go to the next one.
        await self.subscriptions.complete_run(result.chat_id, period, now=now, last_article_id=last)
        return True

    async def send(self, chat_id: int, replies: Sequence[render.Reply]) -> Sent:
        """Sends a chat's messages in order through the Deliverer (paced, retried), and
        records which article each was about so replies to them find it."""
        delivered = 0
        for reply in replies:
            outcome = await self.deliverer.send_many(chat_id, [reply])
            chat_id = outcome.final_chat_id
            if outcome.blocked:
                return Sent(chat_id, delivered, blocked=True)
            if not outcome.messages:
                # The rest would fail the same way or arrive out of order.
                return Sent(chat_id, delivered, failed=True)
            delivered += 1
            if reply.article_id is not None:
                self.digests.service.remember(
                    chat_id,
                    [(message.message_id, reply.article_id) for message in outcome.messages],
                    focus=reply.article_id,
                )
        return Sent(chat_id, delivered)

    # -- what Telegram tells us -----------------------------------------------------

    async def on_blocked(self, chat_id: int, reason: str) -> None:
        """The chat blocked or removed the bot: its subscription ends."""
        if await self.subscriptions.end(chat_id, "blocked", now=self.clock()):
            log.info("chat %s: subscription ended (%s)", chat_id, reason)
        await self.reschedule(chat_id)

    async def on_migrated(self, old: int, new: int) -> None:
        """The group became a supergroup: settings, subscription and runs follow it."""
        await self.digests.chats.migrate(old, new)
        await self.reschedule(old)
        await self.reschedule(new)
