"""The store on PostgreSQL (asyncpg): a pool of connections, shared by several bot processes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.db import Database, LeaderLock, Params, Row, StoreUnavailable, advisory_key
from storage.schema import migrate_postgres

log = logging.getLogger(__name__)

# Connections per process. Every process of the bot has its own pool (and one more
# connection for leader election): N processes need N * (POOL_SIZE + 1) of the server's
# max_connections (100 by default).
POOL_SIZE = 10
# How long closing waits for borrowed connections before it cuts them.
CLOSE_WITHIN = 10.0

# A leader whose host drops off the network holds its lock until the server notices:
# TCP keepalives make that about 11 s (5 idle, then 3 probes 2 s apart). The leader
# checks its own connection more often than that (bot.leader), so it stops leading
# before anyone else can start.
_KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}

# asyncpg prepares every statement. After a few runs PostgreSQL may plan one for any
# parameters instead of the ones given ("generic plan"), and a search would then read
# the GIN index for the commonest word as for the rarest. Planning each run costs well
# under a millisecond for the store's statements. JIT compilation is for long analytic
# queries: it starts on a cost estimate alone, and a misjudged short statement would
# spend longer compiling than running.
_SESSION = {"plan_cache_mode": "force_custom_plan", "jit": "off"}

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")


@lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """The repositories' `?` placeholders as `$1, $2, …`; quoted text and comments stay."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _changed(status: str) -> int:
    # asyncpg returns the command tag: "INSERT 0 1", "UPDATE 3", "DELETE 0", "CREATE TABLE".
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def describe_url(url: str) -> str:
    """host:port/database of a postgresql:// URL, without user or password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL {host}{port}{parts.path or '/'}"


async def connect_once(url: str, **kwargs: Any) -> asyncpg.Connection:
    """One connection; an unreachable server, a wrong password or a missing database is
    a StoreUnavailable with the server's reason."""
    try:
        return await asyncpg.connect(url, **kwargs)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreUnavailable(describe_url(url), str(exc) or type(exc).__name__) from exc


class _AdvisoryLock(LeaderLock):
    """A session-level advisory lock on a connection of its own, outside the pool: the
    lock lives exactly as long as that session, so a process that dies (or loses the
    server) frees it without anyone's help."""

    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._key = advisory_key(name)
        self._conn: asyncpg.Connection | None = None
        self._ours = False

    async def acquire(self) -> bool:
        if self._ours and await self.held():
            return True
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect_once(self._url, server_settings=_KEEPALIVE)
        self._ours = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key))
        return self._ours

    async def held(self, timeout: float = 2.0) -> bool:
        if not self._ours or self._conn is None or self._conn.is_closed():
            self._ours = False
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("lost the connection that holds the leader lock")
            self._ours = False
            self._conn.terminate()
            return False
        return True

    async def release(self) -> None:
        conn, self._conn, held = self._conn, None, self._ours
        self._ours = False
        if conn is None or conn.is_closed():
            return
        try:
            if held:
                await conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        finally:
            await conn.close()


class PostgresDatabase(Database):
    """Statements outside a transaction each borrow a pooled connection for their
    duration; a transaction holds one for the task that opened it, until it ends."""

    dialect = "postgres"
    shared = True
    errors = (asyncpg.PostgresError, asyncpg.InterfaceError)

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._held: dict[asyncio.Task[Any], asyncpg.Connection] = {}

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        """Migrates the database at `url` and opens a pool on it."""
        conn = await connect_once(url)
        try:
            start = await migrate_postgres(conn)
        finally:
            await conn.close()
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, server_settings=_SESSION
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(describe_url(url), str(exc)) from exc
        db = cls(pool, url)
        db.migrated_from = start
        return db

    @property
    def url(self) -> str:
        return self._url

    async def close(self) -> None:
        # Graceful close waits for every borrowed connection to come back; one that a
        # task keeps (a query stuck on a dead server) must not hold shutdown forever.
        try:
            await asyncio.wait_for(self._pool.close(), timeout=CLOSE_WITHIN)
        except TimeoutError:
            log.warning("PostgreSQL pool not closed within %s s: connections terminated",
                        CLOSE_WITHIN)  # fmt: skip
            self._pool.terminate()

    def describe(self) -> str:
        return describe_url(self._url)

    async def schema_version(self) -> int:
        from storage.schema import postgres_version

        async with self._connection() as conn:
            return await postgres_version(conn)

    def leader_lock(self, name: str) -> LeaderLock:
        return _AdvisoryLock(self._url, name)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        held = self._held.get(asyncio.current_task())  # type: ignore[arg-type]
        if held is not None:
            yield held
            return
        async with self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool for PostgreSQL-only work (COPY, catalogue queries):
        the task's transaction's, if it has one open."""
        async with self._connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        held = self._held.get(task)
        if held is not None:
            # asyncpg nests a transaction as a savepoint.
            async with held.transaction():
                yield
            return
        async with self._pool.acquire() as conn:
            self._held[task] = conn
            try:
                async with conn.transaction():
                    yield
            finally:
                del self._held[task]

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._connection() as conn:
            return _changed(await conn.execute(to_postgres(sql), *params))

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        async with self._connection() as conn:
            await conn.executemany(to_postgres(sql), rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._connection() as conn:
            return list(await conn.fetch(to_postgres(sql), *params))
