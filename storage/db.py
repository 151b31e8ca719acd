"""The store's connection: one interface, with a SQLite (`storage.sqlite`) and a
PostgreSQL (`storage.postgres`) implementation behind it.

Repositories write their SQL once, for both: `?` placeholders, rows read by column name
or index, `transaction()` for statements that must land together. Where the dialects
really differ (full-text search, a few functions), a repository asks `db.dialect`.
Times are stored as fixed-width UTC ISO text on both backends (`to_db_time`), so text
order is time order and no value needs converting between them.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from bot.clock import as_utc

if TYPE_CHECKING:
    from bot.config import Settings

Params = Sequence[object]
# Rows of one multi-row INSERT (`Database.insert_rows`): well within both backends'
# limits on a statement's parameters (SQLite 32,766, PostgreSQL 32,767) at 13 columns.
ROWS_PER_INSERT = 200
# Parameters one statement may carry on either backend, with a margin.
PARAMETERS = 30_000
Dialect = Literal["sqlite", "postgres"]


class Row(Protocol):
    """A result row: `row["title"]` or `row[0]` (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...


def to_db_time(value: datetime) -> str:
    """UTC ISO string of fixed width, so that text order is time order; naive means UTC."""
    return as_utc(value).isoformat(timespec="microseconds")


# Rows read together share their times (a round's ledger rows were recorded in one
# instant, its due subscriptions are due at one minute): each distinct one read once.
@lru_cache(maxsize=1024)
def from_db_time(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value))


def from_db_time_or_none(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def is_postgres_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class StoreUnavailable(Exception):
    """The store cannot be reached or opened (a server down, a wrong password)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class StoreFileRefused(StoreUnavailable):
    """The SQLite file is there but unusable: `problem` is "empty" (zero bytes, which
    SQLite would silently turn into a new, empty store), "damaged" (not a database, or
    a broken one) or "readonly" (the bot could not write to it)."""

    def __init__(self, path: str, problem: str, reason: str = "") -> None:
        super().__init__(path, reason or problem)
        self.problem = problem


class LeaderLock(ABC):
    """The store's side of leader election (see bot.leader): at most one holder at a time
    across every process that shares the store."""

    @abstractmethod
    async def acquire(self) -> bool:
        """One attempt; True when this process holds the lock now."""

    @abstractmethod
    async def held(self) -> bool:
        """Whether the lock is still ours (a lost connection loses it)."""

    @abstractmethod
    async def release(self) -> None: ...


# Keys in one `IN (…)` list of `fetch_keyed`: a page of due chats in one statement.
KEYS_PER_QUERY = 500


async def fetch_keyed(
    db: Database, sql: str, keys: Sequence[object], params: Params = ()
) -> list[Row]:
    """`sql` with `{keys}` standing for an `IN` list of `keys` (after `params`), in as
    few statements as the parameter limits allow: one for a page of chats."""
    found: list[Row] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), KEYS_PER_QUERY):
        chunk = unique[start : start + KEYS_PER_QUERY]
        marks = ", ".join("?" for _ in chunk)
        found.extend(await db.fetchall(sql.format(keys=marks), (*params, *chunk)))
    return found


async def move_chat_rows(db: Database, table: str, key: str, old: int, new: int) -> None:
    """Moves a chat's rows of `table` to its new id (group -> supergroup), but those
    whose `key` the new id has already: written after the migration, they win."""
    await db.execute(
        f"UPDATE {table} SET chat_id = ? WHERE chat_id = ? AND {key} NOT IN"
        f" (SELECT {key} FROM {table} WHERE chat_id = ?)",
        (new, old, new),
    )
    await db.execute(f"DELETE FROM {table} WHERE chat_id = ?", (old,))


class Database(ABC):
    """One store, shared by every task of the process.

    A transaction belongs to the task that opened it: that task's statements run inside
    it, everyone else's outside it, and a nested `transaction()` in the same task is a
    savepoint. Reads outside a transaction do not wait behind another task's long query
    (SQLite: reader connections beside the writer; PostgreSQL: a pool).
    """

    dialect: ClassVar[Dialect]
    # Whether other processes may write the same store, so rows kept in memory can go
    # stale (PostgreSQL: several bot processes; SQLite: this process only).
    shared: ClassVar[bool]
    # What a failed statement raises, for the few callers that recover from one.
    errors: ClassVar[tuple[type[Exception], ...]]
    # The schema version found when the store was opened, before migrating it.
    migrated_from: int = 0

    @classmethod
    async def open(cls, target: Path | str) -> Database:
        """The store at a SQLite path or a postgresql:// URL, migrated to this code's schema."""
        if is_postgres_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target))
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(target)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for people: a path, or a host and database (no password)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Commits when the block ends, rolls back on any exception."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs one statement; returns the number of rows it changed."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        """Runs one statement for each row of parameters, all or none."""

    async def insert_rows(self, head: str, rows: Sequence[Params], tail: str = "") -> None:
        """`head` ("INSERT INTO t (a, b)") for all `rows` in one multi-row VALUES
        statement, then `tail` (an ON CONFLICT clause): one round trip to the store
        rather than a transaction around one statement a row; all or none, like
        `execute_many`. Rows must not conflict with one another."""
        if not rows:
            return
        marks = "(" + ", ".join("?" * len(rows[0])) + ")"
        chunks = [rows[i : i + ROWS_PER_INSERT] for i in range(0, len(rows), ROWS_PER_INSERT)]

        def statement(chunk: Sequence[Params]) -> tuple[str, list[object]]:
            values = ", ".join([marks] * len(chunk))
            return f"{head} VALUES {values} {tail}".rstrip(), [v for row in chunk for v in row]

        if len(chunks) == 1:
            await self.execute(*statement(chunks[0]))
            return
        async with self.transaction():
            for chunk in chunks:
                await self.execute(*statement(chunk))

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def leader_lock(self, name: str) -> LeaderLock:
        """A lock named `name` that at most one process sharing this store holds."""


async def open_database(settings: Settings) -> Database:
    """The store the settings name: PostgreSQL at DATABASE_URL, else SQLite at DATABASE_PATH."""
    if settings.database_url is not None:
        return await Database.open(settings.database_url.get_secret_value())
    return await Database.open(settings.database_path)
