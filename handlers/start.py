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
from bot.articles import ArticleService, Target
from bot.chats import ChatService
from bot.clock import Clock
from bot.config import Settings
from bot.filters import GROUP_TYPES, ChatAdmin, OnLoop
from bot.render import StartAction
from bot.stories import StoryService
from bot.subscriptions import SubscriptionService
from handlers.common import answer_about, reply_to
from handlers.stories import show_story
from handlers.subscriptions import digest_now

# t.me/<bot>?start=<payload>: story_12, article_12, digest; each its own handler, after
# which /start with any other payload (or none) is the welcome.
STORY_LINK = CommandStart(deep_link=True, magic=F.args.regexp(r"^story_(\d{1,11})$"))
ARTICLE_LINK = CommandStart(deep_link=True, magic=F.args.regexp(r"^article_(\d{1,11})$"))
DIGEST_LINK = CommandStart(deep_link=True, magic=F.args == "digest")


def _linked_number(command: CommandObject) -> str:
    match = command.magic_result
    assert isinstance(match, re.Match)
    return str(match.group(1))


async def start(message: Message) -> None:
    await message.answer(texts.WELCOME, reply_markup=render.start_keyboard())


async def start_story(
    message: Message,
    command: CommandObject,
    stories: StoryService,
    articles: ArticleService,
    chats: ChatService,
) -> None:
    """A shared story: story N whole."""
    await show_story(message, int(_linked_number(command)), stories, articles, chats)


async def start_article(
    message: Message, command: CommandObject, bot: Bot, articles: ArticleService, chats: ChatService
) -> None:
    """A shared article: its summary."""
    target = Target(query=_linked_number(command), reply_to=None)
    article = await articles.resolve(message.chat.id, target)
    await answer_about(message, article, "summary", bot, articles, chats)


async def start_digest(
    message: Message, bot: Bot, subscriptions: SubscriptionService, clock: Clock
) -> None:
    await digest_now(message, bot, subscriptions, clock)


async def help_command(message: Message, bot: Bot, settings: Settings) -> None:
    me = await bot.me()
    group = message.chat.type in GROUP_TYPES
    user = message.from_user
    admin = not group and user is not None and user.id in settings.admin_ids
    await reply_to(message, texts.help_text(me.username if group else None, admin=admin))


async def start_button(
    callback: CallbackQuery,
    callback_data: StartAction,
    bot: Bot,
    settings: Settings,
    subscriptions: SubscriptionService,
    clock: Clock,
) -> None:
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        await callback.answer(texts.CB_GONE)
        return
    if callback_data.action == "help":
        # The welcome becomes the full list: one message, nothing posted.
        await callback.answer()
        admin = callback.from_user.id in settings.admin_ids
        await message.edit_text(texts.help_text(admin=admin))
        return
    if callback_data.action == "subscribe":
        sub = await subscriptions.subscribe(
            message.chat.id, "", user_id=callback.from_user.id, now=clock()
        )
        await callback.answer(render.strip_tags(render.subscribed_reply(sub))[:200])
        return
    await callback.answer()
    await digest_now(message, bot, subscriptions, clock)


async def subscribe_refused(callback: CallbackQuery) -> None:
    await callback.answer(render.strip_tags(texts.NOT_GROUP_ADMIN)[:200], show_alert=True)


async def unknown_command(message: Message) -> None:
    await message.answer(texts.UNKNOWN_COMMAND)


async def introduce(event: ChatMemberUpdated, bot: Bot, chats: ChatService) -> None:
    if await chats.introduce(event.chat.id):
        me = await bot.me()
        await bot.send_message(event.chat.id, texts.GROUP_INTRO.format(username=me.username))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(start_story, STORY_LINK)
    router.message.register(start_article, ARTICLE_LINK)
    router.message.register(start_digest, DIGEST_LINK)
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
