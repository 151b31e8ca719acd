"""Sending from the ledger: every recorded message reaches its chat once.

`Outbox` records a run's messages (`storage.outbox`) and sends them through the paced
`Deliverer`, one chat's queue in order. A message is marked sent as soon as Telegram
returns it; one that could not be sent now (an outage, a 5xx storm, a long 429) is given
back with a growing delay and tried again while the bot runs, for up to a day; a chat
that blocked the bot loses its queue (and its subscription, through the Deliverer).
A restart sends exactly what is not marked.

Marks are group-committed (`Outbox._commit`): the marks that queue within 10 ms
(COMMIT_GATHER) and while the commit before ran go into one transaction, with the claims
of those chats' next messages.

The one window left: Telegram accepted a message and the process died before its mark
was committed (the replies of those last milliseconds). Those messages are sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot.clock import Clock, as_utc
from bot.delivery import ChatDelivery, Deliverer, Outgoing
from bot.models import OutboxMessage, OutboxPart
from storage.outbox import OutboxRepo

log = logging.getLogger(__name__)

# What one commit marked sent: (chat id, Telegram's message id, the message), each.
OnDelivered = Callable[[Sequence[tuple[int, int, OutboxPart]]], Awaitable[None]]
# Marks written in one commit at most (`Outbox._commit`).
MARKS_PER_COMMIT = 256
# How long closing waits for the senders and the last commit to end.
CLOSE_WAIT = 10.0
# How long a commit waits for more marks to join it, unless it is full: at 1,000
# messages a second a transaction of about ten rather than one or two, 0.17 ms of CPU
# a message less (benchmarks/round.py); what a crash can resend grows by as much.
COMMIT_GATHER = 0.01


@dataclass(frozen=True, slots=True)
class Retry:
    """When an undelivered message is tried again: `first`, doubling up to `longest`,
    and dropped once it is `give_up` old."""

    first: timedelta = timedelta(seconds=5)
    longest: timedelta = timedelta(minutes=5)
    give_up: timedelta = timedelta(hours=24)
    # How often the ledger is looked at when nothing wakes the sender earlier (other
    # processes' rows, leases that ran out).
    poll: float = 5.0
    # A claim outlives any one send, retries and 429 waits included; a process that
    # dies holding one leaves its message to the others after this long
    # (DELIVERY_LEASE_SECONDS).
    lease: timedelta = timedelta(minutes=10)
    # In place, before a message is given back: 5xx and network errors are tried this
    # many times, `backoff` seconds apart and doubling (the Deliverer's retries).
    attempts: int = 5
    backoff: float = 0.5

    def delay(self, attempts: int) -> timedelta:
        return min(self.first * 2 ** min(attempts, 30), self.longest)


def part(
    text: str,
    keyboard: InlineKeyboardMarkup | None,
    article_id: int | None,
    numbers: Sequence[tuple[int, int]] = (),
    reply_to: int | None = None,
    *,
    thread_id: int | None = None,
    silent: bool = False,
) -> OutboxPart:
    markup = keyboard.model_dump_json(exclude_none=True) if keyboard is not None else None
    return OutboxPart(
        text, markup, article_id, tuple(numbers), reply_to, thread_id=thread_id, silent=silent
    )


def _outgoing(
    message: OutboxMessage, *, buttons: bool = True, broadcast: frozenset[str] = frozenset()
) -> Outgoing:
    markup = message.part.markup
    keyboard = InlineKeyboardMarkup.model_validate_json(markup) if markup and buttons else None
    paid = True if message.kind in broadcast else None
    reply_to = message.part.reply_to
    # The question may be deleted before the answer goes out.
    thread = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    return Outgoing(
        message.part.text,
        keyboard,
        disable_notification=True if message.part.silent else None,
        allow_paid_broadcast=paid,
        reply_parameters=thread,
        message_thread_id=message.part.thread_id,
        # Its place among the sends in flight is given back once its mark is written.
        hold=True,
    )


# Distinct messages whose encoded request is kept (`Outbox._prepared`): a round's
# digests are a few, each sent to thousands of chats.
PREPARED = 32
_PreparedKey = tuple[str, str | None, bool, int | None, bool]


@dataclass(slots=True)
class _Mark:
    """A message Telegram took, waiting for its commit: the chat it went to (after a
    migration, the new one) and the worker waiting for that chat's next head."""

    message: OutboxMessage
    telegram_id: int
    chat_id: int
    done: asyncio.Future[OutboxMessage | None]


