"""Daily digest subscriptions, and sending their digests.

Every call that changes a subscription (subscribing, unsubscribing, a time zone change,
a migration, a block) brings the chat's digest job in line itself: no caller has to
remember to reschedule.

Jobs live in memory and are rebuilt from SQLite at every start (bot/jobs.py); SQLite is
the one truth about who is subscribed and which digests went out. A digest is claimed in
SQLite (`digest_runs`, one row per chat and local date) before it is sent and completed
after, so a second wake-up for the same day sends nothing. A crash between sending and
completing leaves the run pending; the next start sends it again if it is still within
the grace period, so delivery is at least once: a chat may then see that digest twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aiogram import Bot

from bot import render
from bot.chats import ChatService
from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.delivery import Deliverer, Limits
from bot.digest import DigestService, date_label, latest_due, scheduled_at
from bot.jobs import Jobs
from bot.models import ChatSettings, Digest, Subscription
from bot.parsing import SettingChange, parse_subscribe
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)

# A wake-up this late still counts as on time, whatever the grace period: the event loop
# may have been busy at the minute itself.
ON_TIME = timedelta(minutes=5)
# Chats whose missed digests are built and sent at once after a start; the Deliverer
# paces the messages themselves.
CATCH_UP_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one chat's digest messages."""

    chat_id: int  # where they went: the new id if the group became a supergroup
    messages: int
    failed: bool = False
    blocked: bool = False


@dataclass(frozen=True, slots=True)
class ChatOverview:
    """What /settings shows: the chat's settings and its active subscription, if any."""

    settings: ChatSettings
    subscription: Subscription | None


