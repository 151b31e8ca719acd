"""News feeds for the bot's admins: /feeds, /feed_add URL, /feed_remove N, /feed_resume N."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import render, texts
from bot.clock import Clock
from bot.intake import IntakeService
from bot.parsing import parse_number
from handlers.common import admins_and_refusal

COMMANDS = ("feeds", "feed_add", "feed_remove", "feed_resume")


async def list_feeds(message: Message, intake: IntakeService) -> None:
    for reply in render.feeds_reply(await intake.list_feeds()):
        await message.answer(reply.html)


async def feed_add(
    message: Message, command: CommandObject, intake: IntakeService, clock: Clock
) -> None:
    url = (command.args or "").strip()
    if not url:
        await message.answer(texts.FEED_ADD_HINT)
        return
    result = await intake.add_feed(url, now=clock())
    if not result.created:
        await message.answer(render.feed_reply(texts.FEED_EXISTS, result.feed))
        return
    new = len(result.poll.added) if result.poll else 0
    lines = [render.feed_reply(texts.FEED_ADDED, result.feed, new=new)]
    if result.poll is not None:
        lines += render.entry_report(result.poll.warning, result.poll.notes)
    await message.answer("\n".join(lines))


async def feed_number(message: Message, command: CommandObject) -> int | None:
    """The feed a command names by its number in /feeds; None, with a hint sent, if none."""
    number = parse_number(command.args or "")
    if number is None:
        await message.answer(texts.FEED_NUMBER_HINT.format(command=command.command))
    return number


async def feed_remove(message: Message, command: CommandObject, intake: IntakeService) -> None:
    if (number := await feed_number(message, command)) is not None:
        feed = await intake.remove_feed(number)
        await message.answer(render.feed_reply(texts.FEED_REMOVED, feed))


async def feed_resume(message: Message, command: CommandObject, intake: IntakeService) -> None:
    if (number := await feed_number(message, command)) is not None:
        feed = await intake.resume_feed(number)
        await message.answer(render.feed_reply(texts.FEED_RESUMED, feed))


def build() -> Router:
    admins, others = admins_and_refusal(__name__, COMMANDS)
    admins.message.register(list_feeds, Command("feeds"))
    admins.message.register(feed_add, Command("feed_add"))
    admins.message.register(feed_remove, Command("feed_remove"))
    admins.message.register(feed_resume, Command("feed_resume"))
    router = Router(name=__name__)
    router.include_routers(admins, others)
    return router
