"""News feeds for the bot's admins: /feeds, /feed_add URL, /feed_remove N, /feed_resume N."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import render, texts
from bot.answers import Answers
from bot.chats import ChatService
from bot.clock import Clock
from bot.intake import IntakeService
from bot.parsing import parse_number
from bot.render import Reply
from handlers.common import admins_and_refusal, say, send

COMMANDS = ("feeds", "feed_add", "feed_remove", "feed_resume")


async def list_feeds(
    message: Message, intake: IntakeService, chats: ChatService, answers: Answers
) -> None:
    replies = render.feeds_reply(await intake.list_feeds())
    await send(message, [Reply(reply.html) for reply in replies], chats, answers)


async def feed_add(
    message: Message,
    command: CommandObject,
    intake: IntakeService,
    clock: Clock,
    answers: Answers,
) -> None:
    url = (command.args or "").strip()
    if not url:
        await say(message, texts.FEED_ADD_HINT, answers)
        return
    result = await intake.add_feed(url, now=clock())
    if not result.created:
        await say(message, render.feed_reply(texts.FEED_EXISTS, result.feed), answers)
        return
    new = len(result.poll.added) if result.poll else 0
    lines = [render.feed_reply(texts.FEED_ADDED, result.feed, new=new)]
    if result.poll is not None:
        lines += render.entry_report(result.poll.warning, result.poll.notes)
    await say(message, "\n".join(lines), answers)


async def feed_number(message: Message, command: CommandObject, answers: Answers) -> int | None:
    """The feed a command names by its number in /feeds; None, with a hint sent, if none."""
    number = parse_number(command.args or "")
    if number is None:
        await say(message, texts.FEED_NUMBER_HINT.format(command=command.command), answers)
    return number


async def feed_remove(
    message: Message, command: CommandObject, intake: IntakeService, answers: Answers
) -> None:
    if (number := await feed_number(message, command, answers)) is not None:
        feed = await intake.remove_feed(number)
        await say(message, render.feed_reply(texts.FEED_REMOVED, feed), answers)


async def feed_resume(
    message: Message, command: CommandObject, intake: IntakeService, answers: Answers
) -> None:
    if (number := await feed_number(message, command, answers)) is not None:
        feed = await intake.resume_feed(number)
        await say(message, render.feed_reply(texts.FEED_RESUMED, feed), answers)


def build() -> Router:
    admins, others = admins_and_refusal(__name__, COMMANDS)
    admins.message.register(list_feeds, Command("feeds"))
    admins.message.register(feed_add, Command("feed_add"))
    admins.message.register(feed_remove, Command("feed_remove"))
    admins.message.register(feed_resume, Command("feed_resume"))
    router = Router(name=__name__)
    router.include_routers(admins, others)
    return router
