"""Sending many messages within Telegram's limits.

Telegram asks bots to stay under about 30 messages a second overall, one a second
per chat and 20 a minute per group, and answers excess with ``429 retry_after``.
``Deliverer`` paces every request with aiolimiter's leaky buckets, waits out 429s,
retries transient failures with backoff, reports chats that blocked or removed the
bot, and follows a group's migration to a supergroup. A message that goes to many chats
(a digest) can be encoded once (`prepare`) and sent to each over aiogram's aiohttp
session with only its chat id added, reading only the new message's id back (`Posted`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from aiohttp import ClientError, ClientTimeout
from aiolimiter import AsyncLimiter

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
OnBlocked = Callable[[int, str], Awaitable[None]]
OnMigrated = Callable[[int, int], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

# Bad Request descriptions that mean the chat is gone for good, like a 403.
# A channel that took the bot's right to post is gone for the bot as a kicked group is.
_GONE = (
    "chat not found",
    "group chat was deactivated",
    "user is deactivated",
    "need administrator rights in the channel chat",
)
# An edit that changes nothing: the message already reads as asked.
_UNCHANGED = "message is not modified"
# A button press's query answered too late, or twice: nothing to retry.
_QUERY_GONE = ("query is too old", "query id is invalid")
# The per-chat buckets are re-stamped at send time; a millisecond of slack keeps the
# re-stamp from failing on clock readings taken a few microseconds apart.
_CLOCK_SLACK = 0.001
# A send the overall window lets go replaces the one a second before it by at least this.
_WINDOW_EDGE = 1e-6


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's documented ceilings; tests raise them to run fast."""

    global_per_sec: float = 30
    per_chat_per_sec: float = 1
    per_group_per_min: float = 20

    def shared(self, share: float) -> Limits:
        """This process's part of the bot's overall limit when several processes send
        at once (SENDER_SHARE): Telegram counts the bot, not the process. The per-chat
        limits stay whole: a chat's digest comes from the one leader."""
        return replace(self, global_per_sec=self.global_per_sec * share)


# With allow_paid_broadcast (PAID_BROADCAST=1) Telegram lets a bot send up to 1,000
# messages a second, paying Stars for those over 30.
PAID_BROADCAST_PER_SEC = 1000.0
# Share of a second's budget that may go out at once after a pause (see global_limiter).
_BURST_SHARE = 0.05


def global_limiter(per_sec: float) -> GlobalLimiter:
    """The bot's overall limiter: `per_sec` sustained, and never more than `per_sec` in
    any one second by the bot's clock.

    A bucket of capacity C (5% of the limit) leaking `per_sec` a second spaces the sends
    out and lets the event loop be late by up to C's worth without losing the rate;
    capacity 1 (one token per `1/per_sec`) would depend on the loop waking up on time
    for every message: at 1,000 a second it manages about half of that. Such a bucket
    alone lets C + `per_sec` through in some second; the moving window behind it
    (`GlobalLimiter`) holds every second to the limit.
    """
    burst = max(1.0, per_sec * _BURST_SHARE)
    return GlobalLimiter(AsyncLimiter(burst, burst / per_sec), per_sec=per_sec)


# The session's connections kept free of digests and replies: getUpdates holds one,
# button answers and edits take others.
SPARE_CONNECTIONS = 4
# Sends in flight at most; a ledger message holds its place until its mark is written
# (`Outgoing.hold`), so this also bounds what a crash can send twice: the messages
# Telegram took whose marks were not yet committed (docs/reliability.md). 64 carry
# 1,000 messages a second while a round trip to the Bot API and a commit take 64 ms.
SENDS_AT_ONCE = 64
# aiohttp's own default, and what a session that does not say (or says 0) is given here.
_CONNECTIONS = 100


def in_flight(session: object) -> int:
    """Sends at once: SENDS_AT_ONCE, within the session's pool but a few connections."""
    options = getattr(session, "_connector_init", None)
    limit = options.get("limit") if isinstance(options, dict) else None
    connections = limit if isinstance(limit, int) and limit > 0 else _CONNECTIONS
    return max(1, min(connections - SPARE_CONNECTIONS, SENDS_AT_ONCE))


