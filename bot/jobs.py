"""Every scheduled job of the bot, on one APScheduler: the digest round once a minute,
feed polling and the daily housekeeping. No job per chat: the store knows when each
subscription is due, and the round asks it.

APScheduler only decides *when* to wake up. What a wake-up does is a plain function with
explicit arguments below; the work itself lives in the services, in methods that take
`now`, so tests drive them with any clock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:
    from bot.chats import ChatService
    from bot.intake import IntakeService
    from bot.subscriptions import SubscriptionService
    from storage.outbox import OutboxRepo

log = logging.getLogger(__name__)

DIGESTS_JOB = "digests"
FEEDS_JOB = "feeds"
HOUSEKEEPING_JOB = "housekeeping"
# What only the leader runs (bot.leader): every job there is.
SCHEDULED_WORK = (DIGESTS_JOB, FEEDS_JOB, HOUSEKEEPING_JOB)
# A reply to any of a chat's newest 1,000 answers still targets the article it was about.
KEEP_MESSAGE_LINKS = 1_000
# Each feed's newest 1,000 entries are remembered; a feed lists a few hundred at most.
KEEP_FEED_ENTRIES = 1_000
# Delivered and dropped ledger rows are kept a week, for looking into a complaint; a
# pending one is never trimmed (it is delivered or dropped within Retry.give_up, a day).
KEEP_LEDGER = timedelta(days=7)


# -- what the jobs do ----------------------------------------------------------------


async def send_digest(subscriptions: SubscriptionService, chat_id: int, clock: Clock) -> None:
    """One chat's due digest, now (what the round does for each due chat)."""
    await subscriptions.run_digest(chat_id, now=clock())


async def digest_round(subscriptions: SubscriptionService, clock: Clock) -> None:
    """Once a minute: every digest due by now."""
    try:
        sent = await subscriptions.run_due(clock())
    except asyncio.CancelledError:
        # The bot is stopping, or another process leads now (SubscriptionService.close):
        # what the round had not sent is in the store for whoever sends next. Ended
        # here, so that the scheduler does not report the stop as the job's failure.
        log.info("digest round stopped")
        return
    except Exception:
        # The job must stay scheduled; the due rows wait for the next minute.
        log.exception("digest round failed")
        return
    if sent:
        log.info("digests: %d sent", sent)


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


async def housekeeping(
    chats: ChatService, intake: IntakeService, ledger: OutboxRepo, clock: Clock
) -> None:
    """The tables that grow with every answer, every feed entry and every message sent,
    trimmed to what is still useful."""
    try:
        links = await chats.forget_old_links(keep=KEEP_MESSAGE_LINKS)
        entries = await intake.forget_old_entries(keep=KEEP_FEED_ENTRIES)
        messages = await ledger.trim(before=clock() - KEEP_LEDGER)
    except Exception:
        # The job stays scheduled; tomorrow's run trims what today's could not.
        log.exception("housekeeping failed")
        return
    if links or entries or messages:
        log.info(
            "housekeeping: %d old message link(s), %d old feed entries,"
            " %d old ledger message(s) removed",
            links, entries, messages,
        )  # fmt: skip


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

    def stand_down(self) -> None:
        """Removes the scheduled work (another process leads it now); the scheduler keeps
        running, empty, for the day this process leads again."""
        for job_id in SCHEDULED_WORK:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)

    def digests(self, subscriptions: SubscriptionService) -> None:
        """The digest round at the start of every minute (digest times are whole minutes)."""
        self.scheduler.add_job(
            digest_round,
            CronTrigger(second=0, timezone=UTC),
            args=(subscriptions, self.clock),
            id=DIGESTS_JOB,
            replace_existing=True,
            # A round still sending when the next minute comes is not started twice; the
            # round after it picks up what became due meanwhile.
            max_instances=1,
            coalesce=True,
            misfire_grace_time=30,
        )

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

    def housekeeping(self, chats: ChatService, intake: IntakeService, ledger: OutboxRepo) -> None:
        """Once a day, at a quiet hour."""
        self.scheduler.add_job(
            housekeeping,
            CronTrigger(hour=4, minute=0, timezone=UTC),
            args=(chats, intake, ledger, self.clock),
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
    """Every job the bot runs: the digest round, feed polling and housekeeping."""
    jobs.digests(subscriptions)
    jobs.feed_polling(intake, minutes=settings.feed_poll_minutes)
    jobs.housekeeping(chats, intake, subscriptions.outbox.repo)
