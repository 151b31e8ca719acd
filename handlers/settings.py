"""/settings: shows this chat's settings to anyone; changes them for group admins only."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import language, render, texts
from bot.answers import Answers
from bot.clock import Clock
from bot.filters import ChatAdmin
from bot.parsing import parse_setting
from bot.subscriptions import SubscriptionService
from handlers.common import say


async def show_settings(
    message: Message, subscriptions: SubscriptionService, answers: Answers
) -> None:
    overview = await subscriptions.overview(message.chat.id)
    await say(message, render.settings_reply(overview), answers)


async def change_settings(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    clock: Clock,
    answers: Answers,
) -> None:
    change = parse_setting(command.args or "")
    overview = await subscriptions.change_settings(message.chat.id, change, now=clock())
    # The confirmation already speaks a newly chosen language.
    chosen = str(change.value) if change.name == "language" else language.current.get()
    with language.use(chosen):
        await say(message, texts.SETTINGS_SAVED, answers)
        await say(message, render.settings_reply(overview), answers)


async def change_settings_refused(message: Message, answers: Answers) -> None:
    await say(message, texts.NOT_GROUP_ADMIN, answers)


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(show_settings, Command("settings", magic=F.args.is_(None)))
    # Per handler, not for the router: for a group the filter asks Telegram for its admins.
    router.message.register(change_settings, Command("settings"), ChatAdmin())
    router.message.register(change_settings_refused, Command("settings"))
    return router