@dataclass(frozen=True, slots=True)
class _Step:
    """What a send leaves a worker with: the chat to go on with (None: stop), whether
    the message was delivered, and, delivered, the chat's next head as its mark's
    commit claimed it (None: nothing more is due)."""

    next_chat: int | None
    delivered: bool
    head: OutboxMessage | None = None


def _count(task: asyncio.Task[int]) -> int:
    if task.cancelled() or task.exception() is not None:
        return 0
    return task.result()


class Outbox:
    def __init__(
        self,
        repo: OutboxRepo,
        deliverer: Deliverer,
        *,
        clock: Clock,
        retry: Retry | None = None,
        on_delivered: OnDelivered | None = None,
        concurrency: int = 64,
        broadcast: frozenset[str] = frozenset(),
    ) -> None:
        # Kinds of message sent as paid broadcasts (PAID_BROADCAST=1: scheduled digests).
        self._broadcast = broadcast
        self._repo = repo
        self._deliverer = deliverer
        self._clock = clock
        self.retry = retry or Retry()
        self._on_delivered = on_delivered
        self._concurrency = concurrency
        self._workers: dict[int, set[asyncio.Task[int]]] = {}
        # Messages a worker here is sending. A lease that runs out mid-send (a short
        # DELIVERY_LEASE_SECONDS, a long 429) lets this process claim the message again:
        # it must not start a second send of it.
        self._sending: set[int] = set()
        self._claiming = asyncio.Lock()
        self._wake = asyncio.Event()
        # Set by close(): what is claimed from now on goes back to the ledger unsent.
        self._closing = False
        self._loop: asyncio.Task[None] | None = None
        self._payloads: OrderedDict[_PreparedKey, Outgoing] = OrderedDict()
        # Sent messages waiting for their mark, and the task committing them.
        self._marks: list[_Mark] = []
        self._committing: asyncio.Task[None] | None = None

    @property
    def repo(self) -> OutboxRepo:
        return self._repo

    # -- recording ------------------------------------------------------------------

    async def record(self, chat_id: int, kind: str, ref: str, parts: Sequence[OutboxPart]) -> None:
        await self._repo.record(chat_id, kind, ref, parts, now=self._clock())
        self.wake()

    # -- sending --------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the ledger now rather than at the next poll."""
        self._wake.set()

    async def flush(self, chat_id: int) -> int:
        """Sends the chat's due messages now and returns when none is left to send now
        (all sent, or the rest given back for later): how many were delivered."""
        # Shielded: a claim is followed by its worker even if the caller is cancelled
        # meanwhile (the worker gives the message back if the outbox is closing).
        await asyncio.shield(self._start_chat(chat_id))
        return await self._settled(chat_id)

    async def _start_chat(self, chat_id: int) -> None:
        async with self._claiming:
            head = await self._claim(chat_id)
            if head is not None and head.id not in self._sending:
                self._spawn(chat_id, head)

    async def start_many(self, chat_ids: Sequence[int]) -> None:
        """Starts sending to the chats, their heads claimed in one statement."""
        # Shielded as `flush` is.
        await asyncio.shield(self._start_many(chat_ids))

    async def _start_many(self, chat_ids: Sequence[int]) -> None:
        async with self._claiming:
            heads = await self._repo.claim_heads_of(
                chat_ids, now=self._clock(), lease=self.retry.lease
            )
            for head in heads:
                if head.id not in self._sending:
                    self._spawn(head.chat_id, head)

    async def settled_many(self, chat_ids: Sequence[int]) -> dict[int, int]:
        """Waits for the chats' workers here: how many messages each was delivered. One
        wait for all of them rather than a task a chat (a page of a round is 500 chats,
        and creating their tasks held the event loop)."""
        # Every claim and every start of a worker happen under `_claiming`: a chat whose
        # head someone here holds has its worker registered by now.
        delivered = dict.fromkeys(chat_ids, 0)
        counted: set[asyncio.Task[int]] = set()
        # Finished workers leave the registry; the ones started meanwhile are awaited too.
        while waiting := {
            task: chat_id
            for chat_id in delivered
            for task in self._workers.get(chat_id, ())
            if task not in counted
        }:
            await asyncio.wait(waiting)
            for task, chat_id in waiting.items():
                delivered[chat_id] += _count(task)
            counted.update(waiting)
        return delivered

    async def _settled(self, chat_id: int) -> int:
        """Waits for the chat's workers here; how many messages they delivered."""
        return (await self.settled_many([chat_id]))[chat_id]

    async def drain(self) -> int:
        """One pass over the ledger: a worker for every chat with a due message. Returns
        how many chats were started."""
        free = self._concurrency - sum(len(tasks) for tasks in self._workers.values())
        if free <= 0:
            return 0
        async with self._claiming:
            heads = await self._repo.claim_heads(
                now=self._clock(), lease=self.retry.lease, limit=free
            )
            started = [head for head in heads if head.id not in self._sending]
            for head in started:
                self._spawn(head.chat_id, head)
        return len(started)

    def _spawn(self, chat_id: int, head: OutboxMessage) -> asyncio.Task[int]:
        self._sending.add(head.id)
        task = asyncio.create_task(self._work(head))
        self._workers.setdefault(chat_id, set()).add(task)

        def done(finished: asyncio.Task[int]) -> None:
            tasks = self._workers.get(chat_id)
            if tasks is not None:
                tasks.discard(finished)
                if not tasks:
                    del self._workers[chat_id]
            if not finished.cancelled() and finished.exception() is None:
                # Freed capacity, maybe more chats waiting: look again.
                self._wake.set()

        task.add_done_callback(done)
        return task

    async def _work(self, head: OutboxMessage) -> int:
        """Sends the chat's queue while its head is due; returns how many went out."""
        delivered = 0
        message: OutboxMessage | None = head
        while message is not None:
            if self._closing:
                # Not sent: back to the ledger, for another process or the next start.
                self._sending.discard(message.id)
                with suppress(Exception):
                    await self._repo.release(message.id)
                break
            try:
                step = await self._send(message)
            except BaseException:
                # Cancelled at shutdown, or the store failed: free the claim if we can,
                # so the message goes out at the next start (or from another process).
                with suppress(Exception):
                    await asyncio.shield(self._repo.release(message.id))
                raise
            finally:
                self._sending.discard(message.id)
            delivered += step.delivered
            next_chat = step.next_chat
            if next_chat is None:
                break
            if step.delivered:
                message = step.head  # claimed by the commit that marked this one
                continue
            async with self._claiming:
                message = await self._claim(next_chat)
                if message is not None:
                    if message.id in self._sending:
                        break  # another worker here has it (a chat migrated into this one)
                    self._sending.add(message.id)
        return delivered

    async def _claim(self, chat_id: int) -> OutboxMessage | None:
        return await self._repo.claim_head(chat_id, now=self._clock(), lease=self.retry.lease)

    async def _send(self, message: OutboxMessage) -> _Step:
        """Sends one claimed message: what the worker goes on with."""
        now = self._clock()
        if as_utc(now) - message.created_at >= self.retry.give_up:
            log.error(
                "chat %s: %s %s part %d undelivered for %s, dropped",
                message.chat_id, message.kind, message.ref, message.seq, self.retry.give_up,
            )  # fmt: skip
            await self._repo.drop(message.id)
            return _Step(message.chat_id, False)
        result = await self._deliverer.send_many(message.chat_id, [self._prepared(message)])
        held = result.held
        try:
            return await self._sent(message, result)
        finally:
            self._deliverer.let_go(held)

    async def _sent(self, message: OutboxMessage, result: ChatDelivery) -> _Step:
        """What follows a send: the mark, a drop, a deferral, once more without buttons."""
        if result.migrated_to is not None:
            await self._repo.migrate(message.chat_id, result.migrated_to)
        if result.messages:
            return await self._delivered(message, result.messages[0].message_id, result)
        if result.blocked:
            dropped = await self._repo.drop_chat(result.final_chat_id)
            log.info("chat %s: %d pending message(s) dropped", result.final_chat_id, dropped)
            return _Step(None, False)
        if result.gave_up:
            delay = self.retry.delay(message.attempts)
            log.warning(
                "chat %s: %s %s part %d not delivered (attempt %d), next try in %s",
                message.chat_id, message.kind, message.ref, message.seq,
                message.attempts + 1, delay,
            )  # fmt: skip
            await self._repo.defer(message.id, until=self._clock() + delay)
            return _Step(None, False)
        if message.part.markup is not None:
            # Refused for its content: a button Telegram does not accept must not cost
            # the text. Once more without the buttons.
            retry = await self._deliverer.send_many(
                result.final_chat_id, [self._prepared(message, buttons=False)]
            )
            try:
                if retry.messages:
                    return await self._delivered(message, retry.messages[0].message_id, result)
            finally:
                self._deliverer.let_go(retry.held)
        # Our own mistake (markup, length): retrying would fail the same way.
        log.error("chat %s: %s %s part %d refused, dropped", message.chat_id, message.kind,
                  message.ref, message.seq)  # fmt: skip
        await self._repo.drop(message.id)
        return _Step(result.final_chat_id, False)

    async def _delivered(
        self, message: OutboxMessage, telegram_id: int, result: ChatDelivery
    ) -> _Step:
        """Waits for the message's mark to be committed; the commit also claims the
        chat's next head for this worker."""
        chat_id = result.final_chat_id
        done: asyncio.Future[OutboxMessage | None] = asyncio.get_running_loop().create_future()
        self._marks.append(_Mark(message, telegram_id, chat_id, done))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit())
        head = await done
        return _Step(chat_id, True, head)

    async def _commit(self) -> None:
        """Group commit: the marks that queue within COMMIT_GATHER, and while the commit
        before ran, go into one, with the claims of those chats' next heads."""
        while self._marks:
            if len(self._marks) < MARKS_PER_COMMIT:
                # The marks of the next few milliseconds join this commit.
                await asyncio.sleep(COMMIT_GATHER)
            batch = self._marks[:MARKS_PER_COMMIT]
            del self._marks[:MARKS_PER_COMMIT]
            try:
                async with self._claiming:
                    heads = await self._repo.mark_sent_many(
                        [(m.message.id, m.telegram_id) for m in batch],
                        now=self._clock(),
                        lease=self.retry.lease,
                        next_of=[m.chat_id for m in batch],
                        also=self._meant(batch),
                    )
                    claimed: list[tuple[_Mark, OutboxMessage | None]] = []
                    for mark in batch:
                        head = heads.pop(mark.chat_id, None)
                        if head is not None and head.id in self._sending:
                            head = None  # another worker here has it (a chat migrated into it)
                        if head is not None:
                            self._sending.add(head.id)
                        claimed.append((mark, head))
            except Exception as error:
                # The marks are not written: the messages stay claimed, and the workers
                # stop as when a single mark failed.
                log.exception("outbox: %d mark(s) could not be written", len(batch))
                for mark in batch:
                    if not mark.done.done():
                        mark.done.set_exception(error)
                continue
            for mark, head in claimed:
                if not mark.done.done():
                    mark.done.set_result(head)
                elif head is not None:
                    # Its worker was cancelled (shutdown): the head is given back.
                    self._sending.discard(head.id)
                    with suppress(Exception):
                        await self._repo.release(head.id)

    def _meant(self, batch: Sequence[_Mark]) -> Callable[[], Awaitable[None]] | None:
        """What the batch's messages meant, kept in their marks' transaction: a round
        that has sent its digests has also made their numbered buttons answerable."""
        on_delivered = self._on_delivered
        if on_delivered is None:
            return None
        return partial(on_delivered, [(m.chat_id, m.telegram_id, m.message.part) for m in batch])

    def _prepared(self, message: OutboxMessage, *, buttons: bool = True) -> Outgoing:
        """The message as the Deliverer sends it, its request encoded once for all the
        chats it goes to (the same digest to thousands): only the topic differs."""
        p = message.part
        markup = p.markup if buttons else None
        key = (p.text, markup, p.silent, p.reply_to, message.kind in self._broadcast)
        outgoing = self._payloads.get(key)
        if outgoing is None:
            built = _outgoing(message, buttons=buttons, broadcast=self._broadcast)
            outgoing = self._deliverer.prepare(replace(built, message_thread_id=None))
            self._payloads[key] = outgoing
            if len(self._payloads) > PREPARED:
                self._payloads.popitem(last=False)
        else:
            self._payloads.move_to_end(key)
        if p.thread_id is None:
            return outgoing
        return replace(outgoing, message_thread_id=p.thread_id)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        # One process per SQLite store: any lease found was held by one that died.
        if not self._repo.shared and (freed := await self._repo.release_all()):
            log.info("%d message(s) claimed before a restart are sent again", freed)
        self._closing = False
        self._loop = asyncio.create_task(self._run())

    async def _run(self) -> None:
        # Ended by close() between passes, never inside one: a pass's claims are always
        # followed by their workers.
        while not self._closing:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                # The store or the network failed this pass; the next one tries again.
                log.exception("outbox pass failed")
            pause = await self._pause()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _pause(self) -> float:
        try:
            due = await self._repo.next_due(now=self._clock())
        except Exception:
            log.exception("outbox: could not read the next due time")
            return self.retry.poll
        if due is None:
            return self.retry.poll
        wait = (due - as_utc(self._clock())).total_seconds()
        return min(max(wait, 0.05), self.retry.poll)

    async def idle(self) -> None:
        """Waits until no worker is sending (tests, orderly shutdown)."""
        while self._workers:
            await asyncio.wait([task for tasks in self._workers.values() for task in tasks])

    async def close(self) -> None:
        """Stops sending without losing a message or sending one twice: the sends still
        waiting for their turn are cancelled and their messages given back to the
        ledger; the ones on their way to Telegram finish and are marked, and their
        workers stop there. What is given back goes out from another process at once,
        or at the next start."""
        self._closing = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_WAIT
        seen: set[asyncio.Task[object]] = set()
        while True:
            # A claim under way spawns its workers before they are counted.
            async with self._claiming:
                pass
            workers: set[asyncio.Task[object]] = {
                task for tasks in self._workers.values() for task in tasks
            }
            seen |= workers
            tasks = {t for t in (self._loop, *workers) if t is not None and not t.done()}
            if not tasks:
                break
            left = deadline - loop.time()
            if left <= 0:
                # Bounded: a shutdown must not hang on a worker that does not end.
                log.error("outbox: %d sender(s) did not stop within %ss", len(tasks), CLOSE_WAIT)
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=1.0)
                break
            # Looked at again each pass: a worker can come to wait for its turn later
            # (the next try after a 5xx) and is cancelled then.
            for task in self._deliverer.holding_back() & workers:
                task.cancel()
            await asyncio.wait(tasks, timeout=min(left, 0.1))
        for task in seen:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("outbox: a sender failed", exc_info=task.exception())
        # Marks of messages Telegram already took are written before the store closes.
        if self._committing is not None:
            done, _ = await asyncio.wait([self._committing], timeout=CLOSE_WAIT)
            if not done:
                log.error("outbox: the marks' commit did not end within %ss", CLOSE_WAIT)
