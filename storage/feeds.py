"""News feeds the bot polls, their HTTP validators and failure counts, and entries seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, from_db_time, from_db_time_or_none, to_db_time

_COLUMNS = "id, url, title, etag, last_modified, failures, paused, added_at, last_error, checked_at"


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    failures: int
    paused: bool
    added_at: datetime
    last_error: str | None
    checked_at: datetime | None

    @property
    def name(self) -> str:
        return self.title or self.url


def _feed(row: Row) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        failures=row["failures"],
        paused=bool(row["paused"]),
        added_at=from_db_time(row["added_at"]),
        last_error=row["last_error"],
        checked_at=from_db_time_or_none(row["checked_at"]),
    )


class FeedRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, url: str, *, now: datetime, title: str | None = None) -> tuple[Feed, bool]:
        """Stores the feed unless its URL is stored; returns the row and whether it is new."""
        row = await self._db.fetchone(
            "INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?)"
            f" ON CONFLICT (url) DO NOTHING RETURNING {_COLUMNS}",
            (url, title, to_db_time(now)),
        )
        if row is not None:
            return _feed(row), True
        existing = await self.by_url(url)
        assert existing is not None, "a conflict implies a stored row"
        return existing, False

    async def get(self, feed_id: int) -> Feed | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return _feed(row) if row else None

    async def by_url(self, url: str) -> Feed | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return _feed(row) if row else None

    async def all(self) -> list[Feed]:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM feeds ORDER BY id")
        return [_feed(row) for row in rows]

    async def active(self) -> list[Feed]:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM feeds WHERE paused = 0 ORDER BY id")
        return [_feed(row) for row in rows]

    async def remove(self, feed_id: int) -> Feed | None:
        """Deletes the feed and its seen entries; its articles stay in the store."""
        row = await self._db.fetchone(
            f"DELETE FROM feeds WHERE id = ? RETURNING {_COLUMNS}", (feed_id,)
        )
        return _feed(row) if row else None

    async def resume(self, feed_id: int) -> Feed | None:
        row = await self._db.fetchone(
            "UPDATE feeds SET paused = 0, failures = 0, last_error = NULL WHERE id = ?"
            f" RETURNING {_COLUMNS}",
            (feed_id,),
        )
        return _feed(row) if row else None

    async def record_success(
        self,
        feed_id: int,
        *,
        now: datetime,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        keep_validators: bool = False,
    ) -> None:
        """A poll that worked: the failure count starts over. With `keep_validators` the
        stored ETag / Last-Modified stay, so the next poll fetches the feed in full again."""
        await self._db.execute(
            "UPDATE feeds SET failures = 0, last_error = NULL, checked_at = ?,"
            " title = coalesce(?, title),"
            " etag = CASE WHEN ? THEN etag ELSE ? END,"
            " last_modified = CASE WHEN ? THEN last_modified ELSE ? END"
            " WHERE id = ?",
            (
                to_db_time(now),
                title,
                keep_validators,
                etag,
                keep_validators,
                last_modified,
                feed_id,
            ),
        )

    async def record_failure(
        self, feed_id: int, error: str, *, now: datetime, pause_after: int
    ) -> Feed | None:
        """Counts one more failure in a row and pauses the feed at `pause_after`; one
        statement, so two polls cannot both read the old count."""
        row = await self._db.fetchone(
            "UPDATE feeds SET failures = failures + 1, last_error = ?, checked_at = ?,"
            " paused = CASE WHEN failures + 1 >= ? THEN 1 ELSE paused END"
            f" WHERE id = ? RETURNING {_COLUMNS}",
            (error[:500], to_db_time(now), pause_after, feed_id),
        )
        return _feed(row) if row else None

    async def seen(self, feed_id: int, entry_id: str, url: str | None) -> bool:
        """Whether this feed delivered the entry before, or any feed delivered its link."""
        row = await self._db.fetchone(
            "SELECT 1 FROM feed_entries WHERE (feed_id = ? AND entry_id = ?)"
            # The cast tells PostgreSQL the type of a parameter it sees only in IS NOT NULL.
            " OR (CAST(? AS TEXT) IS NOT NULL AND url = ?) LIMIT 1",
            (feed_id, entry_id, url, url),
        )
        return row is not None

    async def prune_entries(self, *, keep: int) -> int:
        """Forgets all but each feed's newest `keep` delivered entries. A feed lists far
        fewer than that, so nothing it still lists is forgotten; and should an old entry
        come back, its article is still found by link or text. Returns how many went."""
        # Entries of one poll share a time; the entry id orders them, on either backend.
        return await self._db.execute(
            "DELETE FROM feed_entries WHERE (feed_id, entry_id) IN (SELECT feed_id, entry_id"
            " FROM (SELECT feed_id, entry_id, row_number() OVER (PARTITION BY feed_id"
            " ORDER BY seen_at DESC, entry_id DESC) AS n FROM feed_entries) AS ranked"
            " WHERE n > ?)",
            (keep,),
        )

    async def mark_seen(
        self,
        feed_id: int,
        entry_id: str,
        *,
        url: str | None,
        article_id: int | None,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO feed_entries (feed_id, entry_id, url, article_id, seen_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (feed_id, entry_id) DO NOTHING",
            (feed_id, entry_id, url, article_id, to_db_time(now)),
        )
