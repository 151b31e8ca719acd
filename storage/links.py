"""The per-chat cache of pages summarised on request, and which message showed which."""

from __future__ import annotations

from datetime import datetime

from bot.models import LinkPage
from storage.db import Database, Row, from_db_time, to_db_time

_COLUMNS = "id, chat_id, url, title, source, text, lang, fetched_at"


def _page(row: Row) -> LinkPage:
    return LinkPage(
        id=row["id"],
        chat_id=row["chat_id"],
        url=row["url"],
        title=row["title"],
        source=row["source"],
        text=row["text"],
        lang=row["lang"],
        fetched_at=from_db_time(row["fetched_at"]),
    )


class LinkRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(
        self,
        chat_id: int,
        url: str,
        *,
        title: str,
        source: str,
        text: str,
        lang: str,
        now: datetime,
        expires_at: datetime,
        keep: int,
    ) -> LinkPage:
        """Keeps the page for the chat (the same URL again replaces it), then drops what
        has expired anywhere and the chat's pages beyond its newest `keep`."""
        stamp = to_db_time(now)
        async with self._db.transaction():
            row = await self._db.fetchone(
                "INSERT INTO link_pages (chat_id, url, title, source, text, lang,"
                " fetched_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (chat_id, url) DO UPDATE SET title = excluded.title,"
                " source = excluded.source, text = excluded.text, lang = excluded.lang,"
                " fetched_at = excluded.fetched_at, expires_at = excluded.expires_at"
                f" RETURNING {_COLUMNS}",
                (chat_id, url, title, source, text, lang, stamp, to_db_time(expires_at)),
            )
            assert row is not None
            await self._db.execute("DELETE FROM link_pages WHERE expires_at <= ?", (stamp,))
            await self._db.execute(
                "DELETE FROM link_pages WHERE chat_id = ? AND id NOT IN"
                " (SELECT id FROM link_pages WHERE chat_id = ? ORDER BY fetched_at DESC, id DESC"
                " LIMIT ?)",
                (chat_id, chat_id, keep),
            )
        return _page(row)

    async def find(self, chat_id: int, url: str, *, now: datetime) -> LinkPage | None:
        """The chat's unexpired copy of the page at `url`."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM link_pages WHERE chat_id = ? AND url = ? AND expires_at > ?",
            (chat_id, url, to_db_time(now)),
        )
        return _page(row) if row else None

    async def get(self, chat_id: int, page_id: int, *, now: datetime) -> LinkPage | None:
        """The page, if it is this chat's and has not expired."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM link_pages WHERE chat_id = ? AND id = ? AND expires_at > ?",
            (chat_id, page_id, to_db_time(now)),
        )
        return _page(row) if row else None

    async def remember(self, chat_id: int, page_id: int, message_ids: list[int]) -> None:
        await self._db.execute_many(
            "INSERT INTO link_messages (chat_id, message_id, page_id)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM link_pages WHERE id = ?)"
            " ON CONFLICT (chat_id, message_id) DO UPDATE SET page_id = excluded.page_id",
            [(chat_id, message_id, page_id, page_id) for message_id in message_ids],
        )

    async def for_message(self, chat_id: int, message_id: int, *, now: datetime) -> LinkPage | None:
        """The unexpired page a bot message in the chat was about."""
        row = await self._db.fetchone(
            f"SELECT {', '.join('p.' + c for c in _COLUMNS.split(', '))} FROM link_messages AS m"
            " JOIN link_pages AS p ON p.id = m.page_id"
            " WHERE m.chat_id = ? AND m.message_id = ? AND p.expires_at > ?",
            (chat_id, message_id, to_db_time(now)),
        )
        return _page(row) if row else None

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM link_pages")
        return int(row[0]) if row else 0
