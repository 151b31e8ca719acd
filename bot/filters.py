"""aiogram filters the routers share, and the cache of group admins one of them reads."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.magic_filter import MagicFilter

from bot.config import Settings

GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}
ADMIN_STATUSES = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR}


class OnLoop(BaseFilter):
    """An `F` expression checked on the event loop. aiogram runs every synchronous filter,
    a bare `F` included, through `asyncio.to_thread`: a thread switch per check and per
    update, many times the cost of the check itself."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


class BotAdmin(BaseFilter):
    """The people in ADMIN_IDS: they may add articles and feeds."""

    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        user = getattr(event, "from_user", None)
        return user is not None and user.id in settings.admin_ids


class AdminCache:
    """Group admin lists, kept briefly: asking Telegram on every command costs a request
    and counts against the bot's limits. Where the bot is an admin itself, Telegram tells
    it of every promotion and demotion (`chat_member` updates): the list follows them at
    once (`member_changed`), the `ttl` covers the groups where it is not."""

    def __init__(
        self,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        on_fetch: Callable[[int, Iterable[int]], Awaitable[None]] | None = None,
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        # Told each admin list Telegram gives: /subscriptions lists a group to its admins.
        self.on_fetch = on_fetch
        self._cache: dict[int, tuple[float, frozenset[int]]] = {}

    async def admins(self, bot: Bot, chat_id: int) -> frozenset[int]:
        hit = self._cache.get(chat_id)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        members = await bot.get_chat_administrators(chat_id)
        ids = frozenset(m.user.id for m in members if m.status in ADMIN_STATUSES)
        self._cache[chat_id] = (self.clock(), ids)
        if self.on_fetch is not None:
            await self.on_fetch(chat_id, ids)
        return ids

    def member_changed(self, chat_id: int, user_id: int, status: str) -> None:
        """Someone's status in a group changed: a cached list gains or loses them now."""
        hit = self._cache.get(chat_id)
        if hit is None:
            return  # nothing cached: the next check asks Telegram anyway
        stamp, ids = hit
        ids = ids | {user_id} if status in ADMIN_STATUSES else ids - {user_id}
        self._cache[chat_id] = (stamp, ids)

    def forget(self, chat_id: int) -> None:
        """The next check asks Telegram again."""
        self._cache.pop(chat_id, None)


class ChatAdmin(BaseFilter):
    """Private chats pass; in groups only the group's admins, anonymous admins included."""

    async def __call__(self, event: Message | CallbackQuery, bot: Bot, admins: AdminCache) -> bool:
        message = event if isinstance(event, Message) else event.message
        if message is None:
            return False
        chat = message.chat
        if chat.type not in GROUP_TYPES:
            return True
        # An anonymous admin posts as the group itself (sender_chat == chat).
        if isinstance(event, Message) and event.sender_chat is not None:
            return event.sender_chat.id == chat.id
        user = event.from_user
        return user is not None and user.id in await admins.admins(bot, chat.id)
