"""Daily digest subscriptions and the record of digest runs that keeps each one single."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from functools import lru_cache

from bot.models import Subscription
from storage.db import (
    ROWS_PER_INSERT,
    Database,
    Row,
    fetch_keyed,
    from_db_time,
    from_db_time_or_none,
    move_chat_rows,
    to_db_time,
)

_COLUMNS = "chat_id, at, timezone, subscribed_by, active, ended_reason, due_at, thread_id"


# A page of due subscriptions shares a few times of day: each read once.
_time_of_day = lru_cache(maxsize=1024)(time.fromisoformat)


def _subscription(row: Row) -> Subscription:
    return Subscription(
        chat_id=row["chat_id"],
        at=_time_of_day(row["at"]),
        timezone=row["timezone"],
        subscribed_by=row["subscribed_by"],
        active=bool(row["active"]),
        ended_reason=row["ended_reason"],
        due_at=from_db_time_or_none(row["due_at"]),
        thread_id=row["thread_id"],
    )


async def move_chat_subscriptions(db: Database, old: int, new: int) -> None:
    """Moves a chat's subscription and digest runs to its new id (group -> supergroup).

    Rows the new id already has win: they were written after the migration.
    """
    async with db.transaction():
        await db.execute(
            "UPDATE subscriptions SET chat_id = ? WHERE chat_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = ?)",
            (new, old, new),
        )
        await db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (old,))
        await move_chat_rows(db, "digest_runs", "period", old, new)


class SubscriptionRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def subscribe(
        self,
        chat_id: int,
        at: time,
        timezone: str,
        subscribed_by: int | None,
        *,
        now: datetime,
        due_at: datetime,
        thread_id: int | None = None,
    ) -> Subscription:
        """Creates or replaces the chat's subscription, due at `due_at`; an ended one
        becomes active again."""
        stamp = to_db_time(now)
        row = await self._db.fetchone(
            "INSERT INTO subscriptions (chat_id, at, timezone, subscribed_by, active,"
            " ended_reason, created_at, updated_at, due_at, thread_id)"
            " VALUES (?, ?, ?, ?, 1, NULL, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET at = excluded.at,"
            " timezone = excluded.timezone, subscribed_by = excluded.subscribed_by,"
            " active = 1, ended_reason = NULL, updated_at = excluded.updated_at,"
            " due_at = excluded.due_at, thread_id = excluded.thread_id"
            f" RETURNING {_COLUMNS}",
            (
                chat_id,
                at.strftime("%H:%M"),
                timezone,
                subscribed_by,
                stamp,
                stamp,
                to_db_time(due_at),
                thread_id,
            ),
        )
        assert row is not None
        return _subscription(row)

    async def end(self, chat_id: int, reason: str, *, now: datetime) -> bool:
        """False when there was no active subscription to end."""
        changed = await self._db.execute(
            "UPDATE subscriptions SET active = 0, ended_reason = ?, updated_at = ?,"
            " due_at = NULL WHERE chat_id = ? AND active = 1",
            (reason, to_db_time(now), chat_id),
        )
        return changed > 0

    async def get(self, chat_id: int) -> Subscription | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
        )
        return _subscription(row) if row else None

    async def active(self) -> list[Subscription]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 ORDER BY chat_id"
        )
        return [_subscription(row) for row in rows]

    async def due(
        self, now: datetime, *, after: tuple[datetime, int] | None = None, limit: int = 500
    ) -> list[Subscription]:
        """Active subscriptions due by `now`, earliest first, one page of `limit`: the page
        after the (due_at, chat_id) of the previous page's last row, if given."""
        if after is None:
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 AND due_at <= ?"
                " ORDER BY due_at, chat_id LIMIT ?",
                (to_db_time(now), limit),
            )
        else:
            # Spelled out rather than a row-value comparison, so both planners see a
            # range on the index's leading column.
            last_due = to_db_time(after[0])
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 AND due_at <= ?"
                " AND due_at >= ? AND (due_at > ? OR chat_id > ?)"
                " ORDER BY due_at, chat_id LIMIT ?",
                (to_db_time(now), last_due, last_due, after[1], limit),
            )
        return [_subscription(row) for row in rows]

    async def reschedule(self, moves: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Sets each (chat_id, was, due_at): only where the row is still due at `was`, so a
        change the chat made meanwhile (a new time, an unsubscribe) stands."""
        await self._db.execute_many(
            "UPDATE subscriptions SET due_at = ? WHERE chat_id = ? AND active = 1 AND due_at = ?",
            [(to_db_time(due), chat_id, to_db_time(was)) for chat_id, was, due in moves],
        )

    async def undated(self) -> list[Subscription]:
        """Active subscriptions without a due time (written before the store kept one)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 AND due_at IS NULL"
            " ORDER BY chat_id"
        )
        return [_subscription(row) for row in rows]

    async def set_due(self, moves: Sequence[tuple[int, datetime]]) -> None:
        """Dates subscriptions that have no due time yet."""
        await self._db.execute_many(
            "UPDATE subscriptions SET due_at = ? WHERE chat_id = ? AND active = 1"
            " AND due_at IS NULL",
            [(to_db_time(due), chat_id) for chat_id, due in moves],
        )

    async def migrate(self, old: int, new: int) -> None:
        await move_chat_subscriptions(self._db, old, new)

    async def claim_run(self, chat_id: int, period: str, *, now: datetime) -> bool:
        """True only for the one caller that created the pending run for this period."""
        created = await self._db.execute(
            "INSERT INTO digest_runs (chat_id, period, status, started_at)"
            " VALUES (?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            (chat_id, period, to_db_time(now)),
        )
        return created > 0

    async def complete_run(
        self, chat_id: int, period: str, *, now: datetime, last_article_id: int | None
    ) -> None:
        stamp = to_db_time(now)
        await self._db.execute(
            "INSERT INTO digest_runs (chat_id, period, status, started_at, finished_at,"
            " last_article_id) VALUES (?, ?, 'sent', ?, ?, ?)"
            " ON CONFLICT (chat_id, period) DO UPDATE SET status = 'sent',"
            " finished_at = excluded.finished_at, last_article_id = excluded.last_article_id",
            (chat_id, period, stamp, stamp, last_article_id),
        )

    async def run_status(self, chat_id: int, period: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT status FROM digest_runs WHERE chat_id = ? AND period = ?", (chat_id, period)
        )
        return row["status"] if row else None

    async def last_sent_at(self, chat_id: int) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT max(finished_at) FROM digest_runs WHERE chat_id = ? AND status = 'sent'",
            (chat_id,),
        )
        return from_db_time_or_none(row[0]) if row else None

    async def last_sent_many(self, chat_ids: Sequence[int]) -> dict[int, datetime]:
        """`last_sent_at` of many chats in one query; a chat never sent one is left out."""
        rows = await fetch_keyed(
            self._db,
            "SELECT chat_id, max(finished_at) FROM digest_runs"
            " WHERE status = 'sent' AND chat_id IN ({keys}) GROUP BY chat_id",
            chat_ids,
        )
        return {int(row[0]): from_db_time(row[1]) for row in rows if row[1] is not None}

    async def claim_runs(
        self, runs: Sequence[tuple[int, str]], *, now: datetime
    ) -> set[tuple[int, str]]:
        """`claim_run` of many (chat, period) runs in one statement: the ones this
        caller created, and so must send."""
        if not runs:
            return set()
        stamp = to_db_time(now)
        claimed: set[tuple[int, str]] = set()
        for start in range(0, len(runs), ROWS_PER_INSERT):
            chunk = runs[start : start + ROWS_PER_INSERT]
            values = ", ".join("(?, ?, 'pending', ?)" for _ in chunk)
            rows = await self._db.fetchall(
                "INSERT INTO digest_runs (chat_id, period, status, started_at)"
                f" VALUES {values} ON CONFLICT DO NOTHING RETURNING chat_id, period",
                [v for chat, period in chunk for v in (chat, period, stamp)],
            )
            claimed.update((int(row[0]), str(row[1])) for row in rows)
        return claimed

    async def pending_runs(self) -> list[tuple[int, str]]:
        rows = await self._db.fetchall(
            "SELECT chat_id, period FROM digest_runs WHERE status = 'pending'"
            " ORDER BY started_at, chat_id"
        )
        return [(row["chat_id"], row["period"]) for row in rows]
