"""The production Dispatcher fed updates directly (`Dispatcher.feed_update`), with a
session that records what the bot sends instead of calling Telegram.

Faster than the Bot API test server for tests that push hundreds of updates (property
tests, flood control); routing, filters, middlewares and rendering are the real ones.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram.types import (
    CallbackQuery,
    Chat,
    Message,
    Update,
    User,
)

from bot.app import App, build_app
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.delivery import Limits
from bot.offline import OfflineSession, Sent, chat, text_update, user

TOKEN = "123456:HARNESS-token"
ME = User(id=123456, is_bot=True, first_name="Сводка", username="svodka_bot")
GROUP_OWNER = 900  # the owner of every group in the harness
_user, _chat = user, chat


def RecordingSession() -> OfflineSession:
    return OfflineSession(me=ME, group_owner=GROUP_OWNER)


class Harness:
    def __init__(self, app: App, session: OfflineSession) -> None:
        self.app = app
        self.session = session
        self._updates = itertools.count(1)
        self._messages = itertools.count(10_000)

    @classmethod
    async def start(
        cls, settings: Settings, *, clock: Clock = utc_now, limits: Limits | None = None
    ) -> Harness:
        session = OfflineSession(me=ME, group_owner=GROUP_OWNER)
        app = await build_app(settings, session=session, token=TOKEN, clock=clock, limits=limits)
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
        return text_update(
            next(self._updates),
            next(self._messages),
            text,
            chat=chat(chat_id),
            from_user=user(user_id),
            date=datetime.now(UTC),
            sender_chat=sender_chat,
            reply_to_message=reply_to,
            **fields,
        )

    def press(self, data: str, *, message: Message, user_id: int = 1001) -> Update:
        return Update(
            update_id=next(self._updates),
            callback_query=CallbackQuery(
                id=str(next(self._updates)),
                from_user=user(user_id),
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
