"""What the bot keeps per chat: settings, the current article, which message showed
which article, and whether it has introduced itself to a group."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Settings
from bot.models import ChatSettings
from bot.parsing import SettingChange
from storage.chats import ChatRepo


class ChatService:
    def __init__(self, chats: ChatRepo, settings: Settings) -> None:
        self._chats = chats
        self.defaults = ChatSettings(
            chat_id=0,
            algorithm=settings.summary_algorithm,
            sentences=settings.summary_sentences,
            timezone=settings.default_timezone,
        )

    async def settings(self, chat_id: int) -> ChatSettings:
        """The chat's own settings over the defaults from Settings."""
        return await self._chats.settings(chat_id, default=self.defaults)

    async def settings_many(self, chat_ids: Sequence[int]) -> dict[int, ChatSettings]:
        """`settings` of many chats at once (a page of the digest round)."""
        return await self._chats.settings_many(chat_ids, default=self.defaults)

    async def change(self, chat_id: int, change: SettingChange) -> ChatSettings:
        """Stores one setting. A time zone change also moves the chat's digest: callers
        go through SubscriptionService.change_settings, which sees to that."""
        await self._chats.update_settings(chat_id, **{change.name: change.value})  # type: ignore[arg-type]
        return await self.settings(chat_id)

    def focus(self, chat_id: int, article_id: int) -> None:
        """Makes the article the chat's current one, the target of a bare /points."""
        self._chats.record(chat_id, focus=article_id)

    def remember(
        self, chat_id: int, messages: Sequence[tuple[int, int]], *, focus: int | None = None
    ) -> None:
        """Records which article each of the bot's messages (message id, article id) was
        about and, with `focus`, makes that article the chat's current one."""
        self._chats.record(chat_id, focus=focus, messages=messages)

    async def current(self, chat_id: int) -> int | None:
        return await self._chats.current(chat_id)

    async def article_for_message(self, chat_id: int, message_id: int) -> int | None:
        return await self._chats.article_for_message(chat_id, message_id)

    async def introduce(self, chat_id: int) -> bool:
        """True the first time only: re-adding the bot to a group must not repeat the
        greeting, so the flag lives in the store."""
        return await self._chats.mark_introduced(chat_id)

    async def migrate(self, old: int, new: int) -> None:
        """Moves everything of a group to its supergroup id (its subscription too); the
        digest jobs follow in SubscriptionService.on_migrated."""
        await self._chats.migrate(old, new)

    async def forget_old_links(self, *, keep: int) -> int:
        """Keeps each chat's newest `keep` links from answers to their articles."""
        return await self._chats.prune_messages(keep=keep)

    async def flush(self) -> None:
        """Waits until every recorded focus and link is in the store."""
        await self._chats.flush()
