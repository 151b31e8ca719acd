"""/subscribe, /unsubscribe, /digest, and what Telegram says about the chat itself: the
bot removed or blocked, a group become a supergroup."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import LEAVE_TRANSITION, ChatMemberUpdatedFilter, Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.chat_action import ChatActionSender

from bot import render, texts
from bot.answers import Answers
from bot.chats import ChatService
from bot.clock import Clock
from bot.filters import ChatAdmin, OnLoop
from bot.subscriptions import SubscriptionService
from handlers.common import say, send, topic_of


async def subscribe(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    clock: Clock,
    answers: Answers,
) -> None:
    # An anonymous admin writes as the group: there is no person to record.
    user = message.from_user if message.sender_chat is None else None
    sub = await subscriptions.subscribe(
        message.chat.id,
        command.args or "",
        user_id=user.id if user else None,
        now=clock(),
        thread_id=topic_of(message),
    )
    await say(message, render.subscribed_reply(sub), answers)


async def unsubscribe(
    message: Message, subscriptions: SubscriptionService, clock: Clock, answers: Answers
) -> None:
    ended = await subscriptions.unsubscribe(message.chat.id, now=clock())
    await say(message, texts.UNSUBSCRIBED if ended else texts.NOT_SUBSCRIBED, answers)


async def subscription_refused(message: Message, answers: Answers) -> None:
    await say(message, texts.NOT_GROUP_ADMIN, answers)


async def digest_now(
    message: Message,
    bot: Bot,
    subscriptions: SubscriptionService,
    chats: ChatService,
    clock: Clock,
    answers: Answers,
) -> None:
    """Anyone's, any time; the scheduled digest still comes."""
    now = clock()
    async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id, initial_sleep=0.5):
        digest, zone = await subscriptions.digest_now(message.chat.id, now=now)
    await send(message, subscriptions.digest_answer(digest, zone), chats, answers)
    await subscriptions.shown(digest, now=now)


async def bot_removed(event: ChatMemberUpdated, subscriptions: SubscriptionService) -> None:
    # Kicked from a group, or blocked in a private chat: nobody is left to read digests.
    await subscriptions.on_blocked(event.chat.id, event.new_chat_member.status)


async def group_migrated(message: Message, new_id: int, subscriptions: SubscriptionService) -> None:
    await subscriptions.on_migrated(message.chat.id, new_id)


async def supergroup_created(
    message: Message, old_id: int, subscriptions: SubscriptionService
) -> None:
    # Telegram posts both service messages; whichever comes first moves the data and
    # the other finds nothing left to move.
    await subscriptions.on_migrated(old_id, message.chat.id)


def build() -> Router:
    router = Router(name=__name__)
    # Admin-filtered first; whoever the filter turns away gets the refusal below. Per
    # handler, not for the router: for a group the filter asks Telegram for its admins.
    router.message.register(subscribe, Command("subscribe"), ChatAdmin())
    router.message.register(unsubscribe, Command("unsubscribe"), ChatAdmin())
    router.message.register(subscription_refused, Command("subscribe", "unsubscribe"))
    router.message.register(digest_now, Command("digest"))
    router.my_chat_member.register(bot_removed, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.message.register(group_migrated, OnLoop(F.migrate_to_chat_id.as_("new_id")))
    router.message.register(supergroup_created, OnLoop(F.migrate_from_chat_id.as_("old_id")))
    return router
