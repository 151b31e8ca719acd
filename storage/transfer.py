"""Copying a SQLite store into PostgreSQL: `python -m bot copy-store SQLITE_PATH`.

The copy is taken from a snapshot of the file (SQLite's online backup, so the bot may
keep running on it), migrated in the snapshot to this code's schema; the file itself is
left as it was. Every PostgreSQL table is filled from the SQLite table of the same name
(or the query in `schema.COPY_SOURCES`), parents before children, in one transaction:
a copy that fails leaves the PostgreSQL store empty.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import aiosqlite

from storage.postgres import PostgresDatabase
from storage.schema import COPY_SOURCES, POSTGRES_VERSION_TABLE, SchemaTooNew
from storage.sqlite import SqliteDatabase, snapshot

_PAGE = 1000


class CopyError(Exception):
    """Why nothing was copied, in a few words for the CLI."""


class SourceUnreadable(CopyError):
    pass


class TargetNotEmpty(CopyError):
    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


def _snapshot(source: Path, target: Path) -> None:
    try:
        snapshot(source, target).close()
    except sqlite3.Error as exc:
        raise SourceUnreadable(str(exc)) from exc


def _text(value: Any) -> Any:
    # PostgreSQL text holds no NUL (ArticleRepo no longer stores one; old files may).
    return None if value is None else str(value).replace("\x00", "")


def _integer(value: Any) -> Any:
    return None if value is None else int(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "bigint": _integer,
    "integer": _integer,
    "smallint": _integer,
}


async def _plan(db: PostgresDatabase) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """The tables in foreign-key order, and each one's copied columns with their types."""
    async with db.connection() as conn:
        columns = await conn.fetch(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.is_generated = 'NEVER' AND c.table_name <> $1"
            " ORDER BY c.table_name, c.ordinal_position",
            POSTGRES_VERSION_TABLE,
        )
        references = await conn.fetch(
            "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent"
            " FROM pg_constraint WHERE contype = 'f'"
            " AND connamespace = current_schema()::regnamespace"
        )
    tables: dict[str, list[tuple[str, str]]] = {}
    for row in columns:
        tables.setdefault(row["table_name"], []).append((row["column_name"], row["data_type"]))
    order: TopologicalSorter[str] = TopologicalSorter({name: () for name in tables})
    for row in references:
        if row["child"] != row["parent"]:
            order.add(row["child"], row["parent"])
    return list(order.static_order()), tables


async def _rows(
    conn: aiosqlite.Connection, sql: str, convert: Sequence[Callable[[Any], Any]]
) -> AsyncIterator[tuple[Any, ...]]:
    async with conn.execute(sql) as cursor:
        while page := await cursor.fetchmany(_PAGE):
            for row in page:
                yield tuple(f(value) for f, value in zip(convert, row, strict=True))


async def _identity_floors(conn: aiosqlite.Connection) -> dict[str, int]:
    """AUTOINCREMENT's high-water marks: ids once given out, even if deleted since."""
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ) as cursor:
        if await cursor.fetchone() is None:
            return {}
    async with conn.execute("SELECT name, seq FROM sqlite_sequence") as cursor:
        return {str(name): int(seq) for name, seq in await cursor.fetchall()}


async def copy_sqlite_to_postgres(source: Path, target: PostgresDatabase) -> dict[str, int]:
    """Copies the SQLite store at `source` into the empty PostgreSQL store `target`;
    returns the rows copied per table."""
    if not await asyncio.to_thread(source.is_file):
        raise SourceUnreadable(f"no file {source}")
    order, tables = await _plan(target)
    async with target.connection() as conn:
        for table in order:
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                raise TargetNotEmpty(table)
    with tempfile.TemporaryDirectory(prefix="svodka-copy-") as folder:
        snapshot = Path(folder) / "store.sqlite3"
        await asyncio.to_thread(_snapshot, source, snapshot)
        try:
            migrated = await SqliteDatabase.connect(snapshot, readers=0)
        except (sqlite3.DatabaseError, SchemaTooNew) as exc:
            raise SourceUnreadable(str(exc)) from exc
        await migrated.close()
        reader = await aiosqlite.connect(snapshot)
        try:
            floors = await _identity_floors(reader)
            return await _copy(reader, target, order, tables, floors)
        finally:
            await reader.close()


async def _copy(
    reader: aiosqlite.Connection,
    target: PostgresDatabase,
    order: list[str],
    tables: dict[str, list[tuple[str, str]]],
    floors: dict[str, int],
) -> dict[str, int]:
    copied: dict[str, int] = {}
    async with target.transaction(), target.connection() as conn:
        for table in order:
            names = [name for name, _ in tables[table]]
            convert = [_CONVERT.get(kind, lambda value: value) for _, kind in tables[table]]
            sql = COPY_SOURCES.get(table, f"SELECT {', '.join(names)} FROM {table}")
            status = await conn.copy_records_to_table(
                table, records=_rows(reader, sql, convert), columns=names
            )
            copied[table] = int(status.rpartition(" ")[2])
        identities = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        for row in identities:
            table, column = row["table_name"], row["column_name"]
            highest = await conn.fetchval(f"SELECT coalesce(max({column}), 0) FROM {table}")
            floor = max(int(highest), floors.get(table, 0))
            if floor > 0:
                # The next id PostgreSQL gives out follows every id SQLite ever gave.
                await conn.execute(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)", table, column, floor
                )
    async with target.connection() as conn:
        # Fresh statistics, so the planner knows the tables are no longer empty.
        await conn.execute("ANALYZE")
    return copied
