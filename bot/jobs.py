"""Every scheduled job of the bot, on one APScheduler: each subscription's daily
digest, feed polling and the daily housekeeping.

APScheduler only decides *when* to wake up. What a wake-up does is a plain function with
explicit arguments below; the work itself lives in the services, in methods that take
`now`, so tests drive them with any clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.models import Subscription

if TYPE_CHECKING:
    from bot.chats import ChatService
    from bot.intake import IntakeService
    from bot.subscriptions import SubscriptionService

log = logging.getLogger(__name__)

FEEDS_JOB = "feeds"
HOUSEKEEPING_JOB = "housekeeping"
# A reply to any of a chat's newest 1,000 answers still targets the article it was about.
KEEP_MESSAGE_LINKS = 1_000
# Each feed's newest 1,000 entries are remembered; a feed lists a few hundred at most.
KEEP_FEED_ENTRIES = 1_000


# -- what the jobs do ----------------------------------------------------------------


async def send_digest(subscriptions: SubscriptionService, chat_id: int, clock: Clock) -> None:
    """At the chat's local digest time."""
    await subscriptions.run_digest(chat_id, now=clock())


async def poll_feeds(intake: IntakeService, clock: Clock) -> None:
    try:
        results = await intake.poll_all(now=clock())
    except Exception:
        # The job must stay scheduled whatever happens in one run.
        log.exception("feed polling failed")
        return
    added = sum(len(result.added) for result in results)
    if added:
        log.info("feeds: %d new article(s)", added)


async def housekeeping(chats: ChatService, intake: IntakeService) -> None:
    """The tables that grow with every answer and every feed entry, trimmed to what is
    still useful."""
    try:
        links = await chats.forget_old_links(keep=KEEP_MESSAGE_LINKS)
        entries = await intake.forget_old_entries(keep=KEEP_FEED_ENTRIES)
    except Exception:
        # The job stays scheduled; tomorrow's run trims what today's could not.
        log.exception("housekeeping failed")
        return
    if links or entries:
        log.info(
            "housekeeping: %d old message link(s), %d old feed entries removed", links, entries
        )


# -- when ----------------------------------------------------------------------------


class Jobs:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running = False

    def start(self) -> None:
        if not self._running:
            self.scheduler.start()
            self._running = True

    def shutdown(self) -> None:
        if self._running:
            # Also cancels digests being sent; their runs stay pending for the next start.
            self.scheduler.shutdown(wait=False)
            self._running = False

    @property
    def running(self) -> bool:
        return self._running

    @staticmethod
    def digest_id(chat_id: int) -> str:
        return f"digest:{chat_id}"

    def digest(self, sub: Subscription, subscriptions: SubscriptionService) -> None:
        """Schedules (or moves) the chat's daily digest."""
        job_id = self.digest_id(sub.chat_id)
        if not self._running and self.scheduler.get_job(job_id):
            # Before start() APScheduler queues jobs without replacing same-id ones.
            self.scheduler.remove_job(job_id)
        self.scheduler.add_job(
            send_digest,
            CronTrigger(hour=sub.at.hour, minute=sub.at.minute, timezone=ZoneInfo(sub.timezone)),
            args=(subscriptions, sub.chat_id, self.clock),
            id=job_id,
            replace_existing=True,
            # run_digest decides about lateness itself; this only stops APScheduler from
            # dropping a wake-up the event loop was too busy to make on the dot.
            misfire_grace_time=max(1, int(subscriptions.grace.total_seconds())),
            coalesce=True,
            max_instances=1,
        )

    def cancel_digest(self, chat_id: int) -> None:
        if self.scheduler.get_job(self.digest_id(chat_id)) is not None:
            self.scheduler.remove_job(self.digest_id(chat_id))

    def next_digest(self, chat_id: int) -> datetime | None:
        """When the chat's next digest is due by our clock, None without a job."""
        job = self.scheduler.get_job(self.digest_id(chat_id))
        if job is None:
            return None
        moment = job.trigger.get_next_fire_time(None, as_utc(self.clock()))
        return as_utc(moment) if moment is not None else None

    def feed_polling(self, intake: IntakeService, *, minutes: int) -> None:
        """Every `minutes`, the first run right away."""
        self.scheduler.add_job(
            poll_feeds,
            "interval",
            minutes=minutes,
            args=(intake, self.clock),
            id=FEEDS_JOB,
            replace_existing=True,
            # A poll still running (slow sites) is not started twice; missed runs merge.
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock(),
        )

    def housekeeping(self, chats: ChatService, intake: IntakeService) -> None:
        """Once a day, at a quiet hour."""
        self.scheduler.add_job(
            housekeeping,
            CronTrigger(hour=4, minute=0, timezone=UTC),
            args=(chats, intake),
            id=HOUSEKEEPING_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )


async def install(
    jobs: Jobs,
    *,
    subscriptions: SubscriptionService,
    chats: ChatService,
    intake: IntakeService,
    settings: Settings,
) -> None:
    """Every job the bot runs, at start-up: a digest for each active subscription (later
    changes go through SubscriptionService), feed polling and housekeeping."""
    for sub in await subscriptions.active():
        jobs.digest(sub, subscriptions)
    jobs.feed_polling(intake, minutes=settings.feed_poll_minutes)
    jobs.housekeeping(chats, intake)
