"""/latest, /summary, /points, /more, /full, /search, and plain text in private chats."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import render, texts
from bot.answers import Answers
from bot.articles import FOLLOW_UPS, ArticleService
from bot.chats import ChatService
from bot.filters import OnLoop
from bot.parsing import LATEST_DEFAULT, LATEST_MAX, MAX_QUERY, parse_count
from bot.stories import StoryService
from handlers.common import answer_about, say, send, target_of


async def latest(
    message: Message,
    command: CommandObject,
    stories: StoryService,
    chats: ChatService,
    answers: Answers,
) -> None:
    """The newest stories, each once with its outlet count (not each outlet's copy)."""
    limit = parse_count(command.args, default=LATEST_DEFAULT, limit=LATEST_MAX)
    found = await stories.latest(limit)
    title = texts.LATEST_STORIES_TITLE
    await send(message, render.stories_reply(title, found), chats, answers)


async def article_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    """/summary, /more, /points, /full: for the article named, replied to, or current."""
    article = await articles.resolve(message.chat.id, target_of(message, command.args, bot))
    await answer_about(message, article, command.command.lower(), bot, articles, chats, answers)


async def search(
    message: Message,
    command: CommandObject,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    await run_search(message, command.args or "", articles, chats, answers)


async def private_text(
    message: Message, articles: ArticleService, chats: ChatService, answers: Answers
) -> None:
    await run_search(message, message.text or "", articles, chats, answers)


async def run_search(
    message: Message, query: str, articles: ArticleService, chats: ChatService, answers: Answers
) -> None:
    query = query.strip()
    if not query:
        await say(message, texts.SEARCH_EMPTY, answers)
        return
    if len(query) > MAX_QUERY:
        await say(message, texts.SEARCH_TOO_LONG.format(limit=MAX_QUERY), answers)
        return
    hits = await articles.search(query)
    await send(message, render.search_reply(query, hits), chats, answers)


def build_commands() -> Router:
    router = Router(name=f"{__name__}.commands")
    # The commonest commands first: a command is checked against each handler in turn.
    router.message.register(article_command, Command(*FOLLOW_UPS))
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
