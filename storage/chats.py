"""Per-chat state: settings overrides, the current article, which message showed what."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.models import ChatSettings
from storage.db import Database, fetch_keyed, move_chat_rows
from storage.memo import Memo
from storage.stories import move_chat_stories
from storage.subscriptions import move_chat_subscriptions

log = logging.getLogger(__name__)

_SET_CURRENT = (
    # Selecting from articles makes a since-deleted article a no-op, not an FK error.
    "INSERT INTO chats (chat_id, current_article_id)"
    " SELECT ?, id FROM articles WHERE id = ?"
    " ON CONFLICT (chat_id) DO UPDATE SET"
    " current_article_id = excluded.current_article_id"
)
_REMEMBER_MESSAGE = (
    "INSERT INTO bot_messages (chat_id, message_id, article_id)"
    " SELECT ?, ?, id FROM articles WHERE id = ?"
    " ON CONFLICT (chat_id, message_id) DO UPDATE SET article_id = excluded.article_id"
)


# The columns of ChatSettings a chat may override; NULL means the default.
_SETTINGS = (
    "algorithm",
    "sentences",
    "timezone",
    "language",
    "digest_mode",
    "quiet",
    "alerts",
)


class ChatRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Every update reads its chat's settings; only this repository writes them,
        # unless other processes share the store: then every read asks it.
        kept = 0 if db.shared else 10_000
        self._overrides: Memo[int, dict[str, object]] = Memo(kept)
        # Settings writes begun so far: a read that a write overtook keeps nothing.
        self._writes = 0
        # Every bare /summary reads its chat's current article; 0 stands for none.
        self._current: Memo[int, int] = Memo(kept)
        # What record() was told and SQLite has not been yet, and the task writing it.
        self._pending: list[tuple[int, int | None, tuple[tuple[int, int], ...]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def settings(self, chat_id: int, *, default: ChatSettings) -> ChatSettings:
        """The chat's overrides on top of `default`, carrying the real chat id."""
        overrides = self._overrides.get(chat_id)
        if overrides is None:
            writes = self._writes
            row = await self._db.fetchone(
                f"SELECT {', '.join(_SETTINGS)} FROM chats WHERE chat_id = ?", (chat_id,)
            )
            names = _SETTINGS
            overrides = {} if row is None else {n: row[n] for n in names if row[n] is not None}
            if writes == self._writes:
                self._overrides.put(chat_id, overrides)
        return replace(default, chat_id=chat_id, **overrides)  # type: ignore[arg-type]

    async def settings_many(
        self, chat_ids: Sequence[int], *, default: ChatSettings
    ) -> dict[int, ChatSettings]:
        """`settings` of many chats, the ones not kept in memory read in one query."""
        found, missing = self._overrides.split(chat_ids)
        if missing:
            writes = self._writes
            rows = await fetch_keyed(
                self._db,
                f"SELECT chat_id, {', '.join(_SETTINGS)} FROM chats WHERE chat_id IN ({{keys}})",
                missing,
            )
            read = {
                int(row["chat_id"]): {n: row[n] for n in _SETTINGS if row[n] is not None}
                for row in rows
            }
            for chat_id in missing:
                overrides = read.get(chat_id, {})
                found[chat_id] = overrides
                if writes == self._writes:
                    self._overrides.put(chat_id, overrides)
        return {
            chat_id: replace(default, chat_id=chat_id, **overrides)  # type: ignore[arg-type]
            for chat_id, overrides in found.items()
        }

    async def update_settings(
        self,
        chat_id: int,
        *,
        algorithm: str | None = None,
        sentences: int | None = None,
        timezone: str | None = None,
        language: str | None = None,
        digest_mode: str | None = None,
        quiet: str | None = None,
        alerts: str | None = None,
    ) -> None:
        """Sets the given overrides; a None leaves that setting as it was."""
        self._writes += 1
        await self._db.execute(
            f"INSERT INTO chats (chat_id, {', '.join(_SETTINGS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET "
            + ", ".join(f"{name} = coalesce(excluded.{name}, chats.{name})" for name in _SETTINGS),
            (chat_id, algorithm, sentences, timezone, language, digest_mode, quiet, alerts),
        )
        # After the write: a read that raced it may have kept the old values.
        self._overrides.pop(chat_id)

    def record(
        self,
        chat_id: int,
        *,
        focus: int | None = None,
        messages: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Makes `focus` the chat's current article, and records which article each of
        the bot's `messages` (message id, article id) was about.

        Every answer about an article does this, so it does not wait for SQLite: the
        current article changes in memory at once, and the rows are written in the
        background, in order, batched with whatever else arrived meanwhile. Reads of
        them (`current`, `article_for_message`, `migrate`) wait for pending writes,
        and `flush()` (App.close) does.
        """
        if focus is None and not messages:
            return
        if focus is not None:
            self._current.put(chat_id, focus)
        self._pending.append((chat_id, focus, tuple(messages)))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def flush(self) -> None:
        """Waits until everything recorded so far is in SQLite."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            links = [(chat, msg, article) for chat, _, sent in batch for msg, article in sent]
            focused = [(chat, focus) for chat, focus, _ in batch if focus is not None]
            try:
                if links:
                    await self._db.execute_many(_REMEMBER_MESSAGE, links)
                if focused:
                    await self._db.execute_many(_SET_CURRENT, focused)
            except Exception:
                # The answers went out; only the links to them are lost. In memory the
                # current articles stay right.
                log.exception("could not record %d answer(s) in the database", len(batch))

    async def set_current(self, chat_id: int, article_id: int) -> None:
        changed = await self._db.execute(_SET_CURRENT, (chat_id, article_id))
        if changed:
            self._current.put(chat_id, article_id)

    async def current(self, chat_id: int) -> int | None:
        kept = self._current.get(chat_id)
        if kept is None:
            await self.flush()
            row = await self._db.fetchone(
                "SELECT current_article_id FROM chats WHERE chat_id = ?", (chat_id,)
            )
            kept = (row["current_article_id"] if row else None) or 0
            self._current.put(chat_id, kept)
        return kept or None

    async def remember_message(self, chat_id: int, message_id: int, article_id: int) -> None:
        await self._db.execute(_REMEMBER_MESSAGE, (chat_id, message_id, article_id))

    async def article_for_message(self, chat_id: int, message_id: int) -> int | None:
        await self.flush()
        row = await self._db.fetchone(
            "SELECT article_id FROM bot_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return row["article_id"] if row else None

    async def prune_messages(self, *, keep: int) -> int:
        """Forgets all but each chat's newest `keep` links from bot messages to articles
        (a reply to an older answer then means the chat's current article). Returns
        how many went."""
        await self.flush()
        return await self._db.execute(
            "DELETE FROM bot_messages WHERE (chat_id, message_id) IN (SELECT chat_id,"
            " message_id FROM (SELECT chat_id, message_id, row_number() OVER"
            " (PARTITION BY chat_id ORDER BY message_id DESC) AS n FROM bot_messages)"
            " AS ranked WHERE n > ?)",
            (keep,),
        )

    async def mark_introduced(self, chat_id: int) -> bool:
        """True only for the first call per chat, even when calls race."""
        changed = await self._db.execute(
            "INSERT INTO chats (chat_id, introduced) VALUES (?, 1)"
            " ON CONFLICT (chat_id) DO UPDATE SET introduced = 1 WHERE chats.introduced = 0",
            (chat_id,),
        )
        return changed > 0

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follows a group to its supergroup id: settings, message links, subscription, runs,
        the stories it was sent, the alerts it had and what its messages' numbers meant.

        What the new id already has (written after the migration) wins over the old row.
        """
        old, new = old_chat_id, new_chat_id
        self._writes += 1
        await self.flush()
        async with self._db.transaction():
            await self._db.execute(
                "INSERT INTO chats (chat_id, type, title, algorithm, sentences, timezone,"
                " language, digest_mode, quiet, alerts, current_article_id, introduced)"
                " SELECT ?, type, title, algorithm, sentences, timezone, language, digest_mode,"
                " quiet, alerts, current_article_id, introduced FROM chats WHERE chat_id = ?"
                " ON CONFLICT (chat_id) DO UPDATE SET"
                " type = coalesce(chats.type, excluded.type),"
                " title = coalesce(chats.title, excluded.title),"
                " algorithm = coalesce(chats.algorithm, excluded.algorithm),"
                " sentences = coalesce(chats.sentences, excluded.sentences),"
                " timezone = coalesce(chats.timezone, excluded.timezone),"
                " language = coalesce(chats.language, excluded.language),"
                " digest_mode = coalesce(chats.digest_mode, excluded.digest_mode),"
                " quiet = coalesce(chats.quiet, excluded.quiet),"
                " alerts = coalesce(chats.alerts, excluded.alerts),"
                " current_article_id = coalesce(chats.current_article_id,"
                " excluded.current_article_id),"
                " introduced = CASE WHEN chats.introduced > excluded.introduced"
                " THEN chats.introduced ELSE excluded.introduced END",
                (new, old),
            )
            await self._db.execute("DELETE FROM chats WHERE chat_id = ?", (old,))
            # Its message links, what it follows and turned off, and the alerts it was
            # sent or held back (so it is not told a story again, and the hourly cap
            # counts what the group got) go with it; the new id's rows win.
            for table, key in (
                ("bot_messages", "message_id"),
                ("chat_interests", "key"),
                ("muted_sources", "source"),
                ("story_alerts", "article_id"),
            ):
                await move_chat_rows(self._db, table, key, old, new)
            await move_chat_subscriptions(self._db, old, new)
            await move_chat_stories(self._db, old, new)
        for chat_id in (old, new):
            self._overrides.pop(chat_id)
            self._current.pop(chat_id)
