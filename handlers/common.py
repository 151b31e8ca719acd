"""Sending rendered replies and the filters several routers share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.magic_filter import MagicFilter

from bot import render
from bot.config import Settings
from bot.models import Article
from bot.render import Reply
from bot.services import ArticleService, Target

Clock = Callable[[], datetime]
GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}


async def send(
    message: Message, replies: Sequence[Reply], service: ArticleService
) -> list[Message]:
    """Sends the parts of an answer in order and records which article each was about,
    so a later reply to any of them (even after a restart) targets that article."""
    # The chat's current article changes as soon as the bot answers about it, before the
    # (slower) sending, so a quick follow-up command already sees it.
    about = [r.article_id for r in replies if r.article_id is not None]
    if about:
        service.focus(message.chat.id, about[-1])
    sent = [await message.answer(r.html, reply_markup=r.keyboard) for r in replies]
    service.remember(
        message.chat.id,
        [
            (out.message_id, reply.article_id)
            for reply, out in zip(replies, sent, strict=True)
            if reply.article_id is not None
        ],
    )
    return sent


async def answer_about(
    message: Message, article: Article, action: str, bot: Bot, service: ArticleService
) -> None:
    """The answer to one follow-up on an article (summary, more, points, full), the same
    whether a command or a button asked for it."""
    settings = await service.chat_settings(message.chat.id)

    def typing() -> ChatActionSender:
        # "typing…" while an uncached summary is computed, if it takes over half a second.
        return ChatActionSender.typing(bot=bot, chat_id=message.chat.id, initial_sleep=0.5)

    if action == "full":
        replies = render.full_reply(article, settings.timezone)
    elif action == "points":
        points = await service.points(article, busy=typing)
        replies = render.points_reply(article, points, settings.timezone)
    else:
        longer = action == "more"
        result = await service.chat_summary(
            message.chat.id, article, longer=longer, settings=settings, busy=typing
        )
        replies = render.summary_reply(article, result, settings.timezone, longer=longer)
    await send(message, replies, service)


def target_of(message: Message, args: str | None, bot: Bot) -> Target:
    """A command's article: its argument, or the bot message it replies to."""
    replied = message.reply_to_message
    reply_to = None
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        reply_to = replied.message_id
    return Target(query=(args or "").strip(), reply_to=reply_to)


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
    and counts against the bot's limits."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[int, tuple[float, frozenset[int]]] = {}

    async def admins(self, bot: Bot, chat_id: int) -> frozenset[int]:
        hit = self._cache.get(chat_id)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        members = await bot.get_chat_administrators(chat_id)
        ids = frozenset(
            m.user.id
            for m in members
            if m.status in {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR}
        )
        self._cache[chat_id] = (self.clock(), ids)
        return ids

    def forget(self, chat_id: int) -> None:
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
