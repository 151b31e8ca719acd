"""Maps domain errors to one short Russian reply; anything else is logged and apologised for."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Message

from bot import texts
from bot.answers import Answers
from bot.errors import SvodkaError
from handlers.common import say, toast

log = logging.getLogger(__name__)


async def _tell(event: ErrorEvent, text: str, answers: Answers) -> None:
    update = event.update
    if update.callback_query is not None:
        await toast(update.callback_query, answers, text, alert=True)
        return
    message = update.message or update.edited_message or update.channel_post
    if isinstance(message, Message):
        await say(message, text, answers)


async def domain_error(event: ErrorEvent, answers: Answers) -> None:
    await _tell(event, texts.error_text(event.exception), answers)


async def unexpected_error(event: ErrorEvent, answers: Answers) -> None:
    chat = getattr(getattr(event.update.event, "chat", None), "id", None)
    log.exception(
        "update %s in chat %s failed", event.update.update_id, chat, exc_info=event.exception
    )
    try:
        await _tell(event, texts.UNEXPECTED, answers)
    except TelegramAPIError:
        # The failure may be Telegram itself; the log above already has what matters.
        log.warning("could not apologise for update %s", event.update.update_id)


def build() -> Router:
    router = Router(name=__name__)
    router.errors.register(domain_error, ExceptionTypeFilter(SvodkaError))
    router.errors.register(unexpected_error)
    return router
