"""Adding articles: /add with text or as a reply, and posts forwarded from channels."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, MessageOriginChannel

from bot import texts
from bot.intake import IntakeService
from bot.models import NewArticle
from bot.services import ArticleService, split_title
from handlers.common import BotAdmin, Clock, OnLoop
from handlers.feeds import ingest_text


async def add_url(
    message: Message,
    command: CommandObject,
    intake: IntakeService,
    service: ArticleService,
    clock: Clock,
) -> None:
    """`/add URL`: the article on a web page, or the entries of a feed."""
    result = await intake.ingest_url(command.args or "", now=clock())
    await message.answer(ingest_text(result))
    if result.feed_title is None and result.items:
        service.focus(message.chat.id, result.items[0].article.id)


async def add(
    message: Message, command: CommandObject, service: ArticleService, clock: Clock
) -> None:
    text = command.args or ""
    replied = message.reply_to_message
    if not text.strip() and replied is not None:
        text = replied.text or replied.caption or ""
    if not text.strip():
        await message.answer(texts.ADD_HINT)
        return
    await store(message, split_title(text), service, clock)


async def add_refused(message: Message) -> None:
    await message.answer(texts.NOT_ALLOWED)


async def forwarded_post(message: Message, service: ArticleService, clock: Clock) -> None:
    origin = message.forward_origin
    assert isinstance(origin, MessageOriginChannel)  # guaranteed by the filter above
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
    await store(message, new, service, clock)


async def store(message: Message, new: NewArticle, service: ArticleService, clock: Clock) -> None:
    article, created = await service.add(new, now=clock())
    template = texts.ADDED if created else texts.ALREADY_STORED
    await message.answer(template.format(id=article.id, title=html.escape(article.title)))
    service.focus(message.chat.id, article.id)


def build_forwarded() -> Router:
    router = Router(name=f"{__name__}.forwarded")
    router.message.register(
        forwarded_post,
        # The rarest condition first: most messages fail it, and the rest go unchecked.
        OnLoop(F.forward_origin.type == "channel"),
        OnLoop(F.chat.type == ChatType.PRIVATE),
        BotAdmin(),
    )
    return router


def build() -> Router:
    router = Router(name=__name__)
    # A lone URL after /add: the page's article (or a feed's entries), not the URL as text.
    router.message.register(
        add_url, Command("add", magic=F.args.regexp(r"^\s*\S+://\S*\s*$")), BotAdmin()
    )
    router.message.register(add, Command("add"), BotAdmin())
    router.message.register(add_refused, Command("add"))
    return router
