"""Inline buttons under article replies: points, summary, more, full text, source."""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InaccessibleMessage

from bot import texts
from bot.articles import FOLLOW_UPS, ArticleService
from bot.chats import ChatService
from bot.render import ArticleAction
from handlers.common import answer_about


async def follow_up(
    callback: CallbackQuery,
    callback_data: ArticleAction,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
) -> None:
    article = await articles.get(callback_data.id)
    message = callback.message
    if (
        article is None
        or message is None
        or isinstance(message, InaccessibleMessage)
        or callback_data.action not in {*FOLLOW_UPS, "source"}
    ):
        await callback.answer(texts.CB_GONE, show_alert=True)
        return
    if callback_data.action == "source":
        await callback.answer(
            texts.CB_SOURCE_NONE.format(source=article.source or "—")[:200], show_alert=True
        )
        return
    # Answer first: Telegram shows a spinner on the button until it is answered.
    await callback.answer()
    await answer_about(message, article, callback_data.action, bot, articles, chats)


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(html.unescape(texts.CB_GONE))


def build() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(follow_up, ArticleAction.filter())
    # Buttons from an older version of the bot, or forged data: answer so the spinner stops.
    router.callback_query.register(stale_button)
    return router
