"""Who manages which chat, as far as the bot has seen: what /subscriptions lists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.models import Subscription
from storage.db import Database, to_db_time
from storage.subscriptions import _COLUMNS, _subscription


class ManagerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, chat_id: int, user_ids: Iterable[int], *, now: datetime) -> None:
        stamp = to_db_time(now)
        await self._db.execute_many(
            "INSERT INTO chat_managers (chat_id, user_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, user_id) DO UPDATE SET seen_at = excluded.seen_at",
            [(chat_id, user_id, stamp) for user_id in user_ids],
        )

    async def replace(self, chat_id: int, user_ids: Iterable[int], *, now: datetime) -> None:
        """The chat's managers are exactly `user_ids` (a fresh admin list from Telegram)."""
        ids = sorted(set(user_ids))
        async with self._db.transaction():
            await self._db.execute("DELETE FROM chat_managers WHERE chat_id = ?", (chat_id,))
            await self.add(chat_id, ids, now=now)

    async def remove(self, chat_id: int, user_id: int) -> None:
        await self._db.execute(
            "DELETE FROM chat_managers WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )

    async def subscriptions_of(self, user_id: int) -> list[Subscription]:
        """Active subscriptions the user set up, or of chats the user was seen managing."""
        columns = ", ".join(f"s.{c}" for c in _COLUMNS.split(", "))
        rows = await self._db.fetchall(
            f"SELECT {columns} FROM subscriptions AS s WHERE s.active = 1 AND"
            " (s.subscribed_by = ? OR s.chat_id = ? OR s.chat_id IN"
            " (SELECT chat_id FROM chat_managers WHERE user_id = ?))"
            " ORDER BY s.chat_id",
            (user_id, user_id, user_id),
        )
        return [_subscription(row) for row in rows]
