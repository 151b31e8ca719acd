"""Inline buttons under article replies: points, summary, more, full text, source.

A press rewrites the message it is under: summary, more detail, points and the full
text take turns under the same header instead of each posting it again. In a private
chat the further parts of a long answer follow as new messages; in a group only the
first part is shown in place, with at most one short message pointing to /full.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from bot import render, texts
from bot.answers import Answers
from bot.articles import FOLLOW_UPS, ArticleService
from bot.chats import ChatService
from bot.render import OPEN, ArticleAction
from handlers.common import edit, follow_up, in_group, pressed, say, send, toast


async def press(
    callback: CallbackQuery,
    callback_data: ArticleAction,
    bot: Bot,
    articles: ArticleService,
    chats: ChatService,
    answers: Answers,
) -> None:
    article = await articles.get(callback_data.id)
    message = callback.message
    if (
        article is None
        or message is None
        or isinstance(message, InaccessibleMessage)
        or callback_data.action not in {*FOLLOW_UPS, "source", OPEN}
    ):
        await toast(callback, answers, texts.CB_GONE, alert=True)
        return
    if callback_data.action == "source":
        source = texts.CB_SOURCE_NONE.format(source=article.source or "—")
        await toast(callback, answers, source, alert=True)
        return
    # Answer first: Telegram shows a spinner on the button until it is answered.
    await toast(callback, answers)
    listed = callback_data.action == OPEN
    action = "summary" if listed else callback_data.action
    answer = await follow_up(message, article, action, bot, articles)
    replies = render.follow_up_reply(answer)
    group = in_group(message)
    if not listed and about(message, article.id):
        await edit(message, replies, chats, answers, request=pressed(callback), rest=not group)
    else:
        # Under another message (a digest, a list): that one stays as it was.
        shown = replies[:1] if group else replies
        await send(message, shown, chats, answers, request=pressed(callback))
    if group and len(replies) > 1:
        await say(message, texts.CB_FULL_IN_GROUP.format(number=article.id), answers)


def about(message: Message, article_id: int) -> bool:
    """Whether the message is an answer about the article: its buttons are the
    article's follow-ups. Only such a message is rewritten by a press."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            try:
                action = ArticleAction.unpack(button.callback_data or "")
            except (TypeError, ValueError):
                continue
            if action.id == article_id:
                return True
    return False


async def stale_button(callback: CallbackQuery, answers: Answers) -> None:
    await toast(callback, answers, texts.CB_GONE)


def build() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(press, ArticleAction.filter())
    # Buttons from an older version of the bot, or forged data: answer so the spinner stops.
    router.callback_query.register(stale_button)
    return router
