"""The ledger of outgoing messages (table `outbox`).

A run (a digest, an alert, an answer of several parts) is recorded whole before its
first send, one row per message in order. A sender claims the head of a chat's queue
(its lowest pending row) with a lease, sends it, and marks it sent with Telegram's
message id. Only heads are claimed, so a chat's messages keep their order whichever
process sends them, and a claim is an atomic UPDATE, so no two senders hold one row:
on PostgreSQL the scan across chats skips rows another process has locked (`FOR UPDATE
SKIP LOCKED`) and the UPDATE re-checks the row; SQLite has one writer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from bot.models import OutboxMessage, OutboxPart
from storage.db import KEYS_PER_QUERY, Database, Row, fetch_keyed, from_db_time, to_db_time
from storage.memo import Memo

log = logging.getLogger(__name__)

_COLUMNS = (
    "id, chat_id, kind, ref, seq, text, markup, body_id, article_id, numbers, reply_to,"
    " thread_id, silent, attempts, created_at"
)
# Bodies (`outbox_bodies`) kept in memory by id: a body never changes, and a round sends
# one or two of them to every chat.
BODIES_KEPT = 256
# A message's body: its text and keyboard.
_Body = tuple[str, str | None]
# Still claimable: pending, and no live lease.
_FREE = "status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?)"
# The head of its chat's queue: no earlier pending row in that chat.
_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.chat_id = o.chat_id"
    " AND e.status = 'pending' AND e.id < o.id)"
)


@lru_cache(maxsize=256)
def _numbers(stored: str | None) -> tuple[tuple[int, int], ...]:
    """A message's story numbers, read once for the many chats a digest goes to."""
    return tuple((int(n), int(s)) for n, s in json.loads(stored)) if stored else ()


def _message(row: Row, bodies: Mapping[int, _Body]) -> OutboxMessage:
    body_id = row["body_id"]
    text, markup = (row["text"], row["markup"]) if body_id is None else bodies[body_id]
    return OutboxMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        ref=row["ref"],
        seq=row["seq"],
        part=OutboxPart(
            text,
            markup,
            row["article_id"],
            _numbers(row["numbers"]),
            row["reply_to"],
            thread_id=row["thread_id"],
            silent=bool(row["silent"]),
        ),
        attempts=row["attempts"],
        created_at=from_db_time(row["created_at"]),
    )


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One chat's digest as the round records it (`OutboxRepo.record_digests`)."""

    chat_id: int
    period: str
    parts: tuple[OutboxPart, ...]
    built_at: datetime
    last_article_id: int | None


