"""Inline buttons under article replies: points, summary, more, full text, source."""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InaccessibleMessage

from bot import render, texts
from bot.render import ArticleAction
from bot.services import ArticleService
from handlers.common import send


async def follow_up(
    callback: CallbackQuery, callback_data: ArticleAction, bot: Bot, service: ArticleService
) -> None:
    article = await service.articles.get(callback_data.id)
    message = callback.message
    if article is None or message is None or isinstance(message, InaccessibleMessage):
        await callback.answer(texts.CB_GONE, show_alert=True)
        return
    if callback_data.action == "source":
        await callback.answer(
            texts.CB_SOURCE_NONE.format(source=article.source or "—")[:200], show_alert=True
        )
        return
    # Answer first: Telegram shows a spinner on the button until it is answered.
    await callback.answer()
    settings = await service.chat_settings(message.chat.id)
    if callback_data.action == "points":
        replies = render.points_reply(article, await service.points(article), settings.timezone)
    elif callback_data.action in {"summary", "more"}:
        longer = callback_data.action == "more"
        result = await service.chat_summary(message.chat.id, article, longer=longer)
        replies = render.summary_reply(article, result, settings.timezone, longer=longer)
    else:
        replies = render.full_reply(article, settings.timezone)
    await send(message, replies, service)


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(html.unescape(texts.CB_GONE))


def build() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(follow_up, ArticleAction.filter())
    # Buttons from an older version of the bot, or forged data: answer so the spinner stops.
    router.callback_query.register(stale_button)
    return router
