"""Stories in the store: the `stories` table, each article's story, what each chat was
sent of a story, and which story each number of a sent message meant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.nlp.stories.features import Features
from storage.db import (
    KEYS_PER_QUERY,
    PARAMETERS,
    Database,
    Row,
    advisory_key,
    from_db_time,
    from_db_time_or_none,
    move_chat_rows,
    to_db_time,
)

# Held (PostgreSQL) for the length of one assignment's transaction: two processes must
# not both start a story for one event.
_ASSIGN_LOCK = advisory_key("svodka.stories.assign")


@dataclass(frozen=True, slots=True)
class Placed:
    """An article with its story, as the clusterer is rebuilt from it."""

    article_id: int
    story_id: int
    seq: int
    features: Features


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An article stored before stories were kept (or before its assignment finished)."""

    article_id: int
    title: str
    text: str
    source: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Member:
    """What ranking needs of each article of a story."""

    article_id: int
    story_id: int
    source: str
    time: datetime
    added_at: datetime


@dataclass(frozen=True, slots=True)
class SentStory:
    articles: int
    outlets: int


async def move_chat_stories(db: Database, old: int, new: int) -> None:
    """Moves what a chat was sent of each story, and what the numbers of its messages
    meant, to its new id (group -> supergroup). Rows the new id already has win."""
    async with db.transaction():
        await move_chat_rows(db, "digest_stories", "story_id", old, new)
        await db.execute(
            "UPDATE message_stories SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM message_stories AS n WHERE n.chat_id = ?"
            " AND n.message_id = message_stories.message_id"
            " AND n.number = message_stories.number)",
            (new, old, new),
        )
        await db.execute("DELETE FROM message_stories WHERE chat_id = ?", (old,))


class StoryRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def assigning(self) -> AsyncIterator[None]:
        """One assignment's transaction; on PostgreSQL, serialized across processes."""
        async with self._db.transaction():
            if self._db.dialect == "postgres":
                await self._db.fetchall("SELECT pg_advisory_xact_lock(?)", (_ASSIGN_LOCK,))
            yield

    async def new_story(self, moment: datetime) -> int:
        row = await self._db.fetchone(
            "INSERT INTO stories (first_at, latest_at) VALUES (?, ?) RETURNING id",
            (to_db_time(moment), to_db_time(moment)),
        )
        assert row is not None
        return int(row[0])

    async def place(self, article_id: int, story_id: int, features: Features) -> int:
        """Records the article's story; returns its assignment number."""
        return (await self.place_many([(article_id, story_id, features)]))[-1]

    async def place_many(self, placements: Sequence[tuple[int, int, Features]]) -> list[int]:
        """Records each (article, story, features), in order; returns their assignment
        numbers. Inside `assigning()`, so the numbers are not taken meanwhile."""
        first = await self.last_seq() + 1
        seqs = list(range(first, first + len(placements)))
        await self._db.execute_many(
            "UPDATE articles SET story_id = ?, story_seq = ?, story_features = ? WHERE id = ?",
            [
                (story_id, seq, json.dumps(features.to_json(), ensure_ascii=False), article_id)
                for seq, (article_id, story_id, features) in zip(seqs, placements, strict=True)
            ],
        )
        spans: dict[int, tuple[str, str]] = {}
        for _, story_id, features in placements:
            moment = to_db_time(features.time)
            low, high = spans.get(story_id, (moment, moment))
            spans[story_id] = (min(low, moment), max(high, moment))
        await self._db.execute_many(
            "UPDATE stories SET"
            " first_at = CASE WHEN first_at < ? THEN first_at ELSE ? END,"
            " latest_at = CASE WHEN latest_at > ? THEN latest_at ELSE ? END"
            " WHERE id = ?",
            [(low, low, high, high, key) for key, (low, high) in spans.items()],
        )
        return seqs

    async def last_seq(self) -> int:
        row = await self._db.fetchone("SELECT coalesce(max(story_seq), 0) FROM articles")
        return int(row[0]) if row else 0

    async def newest_time(self) -> datetime | None:
        row = await self._db.fetchone("SELECT max(latest_at) FROM stories")
        return from_db_time_or_none(row[0]) if row else None

    async def open_members(self, horizon: datetime, stored_after: datetime) -> list[Placed]:
        """The articles of stories whose latest article is after `horizon`, or which
        gained an article stored after `stored_after`, in the order they were assigned."""
        rows = await self._db.fetchall(
            "SELECT a.id, a.story_id, a.story_seq, a.story_features FROM articles AS a"
            " WHERE a.story_features IS NOT NULL AND a.story_id IN ("
            " SELECT id FROM stories WHERE latest_at >= ?"
            " UNION SELECT story_id FROM articles WHERE added_at >= ? AND story_id IS NOT NULL)"
            " ORDER BY a.story_seq",
            (to_db_time(horizon), to_db_time(stored_after)),
        )
        return [_placed(row) for row in rows]

    async def placed_after(self, seq: int) -> list[Placed]:
        """Assignments made after `seq` (by other processes sharing the store)."""
        rows = await self._db.fetchall(
            "SELECT id, story_id, story_seq, story_features FROM articles"
            " WHERE story_seq > ? AND story_features IS NOT NULL ORDER BY story_seq",
            (seq,),
        )
        return [_placed(row) for row in rows]

    async def unplaced(self, *, limit: int = 500) -> list[Unplaced]:
        """Articles without a story, oldest first (by publication, else store time)."""
        rows = await self._db.fetchall(
            "SELECT id, title, text, source, coalesce(published_at, added_at) AS moment"
            " FROM articles WHERE story_id IS NULL ORDER BY moment, id LIMIT ?",
            (limit,),
        )
        return [
            Unplaced(row["id"], row["title"], row["text"], row["source"], from_db_time(row[4]))
            for row in rows
        ]

    async def members_added_since(self, since: datetime, until: datetime) -> list[Member]:
        """Every article of the stories that gained an article stored in (since, until]."""
        rows = await self._db.fetchall(
            "SELECT a.id, a.story_id, a.source, coalesce(a.published_at, a.added_at),"
            " a.added_at FROM articles AS a WHERE a.story_id IN"
            " (SELECT DISTINCT story_id FROM articles WHERE added_at > ? AND added_at <= ?"
            " AND story_id IS NOT NULL) AND a.added_at <= ?",
            (to_db_time(since), to_db_time(until), to_db_time(until)),
        )
        return [_member(row) for row in rows]

    async def members_of(self, story_id: int) -> list[Member]:
        rows = await self._db.fetchall(
            "SELECT id, story_id, source, coalesce(published_at, added_at), added_at"
            " FROM articles WHERE story_id = ?",
            (story_id,),
        )
        return [_member(row) for row in rows]

    async def latest(self, limit: int) -> list[int]:
        """The stories whose latest article is the newest, newest first."""
        rows = await self._db.fetchall(
            "SELECT id FROM stories ORDER BY latest_at DESC, id DESC LIMIT ?", (max(limit, 0),)
        )
        return [int(row[0]) for row in rows]

    async def story_of(self, article_id: int) -> int | None:
        row = await self._db.fetchone("SELECT story_id FROM articles WHERE id = ?", (article_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def newest_added(self) -> datetime | None:
        row = await self._db.fetchone("SELECT max(added_at) FROM articles")
        return from_db_time_or_none(row[0]) if row else None

    # --- what chats were sent ---------------------------------------------------------

    async def sent(self, chat_id: int, story_ids: Sequence[int]) -> dict[int, SentStory]:
        if not story_ids:
            return {}
        marks = ", ".join("?" for _ in story_ids)
        rows = await self._db.fetchall(
            "SELECT story_id, articles, outlets FROM digest_stories"
            f" WHERE chat_id = ? AND story_id IN ({marks})",
            (chat_id, *story_ids),
        )
        return {int(r[0]): SentStory(int(r[1]), int(r[2])) for r in rows}

    async def sent_many(
        self, chat_ids: Sequence[int], story_ids: Sequence[int]
    ) -> dict[int, dict[int, SentStory]]:
        """`sent` of many chats, for the same stories, in one query (a page of chats)."""
        found: dict[int, dict[int, SentStory]] = {chat: {} for chat in chat_ids}
        stories = list(dict.fromkeys(story_ids))
        if not stories or not chat_ids:
            return found
        story_marks = ", ".join("?" for _ in stories)
        # Chats and stories share the statement's parameter limit.
        step = max(1, min(KEYS_PER_QUERY, PARAMETERS - len(stories)))
        chats = list(found)
        for start in range(0, len(chats), step):
            chunk = chats[start : start + step]
            rows = await self._db.fetchall(
                "SELECT chat_id, story_id, articles, outlets FROM digest_stories"
                f" WHERE chat_id IN ({', '.join('?' for _ in chunk)})"
                f" AND story_id IN ({story_marks})",
                (*chunk, *stories),
            )
            for r in rows:
                found[int(r[0])][int(r[1])] = SentStory(int(r[2]), int(r[3]))
        return found

    async def record_sent(
        self, chat_id: int, sizes: Sequence[tuple[int, int, int]], *, now: datetime
    ) -> None:
        """(story id, articles, outlets) of each story a digest to the chat showed."""
        await self.record_sent_many([(chat_id, sizes)], now=now)

    async def record_sent_many(
        self, sent: Sequence[tuple[int, Sequence[tuple[int, int, int]]]], *, now: datetime
    ) -> None:
        """`record_sent` of many chats' digests in one statement (a page of chats)."""
        # One row a story: the last size told of it, as one statement a row would leave.
        latest = {
            (chat_id, story): (articles, outlets)
            for chat_id, sizes in sent
            for story, articles, outlets in sizes
        }
        stamp = to_db_time(now)
        await self._db.insert_rows(
            "INSERT INTO digest_stories (chat_id, story_id, articles, outlets, sent_at)",
            [(chat, s, a, o, stamp) for (chat, s), (a, o) in latest.items()],
            "ON CONFLICT (chat_id, story_id) DO UPDATE SET"
            " articles = excluded.articles, outlets = excluded.outlets,"
            " sent_at = excluded.sent_at",
        )

    async def remember_numbers(
        self, chat_id: int, message_id: int, numbers: Sequence[tuple[int, int]]
    ) -> None:
        """(number, story id): which story each number of the message means."""
        await self.remember_numbers_many([(chat_id, message_id, numbers)])

    async def remember_numbers_many(
        self, messages: Sequence[tuple[int, int, Sequence[tuple[int, int]]]]
    ) -> None:
        """`remember_numbers` of many messages (chat, message id, numbers) at once."""
        rows = {
            (chat_id, message_id, n): s
            for chat_id, message_id, numbers in messages
            for n, s in numbers
        }
        await self._db.insert_rows(
            "INSERT INTO message_stories (chat_id, message_id, number, story_id)",
            [(chat, message, n, s) for (chat, message, n), s in rows.items()],
            "ON CONFLICT DO NOTHING",
        )

    async def numbered(self, chat_id: int, number: int, message_id: int | None) -> int | None:
        """The story `number` meant in the message (or in the chat's latest numbered one)."""
        if message_id is not None:
            row = await self._db.fetchone(
                "SELECT story_id FROM message_stories"
                " WHERE chat_id = ? AND message_id = ? AND number = ?",
                (chat_id, message_id, number),
            )
        else:
            row = await self._db.fetchone(
                "SELECT story_id FROM message_stories WHERE chat_id = ? AND number = ?"
                " ORDER BY message_id DESC LIMIT 1",
                (chat_id, number),
            )
        return None if row is None else int(row[0])

    async def has_numbers(self, chat_id: int, message_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM message_stories WHERE chat_id = ? AND message_id = ? LIMIT 1",
            (chat_id, message_id),
        )
        return row is not None


def _placed(row: Row) -> Placed:
    return Placed(
        article_id=int(row[0]),
        story_id=int(row[1]),
        seq=int(row[2]),
        features=Features.from_json(json.loads(row[3])),
    )


def _member(row: Row) -> Member:
    return Member(
        article_id=int(row[0]),
        story_id=int(row[1]),
        source=str(row[2]),
        time=from_db_time(row[3]),
        added_at=from_db_time(row[4]),
    )
