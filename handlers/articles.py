"""/latest, /summary, /points, /more, /full, /search, and plain text in private chats."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import render, texts
from bot.errors import BadCount
from bot.render import LATEST_MAX
from bot.services import MAX_QUERY, ArticleService
from handlers.common import OnLoop, answer_about, send, target_of

LATEST_DEFAULT = 5


async def latest(message: Message, command: CommandObject, service: ArticleService) -> None:
    arg = (command.args or "").strip()
    if arg and not (arg.isdigit() and 1 <= int(arg) <= LATEST_MAX):
        raise BadCount(arg, LATEST_MAX)
    limit = int(arg) if arg else LATEST_DEFAULT
    settings = await service.chat_settings(message.chat.id)
    articles = await service.latest(limit)
    await send(message, render.latest_reply(articles, settings.timezone), service)


async def article_command(
    message: Message, command: CommandObject, bot: Bot, service: ArticleService
) -> None:
    """/summary, /more, /points, /full: for the article named, replied to, or current."""
    article = await service.resolve(message.chat.id, target_of(message, command.args, bot))
    await answer_about(message, article, command.command.lower(), bot, service)


async def search(message: Message, command: CommandObject, service: ArticleService) -> None:
    await run_search(message, command.args or "", service)


async def private_text(message: Message, service: ArticleService) -> None:
    await run_search(message, message.text or "", service)


async def run_search(message: Message, query: str, service: ArticleService) -> None:
    query = query.strip()
    if not query:
        await message.answer(texts.SEARCH_EMPTY)
        return
    if len(query) > MAX_QUERY:
        await message.answer(texts.SEARCH_TOO_LONG.format(limit=MAX_QUERY))
        return
    hits = await service.search(query)
    await send(message, render.search_reply(query, hits), service)


def build_commands() -> Router:
    router = Router(name=f"{__name__}.commands")
    # The commonest commands first: a command is checked against each handler in turn.
    router.message.register(article_command, Command("summary", "more", "points", "full"))
    router.message.register(latest, Command("latest"))
    router.message.register(search, Command("search"))
    return router


def build_private_text() -> Router:
    router = Router(name=f"{__name__}.private_text")
    # Plain text is a search only in private chats; in groups the bot speaks when spoken to.
    router.message.register(
        private_text,
        OnLoop(F.chat.type == ChatType.PRIVATE),
        OnLoop(F.text),
        OnLoop(~F.text.startswith("/")),
    )
    return router
