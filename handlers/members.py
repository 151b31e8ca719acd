"""Membership changes in groups keep the cached admin lists true (bot.filters.AdminCache):
a demoted admin loses the right to change settings at once, a promoted one gains it."""

from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import ChatMemberUpdated

from bot.filters import AdminCache


async def member_changed(event: ChatMemberUpdated, admins: AdminCache) -> None:
    # Telegram sends these only to a bot that is an admin of the group, and only when
    # asked for them by name (allowed_updates, which follows the handlers registered).
    new = event.new_chat_member
    admins.member_changed(event.chat.id, new.user.id, new.status)


async def bot_changed(event: ChatMemberUpdated, admins: AdminCache) -> None:
    # The bot's own rights changed: made an admin, it hears of changes from now on;
    # demoted, it stops hearing of them, so what it has cached may go stale.
    admins.forget(event.chat.id)
    # The joining and leaving handlers (start, subscriptions) still get the update.
    raise SkipHandler


def build() -> Router:
    router = Router(name=__name__)
    router.chat_member.register(member_changed)
    router.my_chat_member.register(bot_changed)
    return router
