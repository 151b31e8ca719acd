"""Channels: `/subscribe @channel`, `/unsubscribe @channel` and `/subscriptions` from a
private chat, and commands posted in a channel where the bot is an administrator."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import render, texts
from bot.answers import Answers
from bot.channels import ChannelService
from bot.chats import ChatService
from bot.clock import Clock
from bot.filters import OnLoop
from handlers import settings, subscriptions
from handlers.common import say, send

# The first argument names a channel: @name.
CHANNEL = r"^\s*@\S"


def _split(command: CommandObject) -> tuple[str, str]:
    ref, _, rest = (command.args or "").strip().partition(" ")
    return ref, rest.strip()


async def subscribe_channel(
    message: Message,
    command: CommandObject,
    channels: ChannelService,
    clock: Clock,
    answers: Answers,
) -> None:
    assert message.from_user is not None  # a private chat: always someone
    ref, rest = _split(command)
    channel, sub = await channels.subscribe(ref, rest, message.from_user.id, now=clock())
    await say(message, render.channel_subscribed_reply(channel.title, sub), answers)


async def unsubscribe_channel(
    message: Message,
    command: CommandObject,
    channels: ChannelService,
    clock: Clock,
    answers: Answers,
) -> None:
    assert message.from_user is not None
    ref, _ = _split(command)
    channel, ended = await channels.unsubscribe(ref, message.from_user.id, now=clock())
    template = texts.CHANNEL_UNSUBSCRIBED if ended else texts.CHANNEL_NOT_SUBSCRIBED
    await say(message, template.format(title=html.escape(channel.title)), answers)


async def list_subscriptions(
    message: Message, channels: ChannelService, chats: ChatService, answers: Answers
) -> None:
    assert message.from_user is not None
    replies = render.subscriptions_reply(await channels.managed(message.from_user.id))
    await send(message, replies, chats, answers)


async def channel_elsewhere(message: Message, answers: Answers) -> None:
    # Not the group's own /unsubscribe: "@channel" means someone meant a channel.
    await say(message, texts.CHANNEL_FROM_PRIVATE, answers)


async def subscriptions_elsewhere(message: Message, answers: Answers) -> None:
    await say(message, texts.SUBSCRIPTIONS_PRIVATE_ONLY, answers)


def build() -> Router:
    """Before the chat's own /subscribe: `@channel` as the first argument is a channel."""
    router = Router(name=__name__)
    private = OnLoop(F.chat.type == ChatType.PRIVATE)
    router.message.register(
        subscribe_channel, Command("subscribe", magic=F.args.regexp(CHANNEL)), private
    )
    router.message.register(
        unsubscribe_channel, Command("unsubscribe", magic=F.args.regexp(CHANNEL)), private
    )
    router.message.register(
        channel_elsewhere, Command("subscribe", "unsubscribe", magic=F.args.regexp(CHANNEL))
    )
    router.message.register(list_subscriptions, Command("subscriptions"), private)
    router.message.register(subscriptions_elsewhere, Command("subscriptions"))
    return router


def build_posts() -> Router:
    """Commands posted in a channel. Telegram sends a channel's posts only to a bot that
    administers it, and only its admins post there: a post speaks for the channel's
    admins. Other posts are nothing to the bot, never articles."""
    router = Router(name=f"{__name__}.posts")
    posts = router.channel_post
    posts.register(subscriptions.subscribe, Command("subscribe"))
    posts.register(subscriptions.unsubscribe, Command("unsubscribe"))
    posts.register(subscriptions.digest_now, Command("digest"))
    posts.register(settings.show_settings, Command("settings", magic=F.args.is_(None)))
    posts.register(settings.change_settings, Command("settings"))
    return router
