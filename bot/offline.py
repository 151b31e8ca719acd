"""A Bot API session that never leaves the process: it answers the calls the bot makes
and records what it would have shown. The console prints through it; tests and
benchmarks feed updates through the real Dispatcher with it."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetChat,
    GetChatAdministrators,
    GetChatMember,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    AcceptedGiftTypes,
    Chat,
    ChatFullInfo,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)

from bot import texts
from bot.clock import Clock, utc_now


def bot_user() -> User:
    """The bot itself, as an offline session's getMe answers."""
    return User(id=42, is_bot=True, first_name=texts.BOT_NAME, username="svodka_bot")


def user(user_id: int) -> User:
    return User(id=user_id, is_bot=False, first_name=f"User {user_id}", language_code="ru")


def chat(chat_id: int) -> Chat:
    """Positive ids are private chats, negative ones groups, as in Telegram."""
    if chat_id > 0:
        return Chat(id=chat_id, type="private", first_name=f"User {chat_id}")
    return Chat(id=chat_id, type="supergroup", title=f"Chat {chat_id}")


def chat_info(chat_id: int) -> ChatFullInfo:
    """`chat` as getChat describes it, with nothing set beyond what Telegram requires."""
    gifts = AcceptedGiftTypes(
        unlimited_gifts=False,
        limited_gifts=False,
        unique_gifts=False,
        premium_subscription=False,
        gifts_from_channels=False,
    )
    return ChatFullInfo(
        **chat(chat_id).model_dump(exclude_none=True),
        accent_color_id=0,
        max_reaction_count=0,
        accepted_gift_types=gifts,
    )


def text_update(
    update_id: int,
    message_id: int,
    text: str | None,
    *,
    chat: Chat,
    from_user: User,
    date: datetime,
    **fields: Any,
) -> Update:
    """A message as Telegram delivers it: a leading /command carries its bot_command
    entity, its length in UTF-16 code units as Telegram counts them."""
    entities = None
    if text is not None and text.startswith("/"):
        length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
        entities = [MessageEntity(type="bot_command", offset=0, length=length)]
    message = Message(
        message_id=message_id,
        date=date,
        chat=chat,
        from_user=from_user,
        text=text,
        entities=entities,
        **fields,
    )
    return Update(update_id=update_id, message=message)


@dataclass
class Sent:
    """One call that put text in front of a user."""

    method: str  # "sendMessage", "editMessageText" or "answerCallbackQuery"
    chat_id: int | None
    text: str  # as the bot sent it (HTML)
    message: Message | None = None
    at: float = field(default_factory=time.perf_counter)


class OfflineSession(BaseSession):
    def __init__(
        self,
        *,
        me: User | None = None,
        group_owner: int = 900,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__()
        self.me = me if me is not None else bot_user()
        # Every group's only admin, for the admin checks of groups.
        self.group_owner = group_owner
        self.clock = clock
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self._ids = itertools.count(1)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise RuntimeError("an offline session has no network")
        yield b""  # pragma: no cover

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.calls.append(type(method).__name__)
        result: Any = True
        if isinstance(method, GetMe):
            result = self.me
        elif isinstance(method, SendMessage | EditMessageText):
            chat_id = int(method.chat_id) if method.chat_id is not None else 0
            message = Message(
                message_id=next(self._ids),
                date=self.clock(),
                chat=chat(chat_id),
                from_user=self.me,
                text=str(method.text),
                reply_markup=(
                    method.reply_markup
                    if isinstance(method.reply_markup, InlineKeyboardMarkup)
                    else None
                ),
            )
            name = "sendMessage" if isinstance(method, SendMessage) else "editMessageText"
            self.sent.append(Sent(name, chat_id, str(method.text), message))
            self.shown(message)
            result = message
        elif isinstance(method, AnswerCallbackQuery):
            if method.text:
                self.sent.append(Sent("answerCallbackQuery", None, method.text))
                self.toast(method.text)
        elif isinstance(method, GetChat):
            # The chats that write to this session are the only ones it knows; a
            # channel's @name is one Telegram would not find either.
            if isinstance(method.chat_id, str) and not method.chat_id.lstrip("-").isdigit():
                raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
            result = chat_info(int(method.chat_id))
        elif isinstance(method, GetChatAdministrators):
            result = [ChatMemberOwner(user=user(self._owner(method.chat_id)), is_anonymous=False)]
        elif isinstance(method, GetChatMember):
            member = user(method.user_id)
            if method.user_id == self._owner(method.chat_id):
                result = ChatMemberOwner(user=member, is_anonymous=False)
            else:
                result = ChatMemberMember(user=member)
        return result

    def _owner(self, chat_id: int | str) -> int:
        """Who owns the chat: the group owner for groups, the user for a private chat."""
        return self.group_owner if int(chat_id) < 0 else int(chat_id)

    def shown(self, message: Message) -> None:
        """Called for every message the bot sends or edits; the console prints it."""

    def toast(self, text: str) -> None:
        """Called for the short notice of an answered button press."""
