"""The production Dispatcher fed updates directly (`Dispatcher.feed_update`), with a
session that records what the bot sends instead of calling Telegram.

Faster than the Bot API test server for tests that push hundreds of updates (property
tests, flood control); routing, filters, middlewares and rendering are the real ones.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetChatAdministrators,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberOwner,
    Message,
    MessageEntity,
    Update,
    User,
)

from bot.app import App, build_app
from bot.config import Settings

TOKEN = "123456:HARNESS-token"
ME = User(id=123456, is_bot=True, first_name="Сводка", username="svodka_bot")
GROUP_OWNER = 900  # the owner of every group in the harness


@dataclass
class Sent:
    """One call that put text in front of a user."""

    method: str  # "sendMessage", "editMessageText" or "answerCallbackQuery"
    chat_id: int | None
    text: str
    message: Message | None = None


class RecordingSession(BaseSession):
    """Answers the Bot API calls the bot makes; nothing leaves the process."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self._ids = itertools.count(1)

    async def close(self) -> None:
        return None

    async def stream_content(  # type: ignore[override]
        self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise RuntimeError("the harness has no network")
        yield b""  # pragma: no cover

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.calls.append(type(method).__name__)
        result: Any = True
        if isinstance(method, GetMe):
            result = ME
        elif isinstance(method, SendMessage | EditMessageText):
            chat_id = int(method.chat_id) if method.chat_id is not None else None
            message = Message(
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=_chat(chat_id or 0),
                from_user=ME,
                text=str(method.text),
            )
            name = "sendMessage" if isinstance(method, SendMessage) else "editMessageText"
            self.sent.append(Sent(name, chat_id, str(method.text), message))
            result = message
        elif isinstance(method, AnswerCallbackQuery):
            if method.text:
                self.sent.append(Sent("answerCallbackQuery", None, method.text))
        elif isinstance(method, GetChatAdministrators):
            result = [ChatMemberOwner(user=_user(GROUP_OWNER), is_anonymous=False)]
        return result  # type: ignore[no-any-return]


def _user(user_id: int) -> User:
    return User(id=user_id, is_bot=False, first_name=f"User {user_id}", language_code="ru")


def _chat(chat_id: int) -> Chat:
    if chat_id > 0:
        return Chat(id=chat_id, type="private", first_name=f"User {chat_id}")
    return Chat(id=chat_id, type="supergroup", title=f"Chat {chat_id}")


class Harness:
    def __init__(self, app: App, session: RecordingSession) -> None:
        self.app = app
        self.session = session
        self._updates = itertools.count(1)
        self._messages = itertools.count(10_000)

    @classmethod
    async def start(cls, settings: Settings) -> Harness:
        session = RecordingSession()
        app = await build_app(settings, session=session, token=TOKEN)
        return cls(app, session)

    async def close(self) -> None:
        await self.app.close()

    @property
    def sent(self) -> list[Sent]:
        return self.session.sent

    def message(
        self,
        text: str | None,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        reply_to: Message | None = None,
        sender_chat: Chat | None = None,
        **fields: Any,
    ) -> Update:
        chat_id = user_id if chat_id is None else chat_id
        entities = None
        if text is not None and text.startswith("/"):
            length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        return Update(
            update_id=next(self._updates),
            message=Message(
                message_id=next(self._messages),
                date=datetime.now(UTC),
                chat=_chat(chat_id),
                from_user=_user(user_id),
                sender_chat=sender_chat,
                text=text,
                entities=entities,
                reply_to_message=reply_to,
                **fields,
            ),
        )

    def press(self, data: str, *, message: Message, user_id: int = 1001) -> Update:
        return Update(
            update_id=next(self._updates),
            callback_query=CallbackQuery(
                id=str(next(self._updates)),
                from_user=_user(user_id),
                chat_instance="harness",
                message=message,
                data=data,
            ),
        )

    async def feed(self, update: Update) -> list[Sent]:
        """Feeds one update; returns what the bot showed in answer."""
        before = len(self.sent)
        await self.app.dp.feed_update(self.app.bot, update)
        return self.sent[before:]

    async def say(self, text: str | None, **kw: Any) -> list[Sent]:
        return await self.feed(self.message(text, **kw))
