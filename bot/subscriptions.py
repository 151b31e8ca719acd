"""Daily digest subscriptions, and sending their digests.

Each active subscription carries its next due time in the store (`due_at`), written with
every change (subscribing, a new time or time zone) and moved on by the digest round
that handled it. The round runs once a minute (bot/jobs.py): it asks the store which
subscriptions are due, page by page, so neither start-up nor memory grows with the number
of chats. The store is the one truth about who is subscribed, when, and which digests
went out. A digest is claimed in the store (`digest_runs`, one row per chat and local
date) before it is built, so a second wake-up for the same day builds nothing; then its
messages are recorded in the ledger (`bot.outbox`) and the run completed in one
transaction, and the ledger sends them. A crash before the record leaves the run
pending, and the next start builds it again (if it is still within the grace period);
after the record, only the unsent messages go out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import partial

from aiogram import Bot

from bot import language, render
from bot.chats import ChatService
from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.delivery import PAID_BROADCAST_PER_SEC, Deliverer, Limits
from bot.digest import (
    DigestKey,
    DigestService,
    Shared,
    date_label,
    latest_due,
    next_due,
    scheduled_at,
)
from bot.models import ChatSettings, Digest, OutboxPart, Subscription
from bot.outbox import CLOSE_WAIT, Outbox, Retry, part
from bot.parsing import SettingChange, parse_subscribe
from storage.outbox import DigestRecord, OutboxRepo
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)

# A wake-up this late still counts as on time, whatever the grace period: the event loop
# may have been busy at the minute itself.
ON_TIME = timedelta(minutes=5)
# Chats whose digests are built and sent at once; the Deliverer paces the messages
# themselves. Enough to keep the sender busy at 1,000 messages a second (a round trip to
# Telegram takes tens of milliseconds), few enough that memory stays small.
DIGEST_CONCURRENCY = 64
# Due subscriptions read from the store at a time: memory per round is one page.
DUE_PAGE = 500
# Digests of a page recorded in one transaction.
RECORDS_PER_COMMIT = 100


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
        bot: Bot,
        settings: Settings,
        *,
        clock: Clock,
        ledger: OutboxRepo,
        limits: Limits | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._chats = chats
        self._digests = digests
        self._settings = settings
        self.clock = clock
        self.grace = max(timedelta(hours=settings.digest_grace_hours), ON_TIME)
        self.paid_broadcast = settings.paid_broadcast
        limits = sender_limits(settings, limits)
        retry = retry or Retry(lease=timedelta(seconds=settings.delivery_lease_seconds))
        self.deliverer = Deliverer(
            bot,
            on_blocked=self.on_blocked,
            on_migrated=self.on_migrated,
            limits=limits,
            max_retries=retry.attempts,
            backoff=retry.backoff,
        )
        self.outbox = Outbox(
            ledger,
            self.deliverer,
            clock=clock,
            retry=retry,
            on_delivered=self.remember_sent_many,
            broadcast=frozenset({"digest"}) if settings.paid_broadcast else frozenset(),
        )
        self._tasks: set[asyncio.Task[int]] = set()
        # The digest rounds under way (`run_due`), ended by close().
        self._rounds: set[asyncio.Task[object]] = set()

    # -- subscribing ----------------------------------------------------------------

    async def active(self) -> list[Subscription]:
        return await self._subscriptions.active()

    async def subscribe(
        self,
        chat_id: int,
        args: str,
        *,
        user_id: int | None,
        now: datetime,
        thread_id: int | None = None,
    ) -> Subscription:
        """Subscribes or changes the time/zone. What the command leaves out is kept from an
        active subscription, else DIGEST_TIME and the chat's time zone setting. The digest
        goes to the forum topic `thread_id` the command came from, if any."""
        current = await self._subscriptions.get(chat_id)
        chat = await self._chats.settings(chat_id)
        keep = current is not None and current.active
        at, zone = parse_subscribe(
            args,
            default_at=current.at if keep and current else self._settings.digest_time,
            default_timezone=current.timezone if keep and current else chat.timezone,
        )
        return await self._subscriptions.subscribe(
            chat_id,
            at,
            zone,
            user_id,
            now=now,
            due_at=_first_due(chat_id, at, zone, now),
            thread_id=thread_id,
        )

    async def unsubscribe(self, chat_id: int, *, now: datetime) -> bool:
        """False when the chat had no active subscription."""
        return await self._subscriptions.end(chat_id, "unsubscribed", now=now)

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
        return await self._subscriptions.subscribe(
            chat_id,
            current.at,
            timezone,
            current.subscribed_by,
            now=now,
            due_at=_first_due(chat_id, current.at, timezone, now),
            thread_id=current.thread_id,
        )

    async def next_run(self, chat_id: int) -> datetime | None:
        """When the chat's next digest is due, None without an active subscription."""
        sub = await self._subscriptions.get(chat_id)
        return sub.due_at if sub is not None and sub.active else None

    # -- what Telegram tells us -----------------------------------------------------

    async def on_blocked(self, chat_id: int, reason: str) -> None:
        """The chat blocked or removed the bot: its subscription ends."""
        if await self._subscriptions.end(chat_id, "blocked", now=self.clock()):
            log.info("chat %s: subscription ended (%s)", chat_id, reason)

    async def on_migrated(self, old: int, new: int) -> None:
        """The group became a supergroup: settings, subscription (with its due time) and
        runs follow it."""
        await self._chats.migrate(old, new)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Starts the ledger's sender (whatever a crash or an outage left unsent goes out
        first) and sends the digests missed while the bot was down, in the background so
        that updates are served meanwhile."""
        task = asyncio.create_task(self._start())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self) -> int:
        await self.outbox.start()
        return await self.catch_up(self.clock())

    async def idle(self) -> None:
        """Waits for the start-up catch-up and the sends under way to finish (tests,
        orderly shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outbox.idle()

    async def close(self) -> None:
        """Stops the catch-up and the rounds under way, then the ledger's sender
        (`Outbox.close`): what is not yet sent stays in the store, nothing is sent twice."""
        current = asyncio.current_task()
        tasks = [task for task in (*self._tasks, *self._rounds) if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT)
        await self.outbox.close()

    # -- sending digests ------------------------------------------------------------

    async def digest_now(self, chat_id: int, *, now: datetime) -> tuple[Digest, str]:
        """The chat's digest as of `now` and the zone it is dated in. Not recorded as a
        run, so the scheduled digest still comes and still covers everything since the
        previous scheduled one."""
        digest, key = await self._digests.keyed(chat_id, now=now)
        return digest, key.timezone

    async def run_digest(self, chat_id: int, *, now: datetime) -> bool:
        """Sends the chat's latest due digest unless it was sent (or is being sent), or is
        `digest_grace_hours` late or more. True when this call sent it."""
        sub = await self._subscriptions.get(chat_id)
        return sub is not None and await self._run(sub, now=now)

    async def _run(self, sub: Subscription, *, now: datetime, shared: Shared | None = None) -> bool:
        due = latest_due(sub, now)
        if due is None:
            return False
        period, at = due
        if as_utc(now) - at >= self.grace:
            log.info("chat %s: digest for %s is %s late, skipped", sub.chat_id, period, now - at)
            return False
        # The claim is the one guard against twice: only its winner sends.
        if not await self._subscriptions.claim_run(sub.chat_id, period, now=now):
            return False
        return await self._send_period(sub.chat_id, period, now=now, shared=shared, sub=sub)

    async def _guarded(self, gate: asyncio.Semaphore, chat_id: int, send: Awaitable[bool]) -> bool:
        async with gate:
            try:
                return await send
            except Exception:
                # One chat's failure must not cost the others their digest.
                log.exception("chat %s: digest failed", chat_id)
                return False

    async def run_due(self, now: datetime) -> int:
        """The digest round: every subscription due by `now` gets its digest (or is
        skipped as too late) and moves on to its next due time. Returns how many were sent.

        The store hands the due subscriptions out a page at a time; each page is sent with
        a bounded number of chats at once before the next is read. Chats with the same
        window and settings share one digest (`bot.digest.Shared`), built once.
        """
        task = asyncio.current_task()
        assert task is not None
        self._rounds.add(task)
        try:
            return await self._round(now, Shared())
        finally:
            self._rounds.discard(task)

    async def _round(self, now: datetime, shared: Shared) -> int:
        sent = 0
        after: tuple[datetime, int] | None = None
        # The page before this one, still sending while this one is built: the sender
        # is never left idle between pages, and at most two pages are in memory.
        sending: asyncio.Task[int] | None = None
        try:
            while True:
                page = await self._subscriptions.due(now, after=after, limit=DUE_PAGE)
                if not page:
                    break
                started: asyncio.Task[int] | None = None
                try:
                    started = await self._page(page, now=now, shared=shared)
                except Exception:
                    # The store failed for the page: its claimed runs stay pending, and
                    # the next start's catch-up sends them while they are due.
                    log.exception("digest round: a page of %d chats failed", len(page))
                moves = [
                    (sub.chat_id, sub.due_at, due)
                    for sub in page
                    if sub.due_at is not None and (due := next_due(sub, now)) is not None
                ]
                await self._subscriptions.reschedule(moves)
                if sending is not None:
                    sent += await sending
                sending = started
                last = page[-1]
                assert last.due_at is not None
                after = (last.due_at, last.chat_id)
                if len(page) < DUE_PAGE:
                    break
            if sending is not None:
                sent += await sending
                sending = None
        finally:
            if sending is not None:
                # Cancelled: the workers are the outbox's to stop; only the wait ends here.
                sending.cancel()
        return sent

    async def _page(
        self, page: Sequence[Subscription], *, now: datetime, shared: Shared
    ) -> asyncio.Task[int] | None:
        """One page of the round, as `_run` does for one chat but with a fixed number of
        store calls for the page: the runs claimed in one statement, the chats' inputs
        read together, every digest recorded in one transaction, the sends started
        with one claim. Returns, once the sends have started, the task that ends with
        them: how many chats were delivered some of their digest."""
        runs: list[tuple[Subscription, str]] = []
        for sub in page:
            due = latest_due(sub, now)
            if due is None:
                continue
            period, at = due
            if as_utc(now) - at >= self.grace:
                late = now - at
                log.info("chat %s: digest for %s is %s late, skipped", sub.chat_id, period, late)
                continue
            runs.append((sub, period))
        # The claim is the one guard against twice: only its winner sends.
        claimed = await self._subscriptions.claim_runs(
            [(sub.chat_id, period) for sub, period in runs], now=now
        )
        runs = [(sub, period) for sub, period in runs if (sub.chat_id, period) in claimed]
        if not runs:
            return None
        built = await self._digests.keyed_many(runs, now=now, shared=shared)
        languages = await self.digest_languages([sub for sub, _ in runs])
        records: list[DigestRecord] = []
        told: list[Digest] = []
        for sub, period in runs:
            try:
                result = built[sub.chat_id]
                if isinstance(result, Exception):
                    raise result
                digest, key = result
                parts = await self._parts(digest, key, languages[sub.chat_id], sub, shared)
            except Exception:
                # One chat's failure must not cost the others their digest; its run stays
                # pending for the next start's catch-up.
                log.exception("chat %s: digest failed", sub.chat_id)
                continue
            last = max((item.main.id for item in digest.items), default=None)
            records.append(DigestRecord(sub.chat_id, period, tuple(parts), now, last))
            told.append(digest)
        if not records:
            return None
        # As `_send_period`: recorded whole before the first send, the runs completed and
        # what each chat was told of each story written in the same transaction. A few
        # transactions a page, so that the marks of the page before, which wait for the
        # store's writer, do not wait for all of it.
        for start in range(0, len(records), RECORDS_PER_COMMIT):
            digests = told[start : start + RECORDS_PER_COMMIT]
            await self.outbox.repo.record_digests(
                records[start : start + RECORDS_PER_COMMIT],
                now=self.clock(),
                also=partial(self._digests.record_many, digests, now=now),
            )
        chat_ids = [record.chat_id for record in records]
        await self.outbox.start_many(chat_ids)
        return asyncio.create_task(self._delivered_to(chat_ids))

    async def _delivered_to(self, chat_ids: Sequence[int]) -> int:
        delivered = await self.outbox.settled_many(chat_ids)
        return sum(1 for count in delivered.values() if count > 0)

    async def date_undated(self, now: datetime) -> int:
        """Gives a due time to active subscriptions stored before the store kept one:
        the next after `now`, or the latest one if it is still within the grace period."""
        undated = await self._subscriptions.undated()
        moves = []
        for sub in undated:
            due = latest_due(sub, now)
            if due is None or as_utc(now) - due[1] >= self.grace:
                upcoming = next_due(sub, now)
                if upcoming is None:
                    continue
                moves.append((sub.chat_id, upcoming))
            else:
                moves.append((sub.chat_id, due[1]))
        await self._subscriptions.set_due(moves)
        return len(moves)

    async def catch_up(self, now: datetime) -> int:
        """After a start: resends digests a crash left pending, then runs the round for
        the ones missed while the bot was down, each only if less than the grace period
        late."""
        await self.date_undated(now)
        gate = asyncio.Semaphore(DIGEST_CONCURRENCY)
        shared = Shared()
        resends: list[tuple[int, str]] = []
        for chat_id, period in await self._subscriptions.pending_runs():
            sub = await self._subscriptions.get(chat_id)
            if sub is None or not sub.active:
                continue
            if as_utc(now) - scheduled_at(sub, period) >= self.grace:
                log.info("chat %s: pending digest for %s is too late, skipped", chat_id, period)
                continue
            resends.append((chat_id, period))
        # Pending runs first, so that a chat's resent digest is completed before the same
        # chat's newer period is looked at.
        results = await asyncio.gather(
            *(
                self._guarded(
                    gate, chat_id, self._send_period(chat_id, period, now=now, shared=shared)
                )
                for chat_id, period in resends
            )
        )
        return sum(results) + await self._round(now, shared)

    async def digest_language(self, chat_id: int, sub: Subscription | None = None) -> str:
        """The language a scheduled digest is written in, with no user's update to tell:
        the chat's /settings language, else the one the subscriber chose in their own
        chat with the bot, else Russian. `sub`: the chat's subscription, if read already."""
        chosen = (await self._chats.settings(chat_id)).language
        if chosen in language.LANGUAGES:
            return chosen
        if sub is None:
            sub = await self._subscriptions.get(chat_id)
        if sub is not None and sub.subscribed_by is not None and sub.subscribed_by != chat_id:
            theirs = (await self._chats.settings(sub.subscribed_by)).language
            if theirs in language.LANGUAGES:
                return theirs
        return language.DEFAULT

    async def digest_languages(self, subs: Sequence[Subscription]) -> dict[int, str]:
        """`digest_language` of a page of subscribed chats, their settings and their
        subscribers' read together."""
        ids = [sub.chat_id for sub in subs]
        subscribers = [
            sub.subscribed_by
            for sub in subs
            if sub.subscribed_by is not None and sub.subscribed_by != sub.chat_id
        ]
        settings = await self._chats.settings_many([*ids, *subscribers])
        found: dict[int, str] = {}
        for sub in subs:
            chosen = settings[sub.chat_id].language
            by = sub.subscribed_by
            if chosen not in language.LANGUAGES and by is not None and by != sub.chat_id:
                chosen = settings[by].language
            found[sub.chat_id] = chosen if chosen in language.LANGUAGES else language.DEFAULT
        return found

    async def _parts(
        self, digest: Digest, key: DigestKey, lang: str, sub: Subscription | None, shared: Shared
    ) -> list[OutboxPart]:
        """The digest's messages. Equal digests are rendered once and shared: the chat id
        is the only thing that differs, and it is not in them."""
        shown = tuple((item.story_id, item.articles, item.update) for item in digest.items)
        parts = await shared.once(
            ("rendered", key, lang, shown, digest.more), lambda: self._render(digest, key, lang)
        )
        if sub is not None and sub.thread_id is not None:
            # A forum group's digest goes to the topic it was subscribed from.
            parts = [replace(p, thread_id=sub.thread_id) for p in parts]
        return parts

    async def _send_period(
        self,
        chat_id: int,
        period: str,
        *,
        now: datetime,
        shared: Shared | None = None,
        sub: Subscription | None = None,
    ) -> bool:
        """`sub`: the chat's subscription as the round read it (else it is read here)."""
        shared = Shared() if shared is None else shared
        digest, key = await self._digests.keyed(chat_id, now=now, period=period, shared=shared)
        if sub is None:
            sub = await self._subscriptions.get(chat_id)
        lang = await self.digest_language(chat_id, sub)
        parts = await self._parts(digest, key, lang, sub, shared)
        last = max((item.main.id for item in digest.items), default=None)
        # Recorded whole before the first send, the run completed with it: `now` (when
        # the digest was built) is the next digest's start, whatever the sends do.
        await self.outbox.repo.record_digest(
            chat_id,
            period,
            parts,
            now=self.clock(),
            built_at=now,
            last_article_id=last,
        )
        # What the chat was told of each story, recorded after the ledger: a crash in
        # between shows those stories again next time rather than never.
        await self._digests.record(digest, now=now)
        # True when this call delivered some of it; the rest, if any, is the ledger's.
        return await self.outbox.flush(chat_id) > 0

    async def _render(self, digest: Digest, key: DigestKey, lang: str) -> list[OutboxPart]:
        with language.use(lang):
            replies = render.digest_replies(digest, date_label(key.period), key.timezone)
        return [part(r.html, r.keyboard, r.article_id, r.numbers) for r in replies]

    async def remember_sent_many(self, sent: Sequence[tuple[int, int, OutboxPart]]) -> None:
        """What the messages one commit of the ledger marked sent were about: replies to
        a digest's message find the story or article it meant."""
        numbered = [(chat, message, p.numbers) for chat, message, p in sent if p.numbers]
        if numbered:
            await self._digests.remember_numbers_many(numbered)
        for chat_id, message_id, p in sent:
            if p.article_id is not None:
                self._chats.remember(chat_id, [(message_id, p.article_id)], focus=p.article_id)

    async def remember_sent(self, chat_id: int, message_id: int, sent: OutboxPart) -> None:
        await self.remember_sent_many([(chat_id, message_id, sent)])

    def digest_answer(self, digest: Digest, timezone: str) -> list[render.Reply]:
        """A digest asked for now (/digest), as the messages of its answer."""
        return render.digest_replies(digest, date_label(digest.period), timezone)

    async def shown(self, digest: Digest, *, now: datetime) -> None:
        """Remembers the stories a digest asked for now showed, so the next digest
        repeats them only if they grew."""
        await self._digests.record(digest, now=now)


def sender_limits(settings: Settings, limits: Limits | None = None) -> Limits:
    """The limits of this process's sender: Telegram's (1,000 a second overall with
    PAID_BROADCAST=1) or `limits`, its overall one cut to SENDER_SHARE."""
    if limits is None:
        limits = (
            Limits(global_per_sec=PAID_BROADCAST_PER_SEC) if settings.paid_broadcast else Limits()
        )
    return limits.shared(settings.sender_share) if settings.sender_share < 1 else limits


def _first_due(chat_id: int, at: time, timezone: str, now: datetime) -> datetime:
    due = next_due(Subscription(chat_id, at, timezone, None), now)
    assert due is not None  # an active subscription always has a next time
    return due
