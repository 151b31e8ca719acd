"""Schema migrations, applied forward by `PRAGMA user_version`.

Each step is applied once, in its own transaction, and is never edited after it ships:
a change to the schema is a new step at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

Migration = Sequence[str]

_BASE: Migration = (
    # AUTOINCREMENT: an id, once shown to users or kept as a digest watermark,
    # never comes back for a different article after a delete.
    """
    CREATE TABLE articles (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        title        TEXT NOT NULL,
        source       TEXT NOT NULL DEFAULT '',
        url          TEXT UNIQUE,
        published_at TEXT,
        added_at     TEXT NOT NULL,
        text         TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        lang         TEXT NOT NULL DEFAULT 'ru'
    )
    """,
    # Lemmas, not words: Russian inflects, and `Казахстана` must find `Казахстан`.
    # rowid = articles.id.
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title_lemmas, text_lemmas, tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        DELETE FROM articles_fts WHERE rowid = old.id;
    END
    """,
    """
    CREATE TABLE summaries (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL CHECK (kind IN ('summary', 'points')),
        algorithm  TEXT NOT NULL,
        length     INTEGER NOT NULL,
        payload    TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (article_id, kind, algorithm, length)
    )
    """,
    """
    CREATE TABLE chats (
        chat_id            INTEGER PRIMARY KEY,
        type               TEXT,
        title              TEXT,
        algorithm          TEXT,
        sentences          INTEGER,
        timezone           TEXT,
        current_article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        introduced         INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE bot_messages (
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (chat_id, message_id)
    )
    """,
    """
    CREATE TABLE subscriptions (
        chat_id       INTEGER PRIMARY KEY,
        at            TEXT NOT NULL,
        timezone      TEXT NOT NULL,
        subscribed_by INTEGER,
        active        INTEGER NOT NULL DEFAULT 1,
        ended_reason  TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE digest_runs (
        chat_id         INTEGER NOT NULL,
        period          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        last_article_id INTEGER,
        PRIMARY KEY (chat_id, period)
    )
    """,
    """
    CREATE TABLE feeds (
        id            INTEGER PRIMARY KEY,
        url           TEXT NOT NULL UNIQUE,
        title         TEXT,
        etag          TEXT,
        last_modified TEXT,
        failures      INTEGER NOT NULL DEFAULT 0,
        paused        INTEGER NOT NULL DEFAULT 0,
        added_at      TEXT NOT NULL
    )
    """,
)

_INDEXES: Migration = (
    # /latest and digests read articles by time.
    "CREATE INDEX articles_added ON articles(added_at, id)",
    # Start-up looks for digests that were claimed but never finished.
    "CREATE INDEX digest_runs_pending ON digest_runs(started_at) WHERE status = 'pending'",
)

_FEED_ENTRIES: Migration = (
    # Why the last poll failed, for /feeds; and when a feed was last checked.
    "ALTER TABLE feeds ADD COLUMN last_error TEXT",
    "ALTER TABLE feeds ADD COLUMN checked_at TEXT",
    # Entries a feed has already delivered, by the feed's own id for them (guid / atom:id,
    # else the link): a feed that reorders or republishes its items adds nothing twice,
    # and no teaser page is fetched again for an entry already stored.
    """
    CREATE TABLE feed_entries (
        feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        entry_id   TEXT NOT NULL,
        url        TEXT,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        seen_at    TEXT NOT NULL,
        PRIMARY KEY (feed_id, entry_id)
    )
    """,
    # The same story often appears in several feeds of one site under different ids.
    "CREATE INDEX feed_entries_url ON feed_entries(url)",
)

MIGRATIONS: tuple[Migration, ...] = (_BASE, _INDEXES, _FEED_ENTRIES)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"database schema version {found} is newer than this code ({known})")
        self.found = found
        self.known = known


async def _version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Brings the schema to `len(migrations)`; returns the version it started from.

    The version is read inside each step's write transaction, so two processes
    starting at once do not both apply the same step.
    """
    start = await _version(conn)
    if start > len(migrations):
        raise SchemaTooNew(start, len(migrations))
    while True:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            version = await _version(conn)
            if version >= len(migrations):
                await conn.execute("COMMIT")
                return start
            for statement in migrations[version]:
                await conn.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            await conn.execute(f"PRAGMA user_version = {version + 1}")
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