class SubscriptionService:
    def __init__(
        self,
        subscriptions: SubscriptionRepo,
        chats: ChatService,
        digests: DigestService,
        jobs: Jobs,
        bot: Bot,
        settings: Settings,
        *,
        clock: Clock,
        limits: Limits | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._chats = chats
        self._digests = digests
        self._jobs = jobs
        self._settings = settings
        self.clock = clock
        self.grace = max(timedelta(hours=settings.digest_grace_hours), ON_TIME)
        self.deliverer = Deliverer(
            bot, on_blocked=self.on_blocked, on_migrated=self.on_migrated, limits=limits
        )
        self._tasks: set[asyncio.Task[int]] = set()

    # -- subscribing ----------------------------------------------------------------

    async def active(self) -> list[Subscription]:
        return await self._subscriptions.active()

    async def subscribe(
        self, chat_id: int, args: str, *, user_id: int | None, now: datetime
    ) -> Subscription:
        """Subscribes or changes the time/zone. What the command leaves out is kept from an
        active subscription, else DIGEST_TIME and the chat's time zone setting."""
        current = await self._subscriptions.get(chat_id)
        chat = await self._chats.settings(chat_id)
        keep = current is not None and current.active
        at, zone = parse_subscribe(
            args,
            default_at=current.at if keep and current else self._settings.digest_time,
            default_timezone=current.timezone if keep and current else chat.timezone,
        )
        sub = await self._subscriptions.subscribe(chat_id, at, zone, user_id, now=now)
        await self.reschedule(chat_id)
        return sub

    async def unsubscribe(self, chat_id: int, *, now: datetime) -> bool:
        """False when the chat had no active subscription."""
        ended = await self._subscriptions.end(chat_id, "unsubscribed", now=now)
        await self.reschedule(chat_id)
        return ended

    async def overview(self, chat_id: int) -> ChatOverview:
        settings = await self._chats.settings(chat_id)
        sub = await self._subscriptions.get(chat_id)
        return ChatOverview(settings, sub if sub is not None and sub.active else None)

    async def change_settings(
        self, chat_id: int, change: SettingChange, *, now: datetime
    ) -> ChatOverview:
        """Changes one of the chat's settings. A new time zone moves the chat's digest
        with it, so that it keeps its local time."""
        before = await self._chats.settings(chat_id)
        after = await self._chats.change(chat_id, change)
        if after.timezone != before.timezone:
            await self.follow_timezone(chat_id, after.timezone, now=now)
        return await self.overview(chat_id)

    async def follow_timezone(
        self, chat_id: int, timezone: str, *, now: datetime
    ) -> Subscription | None:
        """An active subscription keeps its local time in the new zone. None when the
        chat has no active subscription."""
        current = await self._subscriptions.get(chat_id)
        if current is None or not current.active:
            return None
        if current.timezone == timezone:
            return current
        sub = await self._subscriptions.subscribe(
            chat_id, current.at, timezone, current.subscribed_by, now=now
        )
        await self.reschedule(chat_id)
        return sub

    async def reschedule(self, chat_id: int) -> Subscription | None:
        """Brings the chat's job in line with SQLite. Returns the active subscription."""
        sub = await self._subscriptions.get(chat_id)
        if sub is not None and sub.active:
            self._jobs.digest(sub, self)
            return sub
        self._jobs.cancel_digest(chat_id)
        return None

    def next_run(self, chat_id: int) -> datetime | None:
        """When the chat's next digest is due by our clock, None without a job."""
        return self._jobs.next_digest(chat_id)

    # -- what Telegram tells us -----------------------------------------------------

    async def on_blocked(self, chat_id: int, reason: str) -> None:
        """The chat blocked or removed the bot: its subscription ends."""
        if await self._subscriptions.end(chat_id, "blocked", now=self.clock()):
            log.info("chat %s: subscription ended (%s)", chat_id, reason)
        await self.reschedule(chat_id)

    async def on_migrated(self, old: int, new: int) -> None:
        """The group became a supergroup: settings, subscription and runs follow it."""
        await self._chats.migrate(old, new)
        await self.reschedule(old)
        await self.reschedule(new)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Sends what was missed while the bot was down, in the background so that
        updates are served meanwhile."""
        task = asyncio.create_task(self.catch_up(self.clock()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Waits for the start-up catch-up to finish (tests, orderly shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    # -- sending digests ------------------------------------------------------------

    async def digest_now(self, chat_id: int, *, now: datetime) -> tuple[Digest, str]:
        """The chat's digest as of `now` and the zone it is dated in. Not recorded as a
        run, so the scheduled digest still comes and still covers everything since the
        previous scheduled one."""
        digest = await self._digests.build(chat_id, now=now)
        return digest, await self._digests.timezone(chat_id)

    async def run_digest(self, chat_id: int, *, now: datetime) -> bool:
        """Sends the chat's latest due digest unless it was sent (or is being sent), or is
        `digest_grace_hours` late or more. True when this call sent it."""
        sub = await self._subscriptions.get(chat_id)
        due = latest_due(sub, now) if sub is not None else None
        if sub is None or due is None:
            return False
        period, at = due
        if as_utc(now) - at >= self.grace:
            log.info("chat %s: digest for %s is %s late, skipped", chat_id, period, now - at)
            return False
        # The claim is the one guard against twice: only its winner sends.
        if not await self._subscriptions.claim_run(chat_id, period, now=now):
            return False
        return await self._send_period(chat_id, period, now=now)

    async def catch_up(self, now: datetime) -> int:
        """After a start: resends digests a crash left pending, then sends the ones missed
        while the bot was down, each only if less than the grace period late."""
        jobs: list[tuple[int, str | None]] = []
        for chat_id, period in await self._subscriptions.pending_runs():
            sub = await self._subscriptions.get(chat_id)
            if sub is None or not sub.active:
                continue
            if as_utc(now) - scheduled_at(sub, period) >= self.grace:
                log.info("chat %s: pending digest for %s is too late, skipped", chat_id, period)
                continue
            jobs.append((chat_id, period))
        jobs += [(sub.chat_id, None) for sub in await self._subscriptions.active()]
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
        digest = await self._digests.build(chat_id, now=now, period=period)
        zone = await self._digests.timezone(chat_id)
        replies = render.digest_replies(digest, date_label(period), zone)
        result = await self.send(chat_id, replies)
        if result.messages == 0:
            # Nothing arrived: the run stays pending, and the next start retries it
            # while it is within the grace period.
            log.warning("chat %s: digest for %s not delivered", chat_id, period)
            return False
        last = max((item.main.id for item in digest.items), default=None)
        # `now` is when the digest was built: articles stored after it go to the next one.
        await self._subscriptions.complete_run(
            result.chat_id, period, now=now, last_article_id=last
        )
        await self._digests.record(replace(digest, chat_id=result.chat_id), now=now)
        return True

    async def send_digest(self, digest: Digest, timezone: str, *, now: datetime) -> Sent:
        """Sends a digest asked for now (/digest) and remembers the stories it showed, so
        the next digest repeats them only if they grew."""
        replies = render.digest_replies(digest, date_label(digest.period), timezone)
        result = await self.send(digest.chat_id, replies)
        if result.messages:
            await self._digests.record(replace(digest, chat_id=result.chat_id), now=now)
        return result

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
            if reply.numbers:
                for message in outcome.messages:
                    await self._digests.remember_numbers(chat_id, message.message_id, reply.numbers)
            if reply.article_id is not None:
                self._chats.remember(
                    chat_id,
                    [(message.message_id, reply.article_id) for message in outcome.messages],
                    focus=reply.article_id,
                )
        return Sent(chat_id, delivered)
