"""Channels as digest targets, and which chats a user manages.

A channel is subscribed from a private chat with the bot: `/subscribe @channel`. Telegram
is asked each time (getChat, getChatMember) whether the user administers the channel and
whether the bot is an administrator allowed to post there; nothing of that is cached, so a
right taken away counts at once. The digest itself goes the usual way: the subscription
is the channel's, and the digest round records its messages in the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from bot.clock import Clock
from bot.errors import ChannelRefused
from bot.models import Subscription
from bot.subscriptions import SubscriptionService
from storage.managers import ManagerRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    title: str
    username: str | None


@dataclass(frozen=True, slots=True)
class Managed:
    """One line of /subscriptions: a chat the user manages and its subscription."""

    chat_id: int
    title: str
    kind: str  # "private", "group" or "channel"
    subscription: Subscription


class ChannelService:
    def __init__(
        self,
        bot: Bot,
        managers: ManagerRepo,
        subscriptions: SubscriptionService,
        *,
        clock: Clock,
    ) -> None:
        self._bot = bot
        self._managers = managers
        self._subscriptions = subscriptions
        self.clock = clock

    async def check(self, ref: str, user_id: int, *, bot_must_post: bool) -> Channel:
        """The channel `ref` (@name) names, if `user_id` administers it (and, with
        `bot_must_post`, the bot may post there). Raises ChannelRefused with every thing
        that is missing."""
        try:
            chat = await self._bot.get_chat(ref)
        except TelegramAPIError as exc:
            # "chat not found" for a name nobody has, or a private channel the bot is
            # not in: to the user, both mean the bot cannot find it.
            log.info("channel %s: %s", ref, exc)
            raise ChannelRefused(ref, ("not_found",)) from exc
        if chat.type != ChatType.CHANNEL:
            raise ChannelRefused(ref, ("not_channel",))
        problems: list[str] = []
        if bot_must_post:
            problems += await self._bot_problems(chat.id)
        if not await self.is_admin(chat.id, user_id):
            problems.insert(0, "user_not_admin")
        if problems:
            raise ChannelRefused(ref, tuple(problems))
        return Channel(chat.id, chat.title or ref, chat.username)

    async def _bot_problems(self, chat_id: int) -> list[str]:
        try:
            me = await self._bot.get_chat_member(chat_id, self._bot.id)
        except TelegramAPIError as exc:
            log.info("channel %s: the bot's own membership: %s", chat_id, exc)
            return ["bot_not_admin"]
        if isinstance(me, ChatMemberAdministrator):
            return [] if me.can_post_messages else ["bot_cannot_post"]
        return [] if isinstance(me, ChatMemberOwner) else ["bot_not_admin"]

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether Telegram says the user administers the chat now; False when it cannot
        tell (the bot may not read the chat's members)."""
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as exc:
            log.info("chat %s: membership of %s unknown: %s", chat_id, user_id, exc)
            return False
        return isinstance(member, ChatMemberOwner | ChatMemberAdministrator)

    async def subscribe(
        self, ref: str, args: str, user_id: int, *, now: datetime
    ) -> tuple[Channel, Subscription]:
        """Subscribes the channel for its admin `user_id`, at `args` ([HH:MM] [zone])."""
        channel = await self.check(ref, user_id, bot_must_post=True)
        sub = await self._subscriptions.subscribe(channel.id, args, user_id=user_id, now=now)
        await self._managers.add(channel.id, [user_id], now=now)
        return channel, sub

    async def unsubscribe(self, ref: str, user_id: int, *, now: datetime) -> tuple[Channel, bool]:
        """Ends the channel's subscription for its admin; False when it had none."""
        channel = await self.check(ref, user_id, bot_must_post=False)
        return channel, await self._subscriptions.unsubscribe(channel.id, now=now)

    async def remember_admins(self, chat_id: int, user_ids: Iterable[int]) -> None:
        """A group's admin list as Telegram just gave it."""
        await self._managers.replace(chat_id, user_ids, now=self.clock())

    async def remember(self, chat_id: int, user_id: int, *, now: datetime) -> None:
        await self._managers.add(chat_id, [user_id], now=now)

    async def managed(self, user_id: int) -> list[Managed]:
        """Every subscribed chat the user manages, as Telegram confirms now: their own
        private chat, groups and channels they administer."""
        found: list[Managed] = []
        for sub in await self._managers.subscriptions_of(user_id):
            if sub.chat_id == user_id:
                found.append(Managed(sub.chat_id, "", "private", sub))
                continue
            if sub.chat_id > 0:
                continue  # someone else's private chat
            try:
                chat = await self._bot.get_chat(sub.chat_id)
            except TelegramAPIError as exc:
                log.info("chat %s: not listed: %s", sub.chat_id, exc)
                continue
            if not await self.is_admin(sub.chat_id, user_id):
                await self._managers.remove(sub.chat_id, user_id)
                continue
            kind = "channel" if chat.type == ChatType.CHANNEL else "group"
            title = chat.title or (f"@{chat.username}" if chat.username else str(chat.id))
            found.append(Managed(sub.chat_id, title, kind, sub))
        return found
