"""Flood control: a few commands a second per sender, then one notice, then silence.

Telegram itself lets a bot send about one message a second to a chat, so a user who
fires twenty commands at once would keep the bot busy (and its sending budget spent)
for twenty seconds. Each sender gets a leaky bucket (aiolimiter, as `bot.delivery`
uses): `burst` commands at once, refilled at `rate` a second. The first command over
the limit gets `texts.FLOOD`; the rest are dropped without a word until the bucket
has room again, so the notice itself cannot be used to flood the chat.

Only what the bot would answer is counted: any text in a private chat, commands for
this bot in groups, button presses. Service messages (a group's migration to a
supergroup, members joining) and chatter in groups pass untouched, and
`my_chat_member` updates never reach this middleware at all.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiolimiter import AsyncLimiter

from bot import texts
from bot.answers import Answers

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Drained buckets are swept when the table reaches this size or twice its size after
# the previous sweep, so the cost of sweeping stays constant per update.
SWEEP_MIN = 1024
# A hard ceiling on remembered senders, whatever happens: past it the oldest buckets
# go, and a forgotten sender merely starts with a full bucket again.
MAX_SENDERS = 100_000


@dataclass(slots=True)
class _Bucket:
    limiter: AsyncLimiter
    warned: bool = field(default=False)

    def idle(self) -> bool:
        # A drained bucket behaves exactly like a new one: forgetting it loses nothing.
        return self.limiter.has_capacity(self.limiter.max_rate)


def sender_key(event: TelegramObject) -> int | None:
    """Whose bucket an update draws from.

    Anonymous group admins all write as the same service user (GroupAnonymousBot), as do
    channels posting in groups; the chat they speak for tells them apart.
    """
    if isinstance(event, Message):
        if event.sender_chat is not None:
            return event.sender_chat.id
        return event.from_user.id if event.from_user is not None else None
    if isinstance(event, CallbackQuery):
        return event.from_user.id
    return None


async def counts(event: TelegramObject, bot: Bot) -> bool:
    """Whether the bot would act on this update, so that it costs a token."""
    if isinstance(event, CallbackQuery):
        return True
    if not isinstance(event, Message) or event.is_automatic_forward:
        return False
    text = event.text or event.caption
    if text is None:
        # Service messages (migration, new members, pinned) are never the user's doing
        # at flood speed, and dropping a migration would lose the chat's subscription.
        return False
    if event.chat.type == ChatType.PRIVATE:
        return True
    if not text.startswith("/"):
        return False  # group chatter: the bot does not answer it
    mention = text.split(maxsplit=1)[0].partition("@")[2]
    if not mention:
        return True
    me = await bot.me()  # cached by aiogram after the first call
    return mention.lower() == (me.username or "").lower()


class FloodControl(BaseMiddleware):
    """Outer middleware for `message` and `callback_query` (one instance for both, so a
    sender's commands and button presses share one budget)."""

    def __init__(self, *, burst: int, rate: float, max_senders: int = MAX_SENDERS) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("flood control needs burst >= 1 and rate > 0")
        self.burst = burst
        self.rate = rate
        self.max_senders = max_senders
        self._buckets: dict[int, _Bucket] = {}
        self._sweep_at = min(SWEEP_MIN, max_senders)

    def __len__(self) -> int:
        """How many senders are remembered (for tests and debugging)."""
        return len(self._buckets)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        key = sender_key(event)
        bot: Bot | None = data.get("bot")
        if key is None or bot is None or not await counts(event, bot):
            return await handler(event, data)
        bucket = self._bucket(key)
        if bucket.limiter.has_capacity():
            # There is room, so this returns at once: the check and the take cannot be
            # split by another update.
            await bucket.limiter.acquire()
            bucket.warned = False
            return await handler(event, data)
        if not bucket.warned:
            bucket.warned = True
            log.info("sender %s is over the flood limit; dropping updates for now", key)
            await self._notify(event, data.get("answers"))
        return None

    def _bucket(self, key: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._sweep()
            # time_period = burst / rate: aiolimiter leaks max_rate / time_period a second.
            bucket = _Bucket(AsyncLimiter(self.burst, self.burst / self.rate))
            self._buckets[key] = bucket
        return bucket

    def _sweep(self) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.idle()]:
            del self._buckets[key]
        while len(self._buckets) >= self.max_senders:
            del self._buckets[next(iter(self._buckets))]  # the oldest: dicts keep order
        self._sweep_at = min(max(SWEEP_MIN, 2 * len(self._buckets)), self.max_senders)

    @staticmethod
    async def _notify(event: TelegramObject, answers: Answers | None) -> None:
        # The notice is a courtesy, through the paced sender like every answer; the
        # updates are dropped either way.
        if answers is None:
            return
        if isinstance(event, CallbackQuery):
            # A toast, and the button's spinner stops.
            await answers.acknowledge(event.id, html.unescape(texts.FLOOD))
        elif isinstance(event, Message):
            await answers.text(event.chat.id, texts.FLOOD)


_COMMAND = re.compile(r"/([A-Za-z0-9_]+)")


class CommandCase(BaseMiddleware):
    """`/SUMMARY` and `/Summary` are `/summary`: people type commands in any case, and
    aiogram's Command filters compare them exactly. Outer middleware for `message`; the
    handlers get the message with its command in lower case (the rest untouched)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.text and event.text.startswith("/"):
            match = _COMMAND.match(event.text)
            if match is not None and not match.group(1).islower():
                text = f"/{match.group(1).lower()}{event.text[match.end() :]}"
                # Same length, ASCII only: the entities' offsets still hold.
                event = event.model_copy(update={"text": text})
        return await handler(event, data)
