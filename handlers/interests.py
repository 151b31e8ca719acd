"""/follow, /unfollow, /sources and /alerts: what this chat gets. Anyone may look; in
groups only admins change them, as with /settings."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from bot import render, texts
from bot.answers import Answers
from bot.chats import ChatService
from bot.clock import Clock
from bot.filters import ChatAdmin
from bot.interests import FollowChange, InterestService
from bot.parsing import SettingChange, parse_alerts
from bot.render import Reply, SourceAction, UnfollowAction
from bot.subscriptions import SubscriptionService
from handlers.common import edit, pressed, say, toast


async def list_follows(
    message: Message, interests: InterestService, chats: ChatService, answers: Answers
) -> None:
    follows = await interests.follows(message.chat.id)
    mode = (await chats.settings(message.chat.id)).digest_mode
    reply = render.follows_reply(follows, mode)
    await say(message, reply.html, answers, keyboard=reply.keyboard)


async def follow(
    message: Message,
    command: CommandObject,
    interests: InterestService,
    clock: Clock,
    answers: Answers,
) -> None:
    change = await interests.follow(message.chat.id, command.args or "", now=clock())
    await _changed(message, change, texts.FOLLOW_ADDED, texts.FOLLOW_NOTHING_NEW, answers)


async def unfollow(
    message: Message, command: CommandObject, interests: InterestService, answers: Answers
) -> None:
    change = await interests.unfollow(message.chat.id, command.args or "")
    await _changed(message, change, texts.UNFOLLOWED, texts.UNFOLLOW_NONE, answers)


async def _changed(
    message: Message, change: FollowChange, done: str, nothing: str, answers: Answers
) -> None:
    """What /follow or /unfollow changed, in one line: `done` with the terms, or
    `nothing` when the list stayed as it was."""
    if not change.changed:
        await say(message, nothing, answers)
        return
    terms = render.terms_line((i.kind, i.term) for i in change.changed)
    await say(message, done.format(terms=terms), answers)


async def remove_pressed(
    callback: CallbackQuery,
    callback_data: UnfollowAction,
    interests: InterestService,
    chats: ChatService,
    answers: Answers,
) -> None:
    chat_id = callback.message.chat.id if callback.message else 0
    change = await interests.remove(chat_id, callback_data.token)
    await toast(callback, answers, texts.CB_REMOVED if change.changed else texts.UNKNOWN_CHOICE)
    mode = (await chats.settings(chat_id)).digest_mode
    await _redraw(callback, render.follows_reply(change.follows, mode), chats, answers)


async def list_sources(message: Message, interests: InterestService, answers: Answers) -> None:
    reply = render.outlets_reply(await interests.outlets(message.chat.id))
    await say(message, reply.html, answers, keyboard=reply.keyboard)


async def source_pressed(
    callback: CallbackQuery,
    callback_data: SourceAction,
    interests: InterestService,
    chats: ChatService,
    answers: Answers,
) -> None:
    chat_id = callback.message.chat.id if callback.message else 0
    outlets = await interests.toggle(chat_id, callback_data.token)
    await toast(callback, answers)
    await _redraw(callback, render.outlets_reply(outlets), chats, answers)


async def _redraw(
    callback: CallbackQuery, reply: Reply, chats: ChatService, answers: Answers
) -> None:
    """The list under the pressed button, redrawn in place ("not modified" after two
    quick presses counts as done)."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    await edit(message, [reply], chats, answers, request=pressed(callback), rest=False)


async def show_alerts(message: Message, chats: ChatService, answers: Answers) -> None:
    state = (await chats.settings(message.chat.id)).alerts
    await say(message, texts.ALERTS_STATE.format(state=texts.alerts_label(state)), answers)


async def change_alerts(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    clock: Clock,
    answers: Answers,
) -> None:
    change = SettingChange("alerts", parse_alerts(command.args or ""))
    overview = await subscriptions.change_settings(message.chat.id, change, now=clock())
    state = overview.settings.alerts
    await say(message, texts.ALERTS_STATE.format(state=texts.alerts_label(state)), answers)


async def refused(message: Message, answers: Answers) -> None:
    await say(message, texts.NOT_GROUP_ADMIN, answers)


async def refused_button(callback: CallbackQuery, answers: Answers) -> None:
    await toast(callback, answers, texts.NOT_GROUP_ADMIN, alert=True)


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(list_follows, Command("follow", magic=F.args.is_(None)))
    router.message.register(show_alerts, Command("alerts", magic=F.args.is_(None)))
    router.message.register(list_sources, Command("sources"))
    # Per handler, not for the router: for a group the filter asks Telegram for its admins.
    router.message.register(follow, Command("follow"), ChatAdmin())
    router.message.register(unfollow, Command("unfollow"), ChatAdmin())
    router.message.register(change_alerts, Command("alerts"), ChatAdmin())
    router.message.register(refused, Command("follow", "unfollow", "alerts"))
    router.callback_query.register(remove_pressed, UnfollowAction.filter(), ChatAdmin())
    router.callback_query.register(source_pressed, SourceAction.filter(), ChatAdmin())
    router.callback_query.register(refused_button, UnfollowAction.filter())
    router.callback_query.register(refused_button, SourceAction.filter())
    return router
