"""/story N, /stories and a digest's numbered buttons."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from bot import render, texts
from bot.answers import Answers
from bot.articles import ArticleService
from bot.chats import ChatService
from bot.clock import Clock
from bot.errors import StoryNotFound
from bot.parsing import number_in, parse_number
from bot.render import StoryAction
from bot.stories import StoryService
from handlers.common import in_group, pressed, send, target_of, toast

# /stories: the stories of the last day.
DAY = timedelta(hours=24)


async def story(
    message: Message,
    command: CommandObject,
    bot: Bot,
    stories: StoryService,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    """/story N: story N of the digest or list replied to, else of the chat's latest."""
    target = target_of(message, command.args, bot)
    digits = number_in(target.query) if target.query else None
    number = parse_number(digits) if digits is not None else None
    if number is None:
        raise StoryNotFound(digits)
    story_id = await stories.numbered(message.chat.id, number, target.reply_to)
    if story_id is None and target.reply_to is not None:
        story_id = await stories.numbered(message.chat.id, number, None)
    if story_id is None:
        raise StoryNotFound(str(number))
    await show_story(message, story_id, stories, articles, chats, answers, number=number)


async def show_story(
    message: Message,
    story_id: int,
    stories: StoryService,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
    *,
    number: int | None = None,
) -> None:
    """Story `story_id` whole (/story N, and the `story_N` deep link of /start)."""
    told = await stories.tell(story_id)
    if told is None:
        raise StoryNotFound(str(story_id if number is None else number))
    zone = await articles.timezone(message.chat.id)
    await send(message, render.story_reply(told, zone), chats, answers)


async def stories_list(
    message: Message,
    stories: StoryService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    now = clock()
    listed, more = await stories.listing(now - DAY, now=now)
    replies = render.stories_reply(texts.STORIES_TITLE, listed, more=more)
    await send(message, replies, chats, answers)


async def story_button(
    callback: CallbackQuery,
    callback_data: StoryAction,
    stories: StoryService,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    """A digest's numbered button: the story as a new message (the digest stays as it
    was); in a group, one message at most."""
    message = callback.message
    told = await stories.tell(callback_data.id)
    if told is None or message is None or isinstance(message, InaccessibleMessage):
        await toast(callback, answers, texts.CB_GONE, alert=True)
        return
    await toast(callback, answers)
    zone = await articles.timezone(message.chat.id)
    replies = render.story_reply(told, zone)
    shown = replies[:1] if in_group(message) else replies
    await send(message, shown, chats, answers, request=pressed(callback))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(story, Command("story"))
    router.message.register(stories_list, Command("stories"))
    router.callback_query.register(story_button, StoryAction.filter())
    return router
