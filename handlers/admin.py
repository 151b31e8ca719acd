"""Adding articles: /add with text or as a reply, and posts forwarded from channels."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, MessageOriginChannel

from bot import render, texts
from bot.answers import Answers
from bot.articles import ArticleService
from bot.chats import ChatService
from bot.clock import Clock
from bot.filters import BotAdmin, OnLoop
from bot.intake import IntakeService
from bot.models import NewArticle
from bot.parsing import split_title
from handlers.common import admins_and_refusal, say


async def add_url(
    message: Message,
    command: CommandObject,
    intake: IntakeService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    """`/add URL`: the article on a web page, or the entries of a feed."""
    result = await intake.ingest_url(command.args or "", now=clock())
    await say(message, render.ingest_reply(result), answers)
    if result.feed_title is None and result.items:
        chats.focus(message.chat.id, result.items[0].article.id)


async def add(
    message: Message,
    command: CommandObject,
    articles: ArticleService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    text = command.args or ""
    replied = message.reply_to_message
    if not text.strip() and replied is not None:
        text = replied.text or replied.caption or ""
    if not text.strip():
        await say(message, texts.ADD_HINT, answers)
        return
    await store(message, split_title(text), articles, chats, clock, answers)


async def forwarded_post(
    message: Message, articles: ArticleService, chats: ChatService, clock: Clock, answers: Answers
) -> None:
    origin = message.forward_origin
    assert isinstance(origin, MessageOriginChannel)  # guaranteed by the router's filters
    body = message.text or message.caption or ""
    new = split_title(body)
    url = None
    if origin.chat.username:
        url = f"https://t.me/{origin.chat.username}/{origin.message_id}"
    new = NewArticle(
        title=new.title,
        text=new.text,
        source=origin.chat.title or origin.chat.username or "",
        url=url,
        published_at=origin.date,
    )
    await store(message, new, articles, chats, clock, answers)


async def store(
    message: Message,
    new: NewArticle,
    articles: ArticleService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    article, created = await articles.add(new, now=clock())
    await say(message, render.added_reply(article, created), answers)
    chats.focus(message.chat.id, article.id)


def build_forwarded() -> Router:
    router = Router(name=f"{__name__}.forwarded")
    router.message.filter(
        # The rarest condition first: most messages fail it, and the rest go unchecked.
        OnLoop(F.forward_origin.type == "channel"),
        OnLoop(F.chat.type == ChatType.PRIVATE),
        BotAdmin(),
    )
    router.message.register(forwarded_post)
    return router


def build() -> Router:
    admins, others = admins_and_refusal(__name__, ("add",))
    # A lone URL after /add: the page's article (or a feed's entries), not the URL as text.
    admins.message.register(add_url, Command("add", magic=F.args.regexp(r"^\s*\S+://\S*\s*$")))
    admins.message.register(add, Command("add"))
    router = Router(name=__name__)
    router.include_routers(admins, others)
    return router
