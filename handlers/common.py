"""Sending rendered answers, and the admin-only routers, shared by the routers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message, ReplyParameters
from aiogram.utils.chat_action import ChatActionSender

from bot import render, texts
from bot.articles import ArticleService, Target
from bot.chats import ChatService
from bot.filters import GROUP_TYPES, BotAdmin
from bot.models import Article
from bot.render import Reply
from bot.stories import StoryService


async def send(
    message: Message,
    replies: Sequence[Reply],
    chats: ChatService,
    stories: StoryService | None = None,
) -> list[Message]:
    """Sends the parts of an answer in order and records which article each was about
    (and, with `stories`, which story each of its numbers meant), so a later reply to
    any of them (even after a restart) targets that article or story."""
    # The chat's current article changes as soon as the bot answers about it, before the
    # (slower) sending, so a quick follow-up command already sees it.
    about = [r.article_id for r in replies if r.article_id is not None]
    if about:
        chats.focus(message.chat.id, about[-1])
    thread = threaded(message)
    sent = [
        await message.answer(
            r.html, reply_markup=r.keyboard, reply_parameters=thread if i == 0 else None
        )
        for i, r in enumerate(replies)
    ]
    chats.remember(
        message.chat.id,
        [
            (out.message_id, reply.article_id)
            for reply, out in zip(replies, sent, strict=True)
            if reply.article_id is not None
        ],
    )
    if stories is not None:
        for reply, out in zip(replies, sent, strict=True):
            if reply.numbers:
                await stories.remember_numbers(message.chat.id, out.message_id, reply.numbers)
    return sent


def threaded(message: Message) -> ReplyParameters | None:
    """In a group, an answer replies to the message that asked, so that the thread reads
    as question and answer; in a private chat there is no one else to tell apart."""
    if message.chat.type not in GROUP_TYPES:
        return None
    # The question may be deleted before the answer goes out.
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


async def reply_to(message: Message, text: str, **kwargs: Any) -> Message:
    """`message.answer`, threaded to `message` in a group."""
    return await message.answer(text, reply_parameters=threaded(message), **kwargs)


async def answer_about(
    message: Message,
    article: Article,
    action: str,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
) -> None:
    """The answer to one follow-up on an article (summary, more, points, full), the same
    whether a command or a button asked for it."""

    def typing() -> ChatActionSender:
        # "typing…" while an uncached summary is computed, if it takes over half a second.
        return ChatActionSender.typing(bot=bot, chat_id=message.chat.id, initial_sleep=0.5)

    answer = await articles.follow_up(message.chat.id, article, action, busy=typing)
    await send(message, render.follow_up_reply(answer), chats)


def target_of(message: Message, args: str | None, bot: Bot) -> Target:
    """A command's article: its argument, or the bot message it replies to."""
    replied = message.reply_to_message
    reply_to = None
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        reply_to = replied.message_id
    return Target(query=(args or "").strip(), reply_to=reply_to)


async def refused(message: Message) -> None:
    await message.answer(texts.NOT_ALLOWED)


def admins_and_refusal(name: str, commands: tuple[str, ...]) -> tuple[Router, Router]:
    """A router for ADMIN_IDS only, and after it one that tells everyone else who tries
    one of `commands` why nothing happens; include both, in that order."""
    admins = Router(name=f"{name}.admins")
    admins.message.filter(BotAdmin())
    others = Router(name=f"{name}.refused")
    others.message.register(refused, Command(*commands))
    return admins, others