# How much shorter than a second the overall limiter's second window is (GlobalLimiter).
_JITTER_MARGIN = 0.05


class _Window:
    """At most `most` sends let go within any `most / per_sec` seconds: the rate, over
    that span."""

    __slots__ = ("most", "released", "span")

    def __init__(self, most: int, per_sec: float) -> None:
        self.most = most
        self.span = most / per_sec
        self.released: deque[float] = deque(maxlen=most)

    def room(self, amount: int, now: float) -> float:
        """Seconds from `now` until `amount` more sends fit (0 or less: now): until the
        send they replace is a span and a microsecond old, never exactly on the edge."""
        released = self.released
        over = len(released) + amount - self.most
        if over <= 0:
            return 0.0
        return released[over - 1] + self.span + _WINDOW_EDGE - now


class GlobalLimiter:
    """The bot's overall bucket, its tokens taken for the senders waiting on it a whole
    bucket at a time, behind a moving window of the limit.

    AsyncLimiter wakes its waiters one by one, each on a timer of its own: at 1,000 a
    second that is a turn of the event loop a message, 0.4 ms of CPU each here
    (benchmarks/round.py). Taken together, a batch goes out as a burst of that size
    would, which the bucket's bound already allows for; a token is never kept for later
    (it would go out after the bucket counted it), so one whose sender was cancelled
    meanwhile is lost, not saved.

    The window: no more than `per_sec` sends are let go within any second by the loop's
    clock, nor more than the limit's rate within any shorter span down to
    `_JITTER_MARGIN` short of a second (`_Window`); a batch that would pass either waits
    until the oldest sends in it are old enough. Telegram counts by its own clock, when
    each request gets there: a second's worth that left the bot in 0.95 s (a bucketful
    at once after a pause, then the leak) reaches a limit of a second if some of it is
    delayed a little more than the rest. The shorter window leaves that much delay to
    spare and costs nothing at a steady rate.
    """

    def __init__(self, bucket: AsyncLimiter, *, per_sec: float) -> None:
        self._bucket = bucket
        # Half a bucketful at a time: the bucket is never emptied to its floor when a
        # batch is taken, so a wake-up late by up to half its capacity's worth (25 ms
        # at 1,000 a second) still finds what leaked meanwhile. A whole bucketful would
        # empty it, and every millisecond the loop is late would be lost (50 sends per
        # 51 ms is 980 a second).
        self._batch = max(1, int(bucket.max_rate) // 2)
        whole = _Window(max(1, int(per_sec)), per_sec)
        shorter = _Window(max(1, int(per_sec * (1 - _JITTER_MARGIN))), per_sec)
        self._windows = (whole,) if shorter.most == whole.most else (whole, shorter)
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._dispenser: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        if not self._waiting and self._bucket.has_capacity() and self._room(1) <= 0:
            await self._bucket.acquire()
            self._release(1)
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._dispenser is None or self._dispenser.done():
            self._dispenser = asyncio.create_task(self._dispense())
        await waiter

    def _room(self, amount: int) -> float:
        """Seconds until `amount` more sends fit in the windows (0 or less: now)."""
        now = asyncio.get_running_loop().time()
        return max(window.room(amount, now) for window in self._windows)

    def _release(self, amount: int) -> None:
        """Counts `amount` sends let go now in the windows."""
        now = asyncio.get_running_loop().time()
        for window in self._windows:
            window.released.extend(itertools.repeat(now, amount))

    def _any_waiting(self) -> bool:
        """Drops the waiters at the head that were cancelled while they waited; whether
        one is left."""
        waiting = self._waiting
        while waiting and waiting[0].done():
            waiting.popleft()
        return bool(waiting)

    async def _dispense(self) -> None:
        waiting = self._waiting
        while self._any_waiting():
            wanted = min(len(waiting), self._batch)
            try:
                await self._bucket.acquire(wanted)
                # Nothing else is let go meanwhile: the fast path is closed while
                # senders wait, so one sleep makes the room.
                if (wait := self._room(wanted)) > 0:
                    await asyncio.sleep(wait)
            except BaseException as error:
                for waiter in waiting:
                    if waiter.done():
                        continue
                    if isinstance(error, asyncio.CancelledError):
                        waiter.cancel()
                    else:
                        waiter.set_exception(error)
                waiting.clear()
                raise
            released = 0
            for _ in range(wanted):
                if not self._any_waiting():
                    break
                waiting.popleft().set_result(None)
                released += 1
            self._release(released)


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    reply_markup: Markup | None = None
    parse_mode: str | None = "HTML"
    link_preview_options: LinkPreviewOptions | None = None
    disable_notification: bool | None = None
    # Paid broadcast (PAID_BROADCAST=1): digests only, never replies.
    allow_paid_broadcast: bool | None = None
    # An answer in a group replies to the message that asked.
    reply_parameters: ReplyParameters | None = None
    # Set: the message of this id is edited to read `text` instead of a new one sent.
    edit_message_id: int | None = None
    # A forum topic of the chat; None: the chat itself (a forum's General topic).
    message_thread_id: int | None = None
    # The sendMessage request encoded once (`Deliverer.prepare`) for every chat it goes
    # to: all of it but chat_id and message_thread_id, a JSON object's members.
    payload: bytes | None = field(default=None, compare=False, repr=False)
    # Delivered, the message keeps its place among the sends in flight until the caller
    # gives it back (`Deliverer.let_go`): the ledger, once its mark is written.
    hold: bool = False


@dataclass(frozen=True, slots=True)
class Posted:
    """A message Telegram accepted, as the lean request path reads it: only its id."""

    message_id: int


Sent = Message | Posted


class Rendered(Protocol):
    """What ``bot.render`` produces: HTML text and, maybe, its buttons."""

    @property
    def html(self) -> str: ...

    @property
    def keyboard(self) -> InlineKeyboardMarkup | None: ...


OutgoingLike = Outgoing | Rendered | str | tuple[str, Markup | None]


@dataclass(slots=True)
class ChatDelivery:
    """What became of one chat's sequence of messages."""

    chat_id: int
    final_chat_id: int
    messages: list[Sent] = field(default_factory=list)
    failed: int = 0
    blocked: bool = False
    # A message kept failing (5xx, network, 429s) and the rest were not tried: worth
    # trying later, unlike a message Telegram refused for its content.
    gave_up: bool = False
    migrated_to: int | None = None
    retries: int = 0
    # Telegram's reason for refusing the last message (Bad Request), if it did.
    refused: str | None = None
    # Places among the sends in flight still held by delivered `hold` messages.
    held: int = 0


@dataclass(frozen=True, slots=True)
class Edited:
    """What became of an edit: done (`message`), not needed (`unchanged`: it already
    read so), or not possible (`refused`: the message is gone or cannot be edited, and
    the caller sends a new one instead); all None after giving up (logged)."""

    message: Message | None = None
    unchanged: bool = False
    refused: str | None = None


@dataclass(slots=True)
class _Outcome:
    message: Sent | None
    chat_id: int
    blocked: bool = False
    gave_up: bool = False
    migrated_to: int | None = None
    retries: int = 0
    refused: str | None = None
    unchanged: bool = False


class _ChatSlot:
    """A chat's buckets and lock, alive while the chat is in use or its buckets drain."""

    __slots__ = ("limiters", "lock", "users")

    def __init__(self, limiters: list[AsyncLimiter]) -> None:
        self.limiters = limiters
        self.lock = asyncio.Lock()
        self.users = 0

    def idle(self) -> bool:
        # A drained bucket behaves exactly like a new one, so dropping it loses nothing.
        return self.users == 0 and all(
            limiter.has_capacity(limiter.max_rate) for limiter in self.limiters
        )


class Deliverer:
    def __init__(
        self,
        bot: Bot,
        *,
        on_blocked: OnBlocked | None = None,
        on_migrated: OnMigrated | None = None,
        max_retries: int = 5,
        max_flood_waits: int = 10,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        limits: Limits | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._bot = bot
        self._on_blocked = on_blocked
        self._on_migrated = on_migrated
        self._max_retries = max_retries
        self._max_flood_waits = max_flood_waits
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._limits = limits or Limits()
        self._sleep = sleep
        self._log = logging.getLogger(__name__)
        self._global = global_limiter(self._limits.global_per_sec)
        self._in_flight = asyncio.Semaphore(in_flight(bot.session))
        # Oldest first: a new chat's slot looks at the two held longest (`_forget_idle`).
        self._chats: OrderedDict[int, _ChatSlot] = OrderedDict()
        # Tasks whose request waits for its turn, or for its next try: none of theirs is
        # on its way to Telegram now (`holding_back`).
        self._held_back: set[asyncio.Task[Any]] = set()

    @property
    def tracked_chats(self) -> int:
        """Chats whose buckets are held in memory (in use, or not yet drained)."""
        return len(self._chats)

    def holding_back(self) -> set[asyncio.Task[Any]]:
        """The tasks whose request waits for its turn (the chat's second, a place in
        flight, the overall limit) or for its next try (a 429, a backoff): cancelled
        now, they have sent nothing that Telegram could be taking. A task that is not
        here may have a request on its way, or none at all."""
        return set(self._held_back)

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Markup | None = None,
        parse_mode: str | None = "HTML",
        link_preview_options: LinkPreviewOptions | None = None,
        disable_notification: bool | None = None,
    ) -> Message | None:
        """Deliver one message; None when it could not be (the reason is logged)."""
        outgoing = Outgoing(
            text, reply_markup, parse_mode, link_preview_options, disable_notification
        )
        outcome = await self._deliver(chat_id, outgoing)
        assert outcome.message is None or isinstance(outcome.message, Message)
        return outcome.message

    async def send_many(self, chat_id: int, messages: Sequence[OutgoingLike]) -> ChatDelivery:
        """Deliver a chat's messages in order.

        Stops at a chat that blocked the bot, follows a migration for the rest, and
        stops after a message that kept failing: the chat's remaining messages count
        as failed rather than each burning its own retries.
        """
        result = ChatDelivery(chat_id=chat_id, final_chat_id=chat_id)
        for index, item in enumerate(messages):
            outgoing = _normalise(item)
            outcome = await self._deliver(result.final_chat_id, outgoing)
            result.retries += outcome.retries
            if outcome.migrated_to is not None:
                result.migrated_to = outcome.migrated_to
                result.final_chat_id = outcome.migrated_to
            if outcome.message is not None:
                result.messages.append(outcome.message)
                result.held += outgoing.hold
                continue
            if outcome.blocked:
                result.blocked = True
                break
            result.failed += 1
            result.refused = outcome.refused
            if outcome.gave_up:
                result.gave_up = True
                result.failed += len(messages) - index - 1
                break
        return result

    async def edit(self, chat_id: int, message_id: int, item: OutgoingLike) -> Edited:
        """Edits a message of the chat to read `item`, paced and retried like a send."""
        outgoing = _normalise(item)
        outgoing = Outgoing(
            outgoing.text,
            outgoing.reply_markup,
            outgoing.parse_mode,
            outgoing.link_preview_options,
            edit_message_id=message_id,
        )
        outcome = await self._deliver(chat_id, outgoing)
        edited = outcome.message
        assert edited is None or isinstance(edited, Message)  # an edit takes no lean path
        return Edited(edited, outcome.unchanged, outcome.refused)

    async def acknowledge(
        self, query_id: str, text: str | None = None, *, show_alert: bool = False
    ) -> bool:
        """Answers a button press (answerCallbackQuery): the spinner stops, `text` shows
        as a toast or, with `show_alert`, a box. Not a message, so not paced; 429s are
        waited out and transient failures retried like a send's. False when it could
        not be answered (logged): Telegram keeps a query for a few seconds only."""
        return await self._answer_query(
            query_id,
            lambda: self._bot.answer_callback_query(query_id, text=text, show_alert=show_alert),
        )

    async def offer_results(
        self, query_id: str, results: Sequence[InlineQueryResultArticle], **options: Any
    ) -> bool:
        """Answers an inline query (answerInlineQuery) as a button press is answered."""
        return await self._answer_query(
            query_id, lambda: self._bot.answer_inline_query(query_id, list(results), **options)
        )

    async def _answer_query(self, query_id: str, call: Callable[[], Awaitable[object]]) -> bool:
        transient = floods = 0
        while True:
            try:
                await call()
                return True
            except TelegramRetryAfter as error:
                floods += 1
                if floods > self._max_flood_waits:
                    self._log.error("query %s: still flood-limited, not answered", query_id)
                    return False
                await self._sleep(error.retry_after)
            except TelegramBadRequest as error:
                level = logging.INFO if _query_gone(error) else logging.ERROR
                self._log.log(level, "query %s: not answered: %s", query_id, error.message)
                return False
            except (
                TelegramServerError,
                TelegramNetworkError,
                ClientDecodeError,
                ClientError,
                TimeoutError,
            ) as error:
                transient += 1
                if transient > self._max_retries:
                    self._log.error(
                        "query %s: not answered after %d attempts: %s", query_id, transient, error
                    )
                    return False
                await self._sleep(min(self._backoff * 2 ** (transient - 1), self._max_backoff))
            except TelegramAPIError as error:
                self._log.error("query %s: not answered: %s", query_id, error)
                return False

    # -- one message ----------------------------------------------------------------

    async def _deliver(
        self, chat_id: int, outgoing: Outgoing, seen: frozenset[int] = frozenset()
    ) -> _Outcome:
        slot = self._chats.get(chat_id)
        if slot is None:
            self._forget_idle()
            slot = self._chats[chat_id] = _ChatSlot(self._limiters_for(chat_id))
        slot.users += 1
        try:
            async with slot.lock:
                # The lock keeps one chat's messages in order, across retries too.
                return await self._attempts(chat_id, slot, outgoing, seen | {chat_id})
        finally:
            slot.users -= 1

    async def _attempts(
        self, chat_id: int, slot: _ChatSlot, outgoing: Outgoing, seen: frozenset[int]
    ) -> _Outcome:
        retries = transient = floods = 0
        while True:
            try:
                # One of the sends in flight is held from here: given back when the
                # request fails, or after it (`hold`: once its mark is written, `let_go`).
                await self._turn(slot)
                try:
                    message = await self._request(chat_id, outgoing)
                except BaseException:
                    self._in_flight.release()
                    raise
                if not outgoing.hold:
                    self._in_flight.release()
                return _Outcome(message, chat_id, retries=retries)
            except TelegramRetryAfter as error:
                floods += 1
                if floods > self._max_flood_waits:
                    self._log.error("chat %s: still flood-limited, giving up", chat_id)
                    return _Outcome(None, chat_id, gave_up=True, retries=retries)
                # The message is kept: Telegram said when to come back, not to drop it.
                self._log.warning("chat %s: 429, waiting %ss", chat_id, error.retry_after)
                retries += 1
                with self._holding_back():
                    await self._sleep(error.retry_after)
            except TelegramMigrateToChat as error:
                return await self._follow_migration(chat_id, error, outgoing, retries, seen)
            except TelegramForbiddenError as error:
                await self._blocked(chat_id, error.message)
                return _Outcome(None, chat_id, blocked=True, retries=retries)
            except TelegramBadRequest as error:
                reason = error.message.lower()
                if any(marker in reason for marker in _GONE):
                    await self._blocked(chat_id, error.message)
                    return _Outcome(None, chat_id, blocked=True, retries=retries)
                if outgoing.edit_message_id is not None:
                    if _UNCHANGED in reason:
                        return _Outcome(None, chat_id, unchanged=True, retries=retries)
                    # Deleted, too old or not ours: the caller sends a new message instead.
                    self._log.info("chat %s: edit refused: %s", chat_id, error.message)
                    return _Outcome(None, chat_id, refused=error.message, retries=retries)
                # Our own mistake (markup, length): retrying would fail the same way.
                self._log.error("chat %s: message refused: %s", chat_id, error.message)
                return _Outcome(None, chat_id, refused=error.message, retries=retries)
            except TelegramEntityTooLarge as error:
                self._log.error("chat %s: message refused: %s", chat_id, error.message)
                return _Outcome(None, chat_id, retries=retries)
            except (
                TelegramServerError,
                TelegramNetworkError,
                ClientDecodeError,  # a proxy's HTML error page instead of Telegram's JSON
                ClientError,
                TimeoutError,
            ) as error:
                transient += 1
                if transient > self._max_retries:
                    self._log.error(
                        "chat %s: giving up after %d attempts: %s", chat_id, transient, error
                    )
                    return _Outcome(None, chat_id, gave_up=True, retries=retries)
                delay = min(self._backoff * 2 ** (transient - 1), self._max_backoff)
                self._log.warning("chat %s: %s, retrying in %.1fs", chat_id, error, delay)
                retries += 1
                with self._holding_back():
                    await self._sleep(delay)
            except TelegramAPIError as error:
                # Unauthorized, Conflict, Not Found: nothing a retry here would fix.
                self._log.error("chat %s: %s", chat_id, error)
                return _Outcome(None, chat_id, gave_up=True, retries=retries)

    def prepare(self, outgoing: Outgoing) -> Outgoing:
        """`outgoing` with its sendMessage request encoded once, for a message that goes
        to many chats (a digest): each send then adds only its chat id and topic and
        reads only the new message's id from the answer (`Posted`). As it is without a
        session that can take the lean path (another session, request middlewares)."""
        session = self._bot.session
        if not _lean_session(session) or outgoing.edit_message_id is not None:
            return outgoing
        files: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        # What aiogram's own request would carry, the bot's defaults resolved alike.
        for key, value in self._method(0, outgoing).model_dump(warnings=False).items():
            if key in _PER_CHAT:
                continue
            prepared = session.prepare_value(value, bot=self._bot, files=files, _dumps_json=False)
            # Left out as aiogram's form leaves them out: unset, or empty text.
            if prepared is not None and prepared != "":
                fields[key] = prepared
        if files or not fields:
            return outgoing
        body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        return replace(outgoing, payload=body[1:])

    def _method(self, chat_id: int, outgoing: Outgoing) -> SendMessage:
        # No preview options of its own: the bot's default (LINK_PREVIEWS), which an
        # explicit None would override with Telegram's (previews on).
        previews = outgoing.link_preview_options or Default("link_preview")
        return SendMessage(
            chat_id=chat_id,
            text=outgoing.text,
            parse_mode=outgoing.parse_mode,
            reply_markup=outgoing.reply_markup,
            disable_notification=outgoing.disable_notification,
            allow_paid_broadcast=outgoing.allow_paid_broadcast,
            link_preview_options=previews,
            reply_parameters=outgoing.reply_parameters,
            message_thread_id=outgoing.message_thread_id,
        )

    async def _request(self, chat_id: int, outgoing: Outgoing) -> Sent:
        session = self._bot.session
        if (
            outgoing.payload is not None
            and outgoing.edit_message_id is None
            and _lean_session(session)
        ):
            assert isinstance(session, AiohttpSession)
            return await self._post(session, chat_id, outgoing, outgoing.payload)
        if outgoing.edit_message_id is None:
            return await self._bot(self._method(chat_id, outgoing))
        previews = outgoing.link_preview_options or Default("link_preview")
        markup = outgoing.reply_markup
        edited = await self._bot.edit_message_text(
            outgoing.text,
            chat_id=chat_id,
            message_id=outgoing.edit_message_id,
            parse_mode=outgoing.parse_mode,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            link_preview_options=previews,
        )
        # True comes back only for inline messages, which carry no chat id.
        assert isinstance(edited, Message)
        return edited

    async def _post(
        self, session: AiohttpSession, chat_id: int, outgoing: Outgoing, payload: bytes
    ) -> Sent:
        """sendMessage with a prepared payload: aiogram's aiohttp session and its
        errors, without encoding the text again or building the whole `Message`."""
        head = b'{"chat_id":%d,' % chat_id
        if outgoing.message_thread_id is not None:
            head += b'"message_thread_id":%d,' % outgoing.message_thread_id
        client = await session.create_session()
        url = session.api.api_url(token=self._bot.token, method="sendMessage")
        try:
            async with client.post(
                url,
                data=head + payload,
                headers=_JSON,
                timeout=ClientTimeout(total=session.timeout),
            ) as response:
                status = response.status
                body = await response.read()
                if 200 <= status <= 226 and (accepted := _ACCEPTED.match(body)):
                    return Posted(int(accepted[1]))
                content = await response.text()
        except TimeoutError as error:
            method = self._method(chat_id, outgoing)
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            method = self._method(chat_id, outgoing)
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method, message=message) from error
        if 200 <= status <= 226:
            with suppress(ValueError):
                answer = json.loads(content)
                result = answer.get("result") if isinstance(answer, dict) else None
                if isinstance(result, dict) and answer.get("ok") is True:
                    message_id = result.get("message_id")
                    if isinstance(message_id, int) and not isinstance(message_id, bool):
                        return Posted(message_id)
        # Anything else is read as aiogram reads it, and raises what aiogram raises:
        # 429 retry_after, 403, migrate_to_chat_id, 5xx, a page that is not JSON.
        checked = session.check_response(
            self._bot, self._method(chat_id, outgoing), status, content
        )
        assert checked.result is not None
        return checked.result

    async def _follow_migration(
        self,
        chat_id: int,
        error: TelegramMigrateToChat,
        outgoing: Outgoing,
        retries: int,
        seen: frozenset[int],
    ) -> _Outcome:
        new_id = error.migrate_to_chat_id
        if new_id in seen:
            # Telegram never sends a chat back where it came from; don't wait on our own lock.
            self._log.error("chat %s: migration loops back to %s", chat_id, new_id)
            return _Outcome(None, chat_id, gave_up=True, retries=retries)
        self._log.info("chat %s became supergroup %s", chat_id, new_id)
        if self._on_migrated is not None:
            try:
                await self._on_migrated(chat_id, new_id)
            except Exception:
                # The message still goes to the new chat; storage can catch up later.
                self._log.exception("on_migrated(%s, %s) failed", chat_id, new_id)
        outcome = await self._deliver(new_id, outgoing, seen)
        outcome.retries += retries
        outcome.migrated_to = new_id
        return outcome

    async def _blocked(self, chat_id: int, reason: str) -> None:
        self._log.info("chat %s is gone: %s", chat_id, reason)
        if self._on_blocked is None:
            return
        try:
            await self._on_blocked(chat_id, reason)
        except Exception:
            self._log.exception("on_blocked(%s) failed", chat_id)

    # -- pacing ---------------------------------------------------------------------

    def let_go(self, held: int) -> None:
        """Gives back the places of delivered `hold` messages (`ChatDelivery.held`)."""
        for _ in range(held):
            self._in_flight.release()

    @contextmanager
    def _holding_back(self) -> Iterator[None]:
        """The current task among those `holding_back` while in the block."""
        task = asyncio.current_task()
        assert task is not None
        self._held_back.add(task)
        try:
            yield
        finally:
            self._held_back.discard(task)

    async def _turn(self, slot: _ChatSlot) -> None:
        """Waits for what one request needs to go out now: the chat's buckets, one of
        the sends in flight, then a token of the overall bucket, in that order; the
        task is among those `holding_back` meanwhile. Returns holding the place in
        flight."""
        with self._holding_back():
            # The chat's own buckets first, so a chat waiting out its second does not
            # hold a global slot that another chat could use.
            for limiter in slot.limiters:
                await limiter.acquire()
            loop = asyncio.get_running_loop()
            queued_at = loop.time()
            # A free connection before the token: a message that took its token and
            # then queued for a connection would go out later, bunched with others,
            # and more than the limit would reach Telegram in some second.
            await self._in_flight.acquire()
            try:
                await self._global.acquire()
            except BaseException:
                self._in_flight.release()
                raise
        waited = loop.time() - queued_at
        if waited > _CLOCK_SLACK:
            # Telegram counts a chat's second from when the message goes out, not
            # from when its bucket was taken: refill what drained while we queued.
            for limiter in slot.limiters:
                rate = limiter.max_rate / limiter.time_period
                amount = min(waited * rate, limiter.max_rate) - _CLOCK_SLACK * rate
                if amount > 0 and limiter.has_capacity(amount):
                    await limiter.acquire(amount)

    def _limiters_for(self, chat_id: int) -> list[AsyncLimiter]:
        limits = self._limits
        limiters = [AsyncLimiter(1, 1 / limits.per_chat_per_sec)]
        if chat_id < 0:
            # Groups, supergroups and channels have negative ids. A bucket of C that
            # leaks C a minute lets at most 2C through in any minute: C = limit / 2
            # keeps a sliding minute within the limit and still allows a short burst.
            half = limits.per_group_per_min / 2
            limiters.append(AsyncLimiter(half, 60))
        return limiters

    def _forget_idle(self) -> None:
        """Looks at the two slots held longest: an idle one is dropped, one in use goes
        to the back. Two looks for every new slot go round all of them before their
        number doubles, so what is kept stays about the chats in use, and no send waits
        for a sweep of them all (thousands in a round: tens of milliseconds of the event
        loop at a time)."""
        chats = self._chats
        for _ in range(min(2, len(chats))):
            chat_id, slot = next(iter(chats.items()))
            if slot.idle():
                del chats[chat_id]
            else:
                chats.move_to_end(chat_id)