def _body_hash(text: str, markup: str | None) -> str:
    return hashlib.sha256(json.dumps([text, markup], ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Run:
    """A run's messages as they are recorded: to one chat, of one kind and reference."""

    chat_id: int
    kind: str
    ref: str
    parts: Sequence[OutboxPart]


def _rows(run: _Run, stamp: str, body_ids: dict[_Body, int]) -> list[tuple[object, ...]]:
    return [
        (
            run.chat_id,
            run.kind,
            run.ref,
            seq,
            "",
            None,
            body_ids[p.text, p.markup],
            p.article_id,
            json.dumps(p.numbers) if p.numbers else None,
            p.reply_to,
            p.thread_id,
            1 if p.silent else None,
            stamp,
            stamp,
        )
        for seq, p in enumerate(run.parts)
    ]


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bodies: Memo[int, _Body] = Memo(BODIES_KEPT)

    @property
    def shared(self) -> bool:
        """Whether other processes may send from the same ledger."""
        return self._db.shared

    async def record(
        self,
        chat_id: int,
        kind: str,
        ref: str,
        parts: Sequence[OutboxPart],
        *,
        now: datetime,
    ) -> None:
        """Records a run's messages, due at once; recording the same run again adds
        nothing."""
        async with self._db.transaction():
            await self._insert([_Run(chat_id, kind, ref, parts)], to_db_time(now))

    async def _insert(self, runs: Sequence[_Run], stamp: str) -> None:
        """The runs' rows, each distinct text and keyboard stored once (inside the
        caller's transaction, so that the bodies they refer to stay)."""
        # Hashed once a distinct body: the runs of a page share a few texts, the same
        # strings, which the dict compares by identity.
        bodies = dict.fromkeys((p.text, p.markup) for run in runs for p in run.parts)
        body_ids = await self._store_bodies(list(bodies), stamp)
        await self._db.insert_rows(
            "INSERT INTO outbox (chat_id, kind, ref, seq, text, markup, body_id, article_id,"
            " numbers, reply_to, thread_id, silent, next_at, created_at)",
            [row for run in runs for row in _rows(run, stamp, body_ids)],
            "ON CONFLICT DO NOTHING",
        )

    async def _store_bodies(self, bodies: Sequence[_Body], stamp: str) -> dict[_Body, int]:
        """The ids of the distinct `bodies`: new ones added, known ones marked used now
        (housekeeping keeps a body recorded since its cut-off, `trim`)."""
        ids: dict[_Body, int] = {}
        for start in range(0, len(bodies), KEYS_PER_QUERY):
            chunk = {_body_hash(*body): body for body in bodies[start : start + KEYS_PER_QUERY]}
            marks = ", ".join("(?, ?, ?, ?)" for _ in chunk)
            rows = await self._db.fetchall(
                f"INSERT INTO outbox_bodies (hash, text, markup, used_at) VALUES {marks}"
                " ON CONFLICT (hash) DO UPDATE SET used_at = excluded.used_at"
                " RETURNING id, hash",
                [value for key, body in chunk.items() for value in (key, *body, stamp)],
            )
            # Not kept in memory from here: if the caller's transaction is undone, SQLite
            # gives a new body the same id again. Claims read committed ones.
            ids.update((chunk[row["hash"]], row["id"]) for row in rows)
        return ids

    async def _messages(self, rows: Sequence[Row]) -> list[OutboxMessage]:
        """The claimed rows as messages, in ledger order, the bodies not kept in memory
        read in one statement."""
        needed, missing = self._bodies.split(
            row["body_id"] for row in rows if row["body_id"] is not None
        )
        if missing:
            found = await fetch_keyed(
                self._db, "SELECT id, text, markup FROM outbox_bodies WHERE id IN ({keys})", missing
            )
            for row in found:
                needed[row["id"]] = body = (row["text"], row["markup"])
                self._bodies.put(row["id"], body)
        return sorted((_message(row, needed) for row in rows), key=lambda m: m.id)

    async def record_digest(
        self,
        chat_id: int,
        period: str,
        parts: Sequence[OutboxPart],
        *,
        now: datetime,
        built_at: datetime,
        last_article_id: int | None,
    ) -> None:
        """Records a digest's messages (at `now`) and completes its run in one
        transaction: the digest's watermark (`built_at`) moves with the record, so what
        it covers is never lost (nor put into the next digest) whatever the sends do."""
        await self.record_digests(
            [DigestRecord(chat_id, period, tuple(parts), built_at, last_article_id)], now=now
        )

    async def record_digests(
        self,
        digests: Sequence[DigestRecord],
        *,
        now: datetime,
        also: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`record_digest` of many chats (a page of the round) in one transaction, with
        `also` (what the chats were told of each story) in the same one."""
        stamp = to_db_time(now)
        async with self._db.transaction():
            await self._insert(
                [_Run(d.chat_id, "digest", d.period, d.parts) for d in digests], stamp
            )
            await self._db.insert_rows(
                "INSERT INTO digest_runs (chat_id, period, status, started_at, finished_at,"
                " last_article_id)",
                [
                    (d.chat_id, d.period, "sent", built, built, d.last_article_id)
                    for d in digests
                    for built in (to_db_time(d.built_at),)
                ],
                "ON CONFLICT (chat_id, period) DO UPDATE SET status = 'sent',"
                " finished_at = excluded.finished_at,"
                " last_article_id = excluded.last_article_id",
            )
            if also is not None:
                await also()

    async def claim_heads(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        """Claims the due head of up to `limit` chats' queues."""
        stamp = to_db_time(now)
        lock = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgres" else ""
        rows = await self._db.fetchall(
            f"UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT o.id FROM outbox AS o"
            f" WHERE o.{_FREE} AND o.next_at <= ? AND {_HEAD} ORDER BY o.id LIMIT ?{lock})"
            f" AND {_FREE} RETURNING {_COLUMNS}",
            (to_db_time(now + lease), stamp, stamp, limit, stamp),
        )
        return await self._messages(rows)

    async def claim_heads_of(
        self, chat_ids: Sequence[int], *, now: datetime, lease: timedelta
    ) -> list[OutboxMessage]:
        """`claim_head` of many chats in one statement (a page of the round)."""
        stamp = to_db_time(now)
        lock = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgres" else ""
        claimed: list[Row] = []
        chats = list(dict.fromkeys(chat_ids))
        for start in range(0, len(chats), KEYS_PER_QUERY):
            chunk = chats[start : start + KEYS_PER_QUERY]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._db.fetchall(
                f"UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT o.id FROM outbox AS o"
                f" WHERE o.chat_id IN ({marks}) AND o.{_FREE} AND o.next_at <= ? AND {_HEAD}"
                f"{lock}) AND {_FREE} RETURNING {_COLUMNS}",
                (to_db_time(now + lease), *chunk, stamp, stamp, stamp),
            )
            claimed.extend(rows)
        return await self._messages(claimed)

    async def claim_head(
        self, chat_id: int, *, now: datetime, lease: timedelta
    ) -> OutboxMessage | None:
        """Claims the chat's next message if it is due and nobody holds it."""
        stamp = to_db_time(now)
        row = await self._db.fetchone(
            "UPDATE outbox SET claimed_until = ? WHERE id = (SELECT min(id) FROM outbox"
            " WHERE chat_id = ? AND status = 'pending') AND next_at <= ?"
            f" AND {_FREE} RETURNING {_COLUMNS}",
            (to_db_time(now + lease), chat_id, stamp, stamp),
        )
        return (await self._messages([row]))[0] if row else None

    async def mark_sent(self, message_id: int, telegram_id: int, *, now: datetime) -> None:
        await self._db.execute(
            "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?,"
            " claimed_until = NULL WHERE id = ?",
            (telegram_id, to_db_time(now), message_id),
        )

    async def mark_sent_many(
        self,
        marks: Sequence[tuple[int, int]],
        *,
        now: datetime,
        lease: timedelta,
        next_of: Sequence[int] = (),
        also: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[int, OutboxMessage]:
        """Marks the messages (ledger id, Telegram's id) sent and claims the next due
        head of the chats `next_of`, in one transaction: a sender's group commit; `also`
        (what the messages meant) in the same one, its failure logged and undone alone.
        Returns the heads claimed, by chat."""
        stamp = to_db_time(now)
        async with self._db.transaction():
            await self._db.execute_many(
                "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?,"
                " claimed_until = NULL WHERE id = ?",
                [(telegram_id, stamp, message_id) for message_id, telegram_id in marks],
            )
            heads = await self.claim_heads_of(next_of, now=now, lease=lease) if next_of else []
            if also is not None:
                try:
                    async with self._db.transaction():  # a savepoint: the marks stay
                        await also()
                except Exception:
                    log.exception("what %d sent message(s) meant was not kept", len(marks))
        return {head.chat_id: head for head in heads}

    async def defer(self, message_id: int, *, until: datetime) -> None:
        """Gives the message back, to be tried again from `until`; the chat's later
        messages wait behind it."""
        await self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?, claimed_until = NULL"
            " WHERE id = ?",
            (to_db_time(until), message_id),
        )

    async def release(self, message_id: int) -> None:
        await self._db.execute(
            "UPDATE outbox SET claimed_until = NULL WHERE id = ? AND status = 'pending'",
            (message_id,),
        )

    async def release_all(self) -> int:
        """Frees every lease: at the start of the one process that uses a SQLite store,
        whatever is claimed was claimed by a process that is gone."""
        return await self._db.execute(
            "UPDATE outbox SET claimed_until = NULL"
            " WHERE status = 'pending' AND claimed_until IS NOT NULL"
        )

    async def drop(self, message_id: int) -> None:
        await self._db.execute(
            "UPDATE outbox SET status = 'dropped', claimed_until = NULL WHERE id = ?",
            (message_id,),
        )

    async def drop_chat(self, chat_id: int) -> int:
        """Drops every pending message to a chat that blocked or removed the bot."""
        return await self._db.execute(
            "UPDATE outbox SET status = 'dropped', claimed_until = NULL"
            " WHERE chat_id = ? AND status = 'pending'",
            (chat_id,),
        )

    async def migrate(self, old: int, new: int) -> None:
        """A group became a supergroup: its pending messages follow it."""
        await self._db.execute(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND status = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM outbox AS n WHERE n.chat_id = ?"
            " AND n.kind = outbox.kind AND n.ref = outbox.ref AND n.seq = outbox.seq)",
            (new, old, new),
        )

    async def next_due(self, *, now: datetime) -> datetime | None:
        """When the earliest unclaimed head of a queue may be tried (None: none)."""
        row = await self._db.fetchone(
            f"SELECT min(o.next_at) FROM outbox AS o WHERE o.{_FREE} AND {_HEAD}",
            (to_db_time(now),),
        )
        return from_db_time(row[0]) if row and row[0] is not None else None

    async def pending(self, chat_id: int | None = None) -> int:
        if chat_id is None:
            row = await self._db.fetchone("SELECT count(*) FROM outbox WHERE status = 'pending'")
        else:
            row = await self._db.fetchone(
                "SELECT count(*) FROM outbox WHERE status = 'pending' AND chat_id = ?",
                (chat_id,),
            )
        return int(row[0]) if row else 0

    async def statuses(self, chat_id: int) -> list[tuple[str, str, int, str]]:
        """(kind, ref, seq, status) of every recorded message to the chat, in order."""
        rows = await self._db.fetchall(
            "SELECT kind, ref, seq, status FROM outbox WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        )
        return [(r["kind"], r["ref"], r["seq"], r["status"]) for r in rows]

    async def trim(self, before: datetime) -> int:
        """Forgets sent and dropped messages recorded before `before`, and the bodies no
        message refers to any more that were not recorded since."""
        stamp = to_db_time(before)
        async with self._db.transaction():
            trimmed = await self._db.execute(
                "DELETE FROM outbox WHERE status <> 'pending' AND created_at < ?", (stamp,)
            )
            await self._db.execute(
                "DELETE FROM outbox_bodies WHERE used_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM outbox WHERE outbox.body_id = outbox_bodies.id)",
                (stamp,),
            )
        return trimmed
