"""The store in one SQLite file: a writer connection, and reader connections beside it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiosqlite

from storage.db import Database, LeaderLock, Params, Row, StoreFileRefused
from storage.schema import migrate

# Reads run on these while the writer writes, and while another reader is busy with a
# long search. Each is a thread and a page cache; a few cover a 2-core machine.
READERS = 3


def _is_query(sql: str) -> bool:
    # Only plain SELECTs may go to a reader; PRAGMAs and RETURNING statements go to
    # the writer, whose connection they are about or which they change.
    return sql.lstrip()[:6].upper() == "SELECT"


class _OneProcessLeads(LeaderLock):
    """A SQLite store has one bot process, which always leads."""

    async def acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def snapshot(source: Path, target: Path) -> sqlite3.Connection:
    """Copies the store at `source` into a new file `target` through SQLite's online
    backup API: one consistent snapshot, also while the bot keeps writing (WAL readers
    do not block the writer). Returns a connection to the copy; raises sqlite3.Error."""
    # Read-only: a copy must not be able to change the store it copies.
    live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)
        except BaseException:
            copy.close()
            raise
        return copy
    finally:
        live.close()


def _refuse_unusable(path: Path) -> None:
    """A file SQLite would misuse: zero bytes (it would become a new empty store, and
    whatever the file was meant to hold would look lost) or one nobody may write (the
    bot would fail at its first write, or root would write to it anyway)."""
    if not path.is_file():
        return
    if path.stat().st_size == 0:
        raise StoreFileRefused(str(path), "empty")
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        raise StoreFileRefused(str(path), "readonly")


async def _connect(path: Path | str) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves instead of the sqlite3
    # module's implicit transactions.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


class SqliteDatabase(Database):
    """Every write goes through one connection, the writer; reads outside a transaction
    go to an idle reader connection, so they see what is committed and wait for no
    write and no other read.

    Coroutines share the writer, so a transaction would otherwise swallow the
    statements other tasks run while it is open. A lock held by the task that owns the
    transaction keeps them out until it commits; single statements take it briefly.
    That task's own reads go to the writer too, so they see its uncommitted rows.
    """

    dialect = "sqlite"
    shared = False
    errors = (sqlite3.Error,)

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path | str,
        readers: Sequence[aiosqlite.Connection] = (),
    ) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0
        self._readers = list(readers)
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in self._readers:
            self._idle.put_nowait(reader)

    @classmethod
    async def connect(cls, path: Path | str, *, readers: int = READERS) -> SqliteDatabase:
        """Opens (creating the file and its folder) and migrates the store. With
        `readers=0`, or for ":memory:", every statement goes through the writer."""
        memory = str(path) == ":memory:"
        if not memory:
            path = Path(path)
            _refuse_unusable(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return await cls._open(path, memory, readers)
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                raise
            raise StoreFileRefused(str(path), "readonly", str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            # "file is not a database", "database disk image is malformed": its pages
            # are not SQLite's, and writing to it would only make it worse.
            raise StoreFileRefused(str(path), "damaged", str(exc)) from exc

    @classmethod
    async def _open(cls, path: Path | str, memory: bool, readers: int) -> SqliteDatabase:
        conn = await _connect(path)
        opened = [conn]
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA synchronous = NORMAL")
            start = await migrate(conn)
            for _ in range(0 if memory else readers):
                reader = await _connect(path)
                opened.append(reader)
                await reader.execute("PRAGMA busy_timeout = 5000")
                # A write sent here by mistake fails loudly instead of racing the writer.
                await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            for each in opened:
                await each.close()
            raise
        db = cls(conn, path, opened[1:])
        db.migrated_from = start
        return db

    async def close(self) -> None:
        for reader in self._readers:
            await reader.close()
        await self._conn.close()

    def describe(self) -> str:
        return f"SQLite {self.path}"

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    def leader_lock(self, name: str) -> LeaderLock:
        return _OneProcessLeads()

    def _in_transaction(self) -> bool:
        return self._depth > 0 and self._owner is asyncio.current_task()

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
            try:
                await self._conn.execute(
                    "BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}"
                )
            except BaseException:
                # Cancelled on its way, the statement still runs on the connection's
                # thread: undone right after it (the thread runs calls in order), or the
                # next transaction would find this one open. A savepoint goes with the
                # transaction around it, which this exception leaves too.
                if depth == 0:
                    await self._rollback()
                raise
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth = depth
                if self._conn.in_transaction:
                    if depth == 0:
                        await self._rollback()
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
                # Cancelled on its way, the COMMIT may still be carried out: then there is
                # nothing left to roll back.
                if self._conn.in_transaction:
                    await self._rollback()
                raise

    async def _rollback(self) -> None:
        """ROLLBACK of whatever transaction is open when it runs (none: nothing to do),
        carried out even if the caller is cancelled meanwhile."""
        with suppress(sqlite3.OperationalError):
            await asyncio.shield(self._conn.execute("ROLLBACK"))

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._exclusive():
            # One trip to the database thread, not two (execute, then cursor.close):
            # the count comes from the connection's running total, read under the lock.
            # Triggers and cascades count too; only deletes of articles have them, and
            # their callers ask "any?", not "how many?".
            before = self._conn.total_changes
            await self._conn.execute_fetchall(sql, params)
            return self._conn.total_changes - before

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        async with self.transaction():
            await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        if self._readers and _is_query(sql) and not self._in_transaction():
            reader = await self._idle.get()
            try:
                return list(await reader.execute_fetchall(sql, params))
            finally:
                # Also when cancelled: aiosqlite runs the connection's calls one after
                # another on its thread, so the next user simply queues behind this one.
                self._idle.put_nowait(reader)
        async with self._exclusive():
            # Always read to the end: a RETURNING statement left half-read would keep
            # its write transaction open.
            return list(await self._conn.execute_fetchall(sql, params))