# What differs between the chats a prepared payload goes to.
_PER_CHAT = frozenset({"chat_id", "message_thread_id"})
_JSON = {"Content-Type": "application/json"}
# How Telegram's answer to a send begins: `{"ok":true,"result":{"message_id":N,...`.
# Matched, N is the new message's id whatever follows (the whole message, its entities
# included, a third of the request path's CPU when decoded); anything else is decoded.
_ACCEPTED = re.compile(
    rb'\s*\{\s*"ok"\s*:\s*true\s*,\s*"result"\s*:\s*\{\s*"message_id"\s*:\s*(\d{1,18})\s*[,}]'
)


def _lean_session(session: object) -> bool:
    """Whether sends may bypass aiogram's request building: its aiohttp session, with
    no request middleware that would expect to see every call."""
    return isinstance(session, AiohttpSession) and len(session.middleware) == 0


def _normalise(item: OutgoingLike) -> Outgoing:
    if isinstance(item, Outgoing):
        return item
    if isinstance(item, str):
        return Outgoing(item)
    if isinstance(item, tuple):
        text, markup = item
        return Outgoing(text, markup)
    return Outgoing(item.html, item.keyboard)


def _query_gone(error: TelegramBadRequest) -> bool:
    return any(marker in error.message.lower() for marker in _QUERY_GONE)


class AdminNotifier:
    """A notice to each ADMIN_IDS user (the intake's `notify`, a feed paused, say),
    through the Deliverer it is given once the bot has one (`attach`); an admin who
    never opened a chat with the bot is skipped (logged), the others still told."""

    def __init__(self, admin_ids: Sequence[int]) -> None:
        self._admin_ids = list(admin_ids)
        self._deliverer: Deliverer | None = None
        self._log = logging.getLogger(__name__)

    def attach(self, deliverer: Deliverer) -> None:
        self._deliverer = deliverer

    async def __call__(self, text: str) -> None:
        if self._deliverer is None:
            self._log.warning("no sender yet; admin notice not sent: %s", text[:80])
            return
        for admin_id in self._admin_ids:
            if await self._deliverer.send(admin_id, text) is None:
                self._log.warning("could not notify admin %s", admin_id)
