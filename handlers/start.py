"""/start (a short welcome with buttons, and deep links), /help (every command), the
hint for an unknown command, and the one-time introduction when the bot joins a group."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import (
    JOIN_TRANSITION,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    CommandStart,
)
from aiogram.types import CallbackQuery, ChatMemberUpdated, InaccessibleMessage, Message

from bot import render, texts
from bot.answers import Answers
from bot.articles import ArticleService, Target
from bot.chats import ChatService
from bot.clock import Clock
from bot.config import Settings
from bot.filters import GROUP_TYPES, ChatAdmin, OnLoop
from bot.render import Reply, StartAction
from bot.stories import StoryService
from bot.subscriptions import SubscriptionService
from handlers.common import answer_about, edit, pressed, say, toast
from handlers.stories import show_story
from handlers.subscriptions import digest_now

# t.me/<bot>?start=<payload>: story_12, article_12, digest.
DEEP_LINK = re.compile(r"^(story|article)_(\d{1,11})$|^digest$")


async def start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
    subscriptions: SubscriptionService,
    stories: StoryService,
    clock: Clock,
    answers: Answers,
) -> None:
    payload = (command.args or "").strip()
    if DEEP_LINK.match(payload):
        await open_deep_link(
            message, payload, bot, articles, chats, subscriptions, stories, clock, answers
        )
        return
    await say(message, texts.WELCOME, answers, keyboard=render.start_keyboard())


async def open_deep_link(
    message: Message,
    payload: str,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
    subscriptions: SubscriptionService,
    stories: StoryService,
    clock: Clock,
    answers: Answers,
) -> None:
    """What a shared link opens: story N whole, article N's summary, or the digest."""
    if payload == "digest":
        await digest_now(message, bot, subscriptions, chats, clock, answers)
        return
    kind, _, number = payload.partition("_")
    if kind == "story":
        await show_story(message, int(number), stories, articles, chats, answers)
        return
    article = await articles.resolve(message.chat.id, Target(query=number, reply_to=None))
    await answer_about(message, article, "summary", bot, articles, chats, answers)


async def help_command(message: Message, bot: Bot, settings: Settings, answers: Answers) -> None:
    me = await bot.me()
    group = message.chat.type in GROUP_TYPES
    user = message.from_user
    admin = not group and user is not None and user.id in settings.admin_ids
    await say(message, texts.help_text(me.username if group else None, admin=admin), answers)


async def start_button(
    callback: CallbackQuery,
    callback_data: StartAction,
    bot: Bot,
    settings: Settings,
    subscriptions: SubscriptionService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        await toast(callback, answers, texts.CB_GONE)
        return
    if callback_data.action == "help":
        # The welcome becomes the full list: one message, nothing posted.
        await toast(callback, answers)
        admin = callback.from_user.id in settings.admin_ids
        help_reply = [Reply(texts.help_text(admin=admin))]
        await edit(message, help_reply, chats, answers, request=pressed(callback))
        return
    if callback_data.action == "subscribe":
        sub = await subscriptions.subscribe(
            message.chat.id, "", user_id=callback.from_user.id, now=clock()
        )
        await toast(callback, answers, render.subscribed_reply(sub))
        return
    await toast(callback, answers)
    await digest_now(message, bot, subscriptions, chats, clock, answers)


async def subscribe_refused(callback: CallbackQuery, answers: Answers) -> None:
    await toast(callback, answers, texts.NOT_GROUP_ADMIN, alert=True)


async def unknown_command(message: Message, answers: Answers) -> None:
    await say(message, texts.UNKNOWN_COMMAND, answers)


async def introduce(
    event: ChatMemberUpdated, bot: Bot, chats: ChatService, answers: Answers
) -> None:
    if await chats.introduce(event.chat.id):
        me = await bot.me()
        await answers.text(event.chat.id, texts.GROUP_INTRO.format(username=me.username))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.callback_query.register(start_button, StartAction.filter(F.action != "subscribe"))
    router.callback_query.register(
        start_button, StartAction.filter(F.action == "subscribe"), ChatAdmin()
    )
    router.callback_query.register(subscribe_refused, StartAction.filter())
    router.my_chat_member.register(
        introduce, ChatMemberUpdatedFilter(JOIN_TRANSITION), F.chat.type.in_(GROUP_TYPES)
    )
    return router


def build_unknown() -> Router:
    """After every command's router: a command nobody took. In a private chat a hint;
    in a group silence, since the command may be another bot's."""
    router = Router(name=f"{__name__}.unknown")
    router.message.register(
        unknown_command,
        OnLoop(F.chat.type == ChatType.PRIVATE),
        OnLoop(F.text.regexp(r"^/[A-Za-z0-9_]")),
    )
    return router
