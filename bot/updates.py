"""Polling that survives an update it cannot read.

aiogram decodes a getUpdates answer as a whole: one update that does not fit its models
(a field of a new Bot API version, a damaged value) fails the batch, polling backs off and
asks for the same batch again, forever, and nothing after it is ever handled. This
session decodes each update of the batch on its own; one that fails is logged and handed
on as a bare update (its id only), which the Dispatcher skips, so the next getUpdates
confirms it and polling goes on."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Update
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


def readable_updates(bot: Bot, content: str) -> str:
    """A getUpdates answer with every update that fails to decode cut down to its id."""
    try:
        data = json.loads(content)
    except ValueError:
        return content  # not JSON at all: aiogram's own error says so
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        return content
    kept: list[Any] = []
    for item in data["result"]:
        try:
            Update.model_validate(item, context={"bot": bot})
        except ValidationError as exc:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                # Without an id it cannot be confirmed either; the batch fails as before.
                kept.append(item)
                continue
            log.warning(
                "update %s could not be decoded and is skipped: %s",
                update_id,
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]),
            )
            kept.append({"update_id": update_id})
            continue
        kept.append(item)
    return json.dumps({**data, "result": kept}, ensure_ascii=False)


class TolerantSession(AiohttpSession):
    """aiogram's aiohttp session, with getUpdates answers decoded one update at a time."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):
            content = readable_updates(bot, content)
        return super().check_response(bot, method, status_code, content)
