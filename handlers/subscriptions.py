"""/subscribe, /unsubscribe, /digest, and what Telegram says about the chat itself: the
bot removed or blocked, a group become a supergroup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import LEAVE_TRANSITION, ChatMemberUpdatedFilter, Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.chat_action import ChatActionSender

from bot import render, texts
from bot.digest import DigestService, date_label
from bot.scheduler import DigestScheduler
from handlers.common import ChatAdmin, OnLoop

Clock = Callable[[], datetime]


async def subscribe(
    message: Message,
    command: CommandObject,
    digests: DigestService,
    scheduler: DigestScheduler,
    clock: Clock,
) -> None:
    # An anonymous admin writes as the group: there is no person to record.
    user = message.from_user if message.sender_chat is None else None
    sub = await digests.subscribe(
        message.chat.id, command.args or "", user_id=user.id if user else None, now=clock()
    )
    await scheduler.reschedule(message.chat.id)
    await message.answer(texts.SUBSCRIBED.format(at=f"{sub.at:%H:%M}", timezone=sub.timezone))


async def unsubscribe(
    message: Message, digests: DigestService, scheduler: DigestScheduler, clock: Clock
) -> None:
    ended = await digests.unsubscribe(message.chat.id, now=clock())
    await scheduler.reschedule(message.chat.id)
    await message.answer(texts.UNSUBSCRIBED if ended else texts.NOT_SUBSCRIBED)


async def subscription_refused(message: Message) -> None:
    await message.answer(texts.NOT_GROUP_ADMIN)


async def digest_now(
    message: Message,
    bot: Bot,
    digests: DigestService,
    scheduler: DigestScheduler,
    clock: Clock,
) -> None:
    """Anyone's, any time. It is not recorded as a run, so the scheduled digest still
    comes and still covers everything since the previous scheduled one."""
    async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id, initial_sleep=0.5):
        digest = await digests.build(message.chat.id, now=clock())
        zone = await digests.timezone(message.chat.id)
    await scheduler.send(
        message.chat.id, render.digest_replies(digest, date_label(digest.period), zone)
    )


async def bot_removed(event: ChatMemberUpdated, scheduler: DigestScheduler) -> None:
    # Kicked from a group, or blocked in a private chat: nobody is left to read digests.
    await scheduler.on_blocked(event.chat.id, event.new_chat_member.status)


async def group_migrated(message: Message, new_id: int, scheduler: DigestScheduler) -> None:
    await scheduler.on_migrated(message.chat.id, new_id)


async def supergroup_created(message: Message, old_id: int, scheduler: DigestScheduler) -> None:
    # Telegram posts both service messages; whichever comes first moves the data and
    # the other finds nothing left to move.
    await scheduler.on_migrated(old_id, message.chat.id)


def build() -> Router:
    router = Router(name=__name__)
    # Admin-filtered first; whoever the filter turns away gets the refusal below.
    router.message.register(subscribe, Command("subscribe"), ChatAdmin())
    router.message.register(unsubscribe, Command("unsubscribe"), ChatAdmin())
    router.message.register(subscription_refused, Command("subscribe", "unsubscribe"))
    router.message.register(digest_now, Command("digest"))
    router.my_chat_member.register(bot_removed, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.message.register(group_migrated, OnLoop(F.migrate_to_chat_id.as_("new_id")))
    router.message.register(supergroup_created, OnLoop(F.migrate_from_chat_id.as_("old_id")))
    return router
