"""/settings: shows this chat's settings to anyone; changes them for group admins only."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import texts
from bot.digest import DigestService
from bot.errors import UnknownSetting
from bot.scheduler import DigestScheduler
from bot.services import ArticleService
from handlers.common import ChatAdmin, Clock
from storage.subscriptions import SubscriptionRepo


async def show(message: Message, service: ArticleService, subscriptions: SubscriptionRepo) -> None:
    settings = await service.chat_settings(message.chat.id)
    sub = await subscriptions.get(message.chat.id)
    state = (
        texts.SUBSCRIPTION_AT.format(at=f"{sub.at:%H:%M}", timezone=sub.timezone)
        if sub is not None and sub.active
        else texts.SUBSCRIPTION_NONE
    )
    await message.answer(
        texts.SETTINGS.format(
            algorithm=settings.algorithm,
            sentences=settings.sentences,
            timezone=settings.timezone,
            subscription=state,
        )
    )


async def show_settings(
    message: Message, service: ArticleService, subscriptions: SubscriptionRepo
) -> None:
    await show(message, service, subscriptions)


async def change_settings(
    message: Message,
    command: CommandObject,
    service: ArticleService,
    subscriptions: SubscriptionRepo,
    digests: DigestService,
    scheduler: DigestScheduler,
    clock: Clock,
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2:
        raise UnknownSetting(" ".join(parts))
    before = await service.chat_settings(message.chat.id)
    after = await service.update_settings(message.chat.id, parts[0], parts[1])
    if after.timezone != before.timezone:
        # The digest keeps its local time in the chat's new zone.
        await digests.follow_timezone(message.chat.id, after.timezone, now=clock())
        await scheduler.reschedule(message.chat.id)
    await message.answer(texts.SETTINGS_SAVED)
    await show(message, service, subscriptions)


async def change_settings_refused(message: Message) -> None:
    await message.answer(texts.NOT_GROUP_ADMIN)


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(show_settings, Command("settings", magic=F.args.is_(None)))
    router.message.register(change_settings, Command("settings"), ChatAdmin())
    router.message.register(change_settings_refused, Command("settings"))
    return router
