"""/start, /help, and the one-time introduction when the bot joins a group."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter, Command, CommandStart
from aiogram.types import ChatMemberUpdated, Message

from bot import texts
from bot.chats import ChatService
from bot.config import Settings
from bot.filters import GROUP_TYPES


async def help_command(message: Message, bot: Bot, settings: Settings) -> None:
    me = await bot.me()
    group = message.chat.type in GROUP_TYPES
    user = message.from_user
    admin = not group and user is not None and user.id in settings.admin_ids
    await message.answer(texts.help_text(me.username if group else None, admin=admin))


async def introduce(event: ChatMemberUpdated, bot: Bot, chats: ChatService) -> None:
    if await chats.introduce(event.chat.id):
        me = await bot.me()
        await bot.send_message(event.chat.id, texts.GROUP_INTRO.format(username=me.username))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(help_command, CommandStart())
    router.message.register(help_command, Command("help"))
    router.my_chat_member.register(
        introduce, ChatMemberUpdatedFilter(JOIN_TRANSITION), F.chat.type.in_(GROUP_TYPES)
    )
    return router
