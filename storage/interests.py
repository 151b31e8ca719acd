"""What each chat follows, and the outlets it turned off."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.models import Followed
from storage.db import Database, Row, fetch_keyed, to_db_time


def _followed(row: Row) -> Followed:
    return Followed(key=row["key"], kind=row["kind"], term=row["term"])


class InterestRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, chat_id: int, interests: Sequence[Followed], *, now: datetime) -> int:
        """Adds the interests the chat does not have yet; returns how many were new."""
        added = 0
        async with self._db.transaction():
            for item in interests:
                added += await self._db.execute(
                    "INSERT INTO chat_interests (chat_id, key, kind, term, added_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id, key) DO NOTHING",
                    (chat_id, item.key, item.kind, item.term, to_db_time(now)),
                )
        return added

    async def remove(self, chat_id: int, keys: Iterable[str]) -> int:
        removed = 0
        async with self._db.transaction():
            for key in keys:
                removed += await self._db.execute(
                    "DELETE FROM chat_interests WHERE chat_id = ? AND key = ?", (chat_id, key)
                )
        return removed

    async def of_chat(self, chat_id: int) -> list[Followed]:
        """The chat's interests in the order they were added."""
        rows = await self._db.fetchall(
            "SELECT key, kind, term FROM chat_interests WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        )
        return [_followed(row) for row in rows]

    async def of_chats(self, chat_ids: Sequence[int]) -> dict[int, list[Followed]]:
        """`of_chat` of many chats in one query; a chat that follows nothing is left out."""
        rows = await fetch_keyed(
            self._db,
            "SELECT chat_id, key, kind, term FROM chat_interests"
            " WHERE chat_id IN ({keys}) ORDER BY chat_id, id",
            chat_ids,
        )
        found: dict[int, list[Followed]] = {}
        for row in rows:
            found.setdefault(int(row["chat_id"]), []).append(_followed(row))
        return found

    async def count(self, chat_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM chat_interests WHERE chat_id = ?", (chat_id,)
        )
        return int(row[0]) if row else 0

    async def every_chat(self) -> dict[int, list[Followed]]:
        """All chats' interests, for matching new stories against every chat at once."""
        rows = await self._db.fetchall(
            "SELECT chat_id, key, kind, term FROM chat_interests ORDER BY chat_id, id"
        )
        found: dict[int, list[Followed]] = {}
        for row in rows:
            found.setdefault(int(row["chat_id"]), []).append(_followed(row))
        return found

    async def muted(self, chat_id: int) -> frozenset[str]:
        rows = await self._db.fetchall(
            "SELECT source FROM muted_sources WHERE chat_id = ?", (chat_id,)
        )
        return frozenset(row["source"] for row in rows)

    async def muted_of_chats(self, chat_ids: Sequence[int]) -> dict[int, frozenset[str]]:
        """`muted` of many chats in one query; a chat that muted nothing is left out."""
        rows = await fetch_keyed(
            self._db,
            "SELECT chat_id, source FROM muted_sources WHERE chat_id IN ({keys})",
            chat_ids,
        )
        found: dict[int, set[str]] = {}
        for row in rows:
            found.setdefault(int(row["chat_id"]), set()).add(row["source"])
        return {chat: frozenset(sources) for chat, sources in found.items()}

    async def set_muted(self, chat_id: int, source: str, muted: bool) -> None:
        if muted:
            await self._db.execute(
                "INSERT INTO muted_sources (chat_id, source) VALUES (?, ?)"
                " ON CONFLICT (chat_id, source) DO NOTHING",
                (chat_id, source),
            )
        else:
            await self._db.execute(
                "DELETE FROM muted_sources WHERE chat_id = ? AND source = ?", (chat_id, source)
            )
