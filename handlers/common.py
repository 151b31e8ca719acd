"""Answering, the one way handlers talk to Telegram, and the admin-only routers.

Every answer goes through `bot.answers.Answers` (paced with the digests, retried, long
ones through the ledger): `send` for rendered replies, `say` for a short text, `edit`
for a button press that rewrites its message, `toast` to answer the press itself.
`tests/test_answers.py` checks that no handler calls Telegram any other way.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.chat_action import ChatActionSender

from bot import render, texts
from bot.answers import Answers
from bot.articles import ArticleService, FollowUp, Target
from bot.chats import ChatService
from bot.filters import GROUP_TYPES, BotAdmin
from bot.models import Article
from bot.render import Reply


async def send(
    message: Message,
    replies: Sequence[Reply],
    chats: ChatService,
    answers: Answers,
    *,
    request: str | None = None,
) -> None:
    """Sends the parts of an answer in order; which article each was about (and which
    story each of its numbers meant) is recorded as it is delivered, so a later reply
    to any of them (even after a restart) targets that article or story."""
    # The chat's current article changes as soon as the bot answers about it, before the
    # (slower) sending, so a quick follow-up command already sees it.
    about = [r.article_id for r in replies if r.article_id is not None]
    if about:
        chats.focus(message.chat.id, about[-1])
    await answers.send(
        message.chat.id,
        replies,
        request=request or request_of(message),
        reply_to=threaded(message),
        thread_id=topic_of(message),
    )


async def say(
    message: Message,
    text: str,
    answers: Answers,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """A short answer of one message (HTML, maybe with buttons), threaded to `message`
    in a group."""
    reply = Reply(text, keyboard)
    await answers.send(
        message.chat.id,
        [reply],
        request=request_of(message),
        reply_to=threaded(message),
        thread_id=topic_of(message),
    )


async def edit(
    message: Message,
    replies: Sequence[Reply],
    chats: ChatService,
    answers: Answers,
    *,
    request: str,
    rest: bool = True,
) -> None:
    """A button press's answer in place of the message it is under (the header stays
    where it was); the answer's further parts, with `rest`, follow as new messages."""
    about = [r.article_id for r in replies if r.article_id is not None]
    if about:
        chats.focus(message.chat.id, about[-1])
    await answers.edit(
        message.chat.id,
        message.message_id,
        replies,
        request=request,
        rest=rest,
        thread_id=topic_of(message),
    )


async def toast(
    callback: CallbackQuery, answers: Answers, text: str | None = None, *, alert: bool = False
) -> None:
    """Answers the press itself (the spinner stops): `text` as a toast, or a box."""
    # Plain text, not HTML, and Telegram takes at most 200 characters.
    shown = html.unescape(render.strip_tags(text))[:200] if text else None
    await answers.acknowledge(callback.id, shown, alert=alert)


def request_of(message: Message) -> str:
    """What asked, for the ledger: the chat's message."""
    return f"m{message.message_id}"


def pressed(callback: CallbackQuery) -> str:
    """What asked, for the ledger: a button press."""
    return f"q{callback.id}"


def threaded(message: Message) -> int | None:
    """In a group, an answer replies to the message that asked, so that the thread reads
    as question and answer; in a private chat there is no one else to tell apart."""
    if message.chat.type not in GROUP_TYPES:
        return None
    return message.message_id


def topic_of(message: Message) -> int | None:
    """The forum topic a message was written in, where its answer goes; None outside
    topics."""
    return message.message_thread_id if message.is_topic_message else None


def in_group(message: Message) -> bool:
    return message.chat.type in GROUP_TYPES


async def answer_about(
    message: Message,
    article: Article,
    action: str,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    """The answer to one follow-up command on an article (summary, more, points, full)."""
    answer = await follow_up(message, article, action, bot, articles)
    await send(message, render.follow_up_reply(answer), chats, answers)


async def follow_up(
    message: Message, article: Article, action: str, bot: Bot, articles: ArticleService
) -> FollowUp:
    def typing() -> ChatActionSender:
        # "typing…" while an uncached summary is computed, if it takes over half a second.
        return ChatActionSender.typing(bot=bot, chat_id=message.chat.id, initial_sleep=0.5)

    return await articles.follow_up(message.chat.id, article, action, busy=typing)


def target_of(message: Message, args: str | None, bot: Bot) -> Target:
    """A command's article: its argument, or the bot message it replies to."""
    replied = message.reply_to_message
    reply_to = None
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        reply_to = replied.message_id
    return Target(query=(args or "").strip(), reply_to=reply_to)


async def refused(message: Message, answers: Answers) -> None:
    await say(message, texts.NOT_ALLOWED, answers)


def admins_and_refusal(name: str, commands: tuple[str, ...]) -> tuple[Router, Router]:
    """A router for ADMIN_IDS only, and after it one that tells everyone else who tries
    one of `commands` why nothing happens; include both, in that order."""
    admins = Router(name=f"{name}.admins")
    admins.message.filter(BotAdmin())
    others = Router(name=f"{name}.refused")
    others.message.register(refused, Command(*commands))
    return admins, others
