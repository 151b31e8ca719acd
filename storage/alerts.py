"""Alerts: which chats were told of which stored article, and how far the alerts got
through the story placements (`articles.story_seq`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Followed, OutboxPart
from storage.db import Database, from_db_time, to_db_time
from storage.outbox import OutboxRepo

# The one progress row: the last placement the alerts looked at.
_PROGRESS = "alerts"


@dataclass(frozen=True, slots=True)
class Placement:
    """A stored article put into its story, in the order stories were assigned."""

    seq: int
    article_id: int
    story_id: int
    # Whether the story had articles placed before this one (an update).
    update: bool


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One chat's alert of one article: sent (`parts` recorded in the ledger) or held
    back by the hourly cap (no parts)."""

    chat_id: int
    held: bool
    parts: Sequence[OutboxPart] = ()


def _in(values: Collection[int]) -> str:
    return ", ".join("?" for _ in values)


class AlertRepo:
    def __init__(self, db: Database, ledger: OutboxRepo) -> None:
        self._db = db
        self._ledger = ledger

    async def progress(self) -> int | None:
        """The last placement looked at; None before the first pass."""
        row = await self._db.fetchone("SELECT seq FROM alert_progress WHERE name = ?", (_PROGRESS,))
        return int(row[0]) if row else None

    async def set_progress(self, seq: int) -> None:
        await self._db.execute(
            "INSERT INTO alert_progress (name, seq) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            (_PROGRESS, seq),
        )

    async def placements_after(self, seq: int, *, limit: int) -> list[Placement]:
        """The placements after `seq`, oldest first, each saying whether its story had
        an article placed before it."""
        rows = await self._db.fetchall(
            "SELECT a.story_seq, a.id, a.story_id, EXISTS (SELECT 1 FROM articles AS b"
            " WHERE b.story_id = a.story_id AND b.story_seq < a.story_seq) AS earlier"
            " FROM articles AS a WHERE a.story_seq > ? AND a.story_id IS NOT NULL"
            " ORDER BY a.story_seq LIMIT ?",
            (seq, limit),
        )
        return [Placement(int(row[0]), int(row[1]), int(row[2]), bool(row[3])) for row in rows]

    async def alerting_interests(self) -> dict[int, list[Followed]]:
        """The interests of the chats with alerts on (or on updates too)."""
        rows = await self._db.fetchall(
            "SELECT i.chat_id, i.key, i.kind, i.term FROM chat_interests AS i"
            " JOIN chats AS c ON c.chat_id = i.chat_id"
            " WHERE c.alerts IN ('on', 'updates') ORDER BY i.chat_id, i.id"
        )
        found: dict[int, list[Followed]] = {}
        for row in rows:
            found.setdefault(int(row["chat_id"]), []).append(
                Followed(key=row["key"], kind=row["kind"], term=row["term"])
            )
        return found

    async def muting(self, source: str, chat_ids: Collection[int]) -> set[int]:
        """Which of the chats turned the outlet `source` off."""
        if not chat_ids or not source:
            return set()
        rows = await self._db.fetchall(
            f"SELECT chat_id FROM muted_sources WHERE source = ? AND chat_id IN ({_in(chat_ids)})",
            (source, *chat_ids),
        )
        return {int(row[0]) for row in rows}

    async def alerted(self, story_id: int, chat_ids: Collection[int]) -> set[int]:
        """Which of the chats already had an alert of the story (or one held back)."""
        if not chat_ids:
            return set()
        rows = await self._db.fetchall(
            f"SELECT DISTINCT chat_id FROM story_alerts WHERE story_id = ?"
            f" AND chat_id IN ({_in(chat_ids)})",
            (story_id, *chat_ids),
        )
        return {int(row[0]) for row in rows}

    async def sent_since(
        self, chat_ids: Collection[int], since: datetime
    ) -> dict[int, list[datetime]]:
        """When each of the chats was sent alerts after `since` (held ones not counted)."""
        if not chat_ids:
            return {}
        rows = await self._db.fetchall(
            f"SELECT chat_id, created_at FROM story_alerts WHERE held = 0 AND created_at > ?"
            f" AND chat_id IN ({_in(chat_ids)})",
            (to_db_time(since), *chat_ids),
        )
        found: dict[int, list[datetime]] = {}
        for row in rows:
            found.setdefault(int(row[0]), []).append(from_db_time(row[1]))
        return found

    async def record(
        self, placement: Placement, alerts: Sequence[AlertRecord], *, now: datetime
    ) -> None:
        """Records the placement's alerts, their messages in the ledger (kind "alert"),
        and the progress past it, in one transaction: a crash leaves all or none, and
        doing it again adds nothing."""
        stamp = to_db_time(now)
        async with self._db.transaction():
            if alerts:
                await self._db.execute_many(
                    "INSERT INTO story_alerts (chat_id, story_id, article_id, held, created_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        (a.chat_id, placement.story_id, placement.article_id, int(a.held), stamp)
                        for a in alerts
                    ],
                )
            ref = f"{placement.story_id}:{placement.article_id}"
            for alert in alerts:
                if alert.parts:
                    await self._ledger.record(alert.chat_id, "alert", ref, alert.parts, now=now)
            await self.set_progress(placement.seq)
