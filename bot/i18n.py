"""aiogram's i18n over Svodka's catalogs: which language each update is answered in.

A chat's `/settings язык` wins; otherwise the language of the user's Telegram
(`language_code`), English for `en` and Russian for everything else. The catalogs and
the current language are bot.language's, so `texts.NAME` follows what this sets.
"""

from __future__ import annotations

import gettext
from typing import Any

from aiogram.types import ErrorEvent, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot import language
from bot.chats import ChatService


class Catalogs(I18n):
    """aiogram's I18n reading bot.language's catalogs (compiled from `.po` in memory)
    and setting bot.language's current language."""

    def __init__(self) -> None:
        super().__init__(path=language.LOCALES, default_locale=language.DEFAULT)
        self.ctx_locale = language.current

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {lang: language.translations(lang) for lang in language.LANGUAGES}  # type: ignore[misc]


class ChatLanguage(I18nMiddleware):
    """Outer middleware for every kind of update, errors included (so that the apology
    for a failed update speaks the language of the update)."""

    def __init__(self, i18n: I18n, chats: ChatService) -> None:
        super().__init__(i18n)
        self.chats = chats

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if isinstance(event, ErrorEvent):
            inner = event.update.event
            chat = (
                chat
                or getattr(inner, "chat", None)
                or getattr(getattr(inner, "message", None), "chat", None)
            )
            user = user or getattr(inner, "from_user", None)
        if chat is not None:
            chosen = (await self.chats.settings(chat.id)).language
            if chosen in language.LANGUAGES:
                return chosen
        return language.pick(user.language_code if user is not None else None)
