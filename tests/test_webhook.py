"""Webhook mode, the real `run_webhook` on 127.0.0.1: updates without the secret header
are refused and never handled; with it they are answered through the Bot API."""

from __future__ import annotations

import asyncio
import html
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession
from pydantic import SecretStr

from bot import texts
from bot.app import App, build_app, run_webhook
from bot.config import Settings
from bot.render import strip_tags
from tests.botapi import FakeTelegram

HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT = 4242


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def webhook_bot(
    settings: Settings, tg: FakeTelegram, webhook_url: str = "https://svodka.example/hook"
) -> AsyncIterator[tuple[App, str]]:
    """The bot serving webhooks as `python -m bot` does; yields it and the local URL of
    the path it registered with Telegram."""
    port = free_port()
    settings = settings.model_copy(
        update={
            "webhook_url": webhook_url,
            "webhook_host": "127.0.0.1",
            "webhook_port": port,
        }
    )
    app = await build_app(settings)
    task = asyncio.create_task(run_webhook(app, handle_signals=False))
    try:
        [registered] = await tg.wait_for("setWebhook", timeout=10)
        path = urlsplit(str(registered.params["url"])).path
        yield app, f"http://127.0.0.1:{port}{path}"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await app.close()


def update(update_id: int, text: str = "/latest") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_750_000_000,
            "chat": {"id": CHAT, "type": "private", "first_name": "Гость"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Гость"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    async with ClientSession() as http, http.post(url, json=body, headers=headers) as response:
        return response.status


async def test_updates_without_the_configured_secret_are_refused(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    settings = bot_settings.model_copy(update={"webhook_secret": SecretStr("s3cret-Webhook_value")})
    async with webhook_bot(settings, tg) as (_, url):
        [registered] = tg.calls_to("setWebhook")
        assert registered.params["secret_token"] == "s3cret-Webhook_value"
        assert registered.params["url"] == "https://svodka.example/hook/webhook"
        # Membership changes keep admin rights current; Telegram sends them only when asked.
        assert {"chat_member", "my_chat_member"} <= set(registered.params["allowed_updates"])
        assert await post(url, update(1), {}) == 401
        assert await post(url, update(2), {HEADER: "wrong"}) == 401
        assert await post(url, update(3), {HEADER: "s3cret-Webhook_valu"}) == 401
        await asyncio.sleep(0.3)
        assert tg.sent(CHAT) == []
        assert await post(url, update(4), {HEADER: "s3cret-Webhook_value"}) == 200
        [reply] = await tg.wait_for("sendMessage", lambda c: c.chat_id == CHAT)
        assert html.unescape(strip_tags(texts.LATEST_STORIES_TITLE)) in str(reply.result["text"])
        assert len(tg.sent(CHAT)) == 1


async def test_without_a_configured_secret_a_random_one_is_required(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    assert bot_settings.webhook_secret is None
    async with webhook_bot(bot_settings, tg) as (_, url):
        secret = str(tg.calls_to("setWebhook")[0].params["secret_token"])
        assert len(secret) >= 32
        assert await post(url, update(1), {}) == 401
        assert await post(url, update(2), {HEADER: ""}) == 401
        await asyncio.sleep(0.3)
        assert tg.sent(CHAT) == []
        assert await post(url, update(3), {HEADER: secret}) == 200
        await tg.wait_for("sendMessage", lambda c: c.chat_id == CHAT)
    # A new start, a new secret: the old one is worthless.
    tg.clear_calls()
    async with webhook_bot(bot_settings, tg):
        assert tg.calls_to("setWebhook")[0].params["secret_token"] != secret


@pytest.mark.parametrize(
    ("webhook_url", "path"),
    [("https://svodka.example/tg", "/tg/webhook"), ("https://svodka.example", "/webhook")],
)
async def test_updates_are_served_at_the_path_registered_with_telegram(
    bot_settings: Settings, tg: FakeTelegram, webhook_url: str, path: str
) -> None:
    settings = bot_settings.model_copy(update={"webhook_secret": SecretStr("path-secret")})
    async with webhook_bot(settings, tg, webhook_url) as (_, url):
        [registered] = tg.calls_to("setWebhook")
        assert registered.params["url"] == webhook_url + "/webhook"
        assert urlsplit(url).path == path
        headers = {HEADER: "path-secret"}
        if path != "/webhook":
            # Only the registered path is served: the bare one is not an alias for it.
            bare = url.removesuffix(path) + "/webhook"
            assert await post(bare, update(1), headers) == 404
        assert await post(url, update(2), headers) == 200
        await tg.wait_for("sendMessage", lambda c: c.chat_id == CHAT)
