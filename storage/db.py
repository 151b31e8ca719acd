"""The one SQLite connection of the process, its pragmas, transactions and migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Self

import aiosqlite

from bot.clock import as_utc
from storage.schema import migrate

Params = Sequence[object]


def to_db_time(value: datetime) -> str:
    """UTC ISO string of fixed width, so that text order is time order; naive means UTC."""
    return as_utc(value).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value))


def from_db_time_or_none(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


class Database:
    """Owns one aiosqlite connection; every statement goes through it.

    Coroutines share the connection, so a transaction would otherwise swallow the
    statements other tasks run while it is open. A lock held by the task that owns the
    transaction keeps them out until it commits; single statements take it briefly.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path | str) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        if str(path) != ":memory:":
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves instead of the
        # sqlite3 module's implicit transactions.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        if self._owner is not None and self._owner is asyncio.current_task():
            yield
            return
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                yield
            finally:
                self._owner = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception.

        Nested use inside the same task becomes a savepoint, so an inner failure that
        the caller catches undoes only the inner block.
        """
        async with self._exclusive():
            depth = self._depth
            savepoint = f"sp{depth}"
            await self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth = depth
                if self._conn.in_transaction:
                    if depth == 0:
                        await self._conn.execute("ROLLBACK")
                    else:
                        await self._conn.execute(f"ROLLBACK TO {savepoint}")
                        await self._conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth = depth
            if depth > 0:
                await self._conn.execute(f"RELEASE {savepoint}")
                return
            try:
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs one statement; returns the number of rows it changed."""
        async with self._exclusive():
            # One trip to the database thread, not two (execute, then cursor.close):
            # the count comes from the connection's running total, read under the lock.
            # Triggers and cascades count too; only deletes of articles have them, and
            # their callers ask "any?", not "how many?".
            before = self._conn.total_changes
            await self._conn.execute_fetchall(sql, params)
            return self._conn.total_changes - before

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        """Runs one statement for each row of parameters, in one trip to the database
        thread."""
        async with self._exclusive():
            await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._exclusive():
            # Always read to the end: a RETURNING statement left half-read would keep
            # its write transaction open.
            rows = await self._conn.execute_fetchall(sql, params)
            return list(rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None
