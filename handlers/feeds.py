"""News feeds for the bot's admins: /feeds, /feed_add URL, /feed_remove N, /feed_resume N."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import texts
from bot.intake import IntakeService, Notify, UrlIngest
from handlers.common import BotAdmin, Clock
from storage.feeds import Feed

log = logging.getLogger(__name__)

COMMANDS = ("feeds", "feed_add", "feed_remove", "feed_resume")
# Telegram's limit for one message.
MAX_MESSAGE = 4096
# A feed added with /add lists at most this many of its new articles.
MAX_LISTED = 10


async def list_feeds(message: Message, intake: IntakeService) -> None:
    for chunk in feeds_text(await intake.list_feeds()):
        await message.answer(chunk)


async def feed_add(
    message: Message, command: CommandObject, intake: IntakeService, clock: Clock
) -> None:
    url = (command.args or "").strip()
    if not url:
        await message.answer(texts.FEED_ADD_HINT)
        return
    result = await intake.add_feed(url, now=clock())
    title = html.escape(result.feed.name)
    if not result.created:
        await message.answer(texts.FEED_EXISTS.format(id=result.feed.id, title=title))
        return
    new = len(result.poll.added) if result.poll else 0
    await message.answer(texts.FEED_ADDED.format(id=result.feed.id, title=title, new=new))


async def feed_remove(message: Message, command: CommandObject, intake: IntakeService) -> None:
    number = _number(command)
    if number is None:
        await message.answer(texts.FEED_NUMBER_HINT.format(command=command.command))
        return
    feed = await intake.remove_feed(number)
    await message.answer(texts.FEED_REMOVED.format(id=feed.id, title=html.escape(feed.name)))


async def feed_resume(message: Message, command: CommandObject, intake: IntakeService) -> None:
    number = _number(command)
    if number is None:
        await message.answer(texts.FEED_NUMBER_HINT.format(command=command.command))
        return
    feed = await intake.resume_feed(number)
    await message.answer(texts.FEED_RESUMED.format(id=feed.id, title=html.escape(feed.name)))


async def refused(message: Message) -> None:
    await message.answer(texts.NOT_ALLOWED)


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(list_feeds, Command("feeds"), BotAdmin())
    router.message.register(feed_add, Command("feed_add"), BotAdmin())
    router.message.register(feed_remove, Command("feed_remove"), BotAdmin())
    router.message.register(feed_resume, Command("feed_resume"), BotAdmin())
    # Everyone else who tries a feed command is told why nothing happens.
    router.message.register(refused, Command(*COMMANDS))
    return router


def _number(command: CommandObject) -> int | None:
    value = (command.args or "").strip().lstrip("№#")
    return int(value) if value.isdigit() and len(value) < 12 else None


def feeds_text(feeds: Sequence[Feed]) -> list[str]:
    """The feed list, split at line ends into messages Telegram accepts."""
    if not feeds:
        return [texts.FEEDS_EMPTY]
    lines = [texts.FEEDS_TITLE]
    for feed in feeds:
        lines.append(
            texts.FEED_LINE.format(
                id=feed.id, title=html.escape(feed.name[:120]), url=html.escape(feed.url[:300])
            )
        )
        error = html.escape((feed.last_error or "")[:200])
        if feed.paused:
            lines.append(texts.FEED_LINE_PAUSED.format(id=feed.id, error=error))
        elif feed.failures:
            lines.append(texts.FEED_LINE_FAILING.format(failures=feed.failures, error=error))
    lines.append(texts.FEEDS_FOOTER)
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_MESSAGE:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    chunks.append(current)
    return chunks


def ingest_text(result: UrlIngest) -> str:
    """The reply to `/add URL`: the page's article, or what a feed's entries gave."""
    if result.feed_title is None and len(result.items) == 1:
        item = result.items[0]
        template = texts.ADDED if item.created else texts.ALREADY_STORED
        lines = [template.format(id=item.article.id, title=html.escape(item.article.title))]
        if note := texts.language_note(item.lang):
            lines.append(note)
        return "\n".join(lines)
    added = result.added
    lines = [
        texts.ADD_FROM_FEED.format(
            title=html.escape(result.feed_title or result.url),
            new=len(added),
            old=len(result.items) - len(added),
        )
    ]
    if added:
        lines.append(texts.ADD_FROM_FEED_LIST)
        lines += [
            texts.ADD_FROM_FEED_LINE.format(
                id=item.article.id, title=html.escape(item.article.title[:150])
            )
            for item in added[:MAX_LISTED]
        ]
        if len(added) > MAX_LISTED:
            lines.append("…")
    foreign = sum(1 for item in added if not item.russian)
    if foreign:
        lines.append(texts.FOREIGN_IN_BATCH.format(n=foreign))
    return "\n".join(lines)


def admin_notifier(bot: Bot, admin_ids: Sequence[int]) -> Notify:
    """The intake's `notify`: one message to each ADMIN_IDS user."""

    async def notify(text: str) -> None:
        for admin_id in admin_ids:
            try:
                await bot.send_message(admin_id, text)
            except TelegramAPIError as exc:
                # An admin who never opened a chat with the bot cannot be written to;
                # the others still are.
                log.warning("could not notify admin %s: %s", admin_id, exc)

    return notify
