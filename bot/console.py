"""The offline chat: the same Dispatcher and routers, a session that prints instead of
calling Telegram. No token, no network."""

from __future__ import annotations

import asyncio
import html
import itertools
import os
import sys
from typing import TextIO

from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

from bot import texts
from bot.app import build_app
from bot.clock import utc_now
from bot.config import Settings
from bot.offline import OfflineSession, text_update
from bot.parsing import is_digits
from bot.render import strip_tags

TOKEN = "42:console"
CHAT_ID = 1


class ConsoleSession(OfflineSession):
    """Prints what the bot sends and remembers the last message's buttons."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self.buttons: list[tuple[str, str | None, str | None, Message]] = []

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.out, flush=True)
        except BrokenPipeError:
            # `python -m bot console --once /points | head`: the reader has gone. Point
            # stdout at /dev/null so the interpreter's final flush stays quiet, and stop.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0) from None

    def toast(self, text: str) -> None:
        self._print(f"  ⓘ {text}")

    def shown(self, message: Message) -> None:
        self._print(f"\n{_terminal(message.text or '')}")
        markup = message.reply_markup
        if isinstance(markup, InlineKeyboardMarkup):
            self.buttons = []
            labels = []
            for row in markup.inline_keyboard:
                for button in row:
                    self.buttons.append((button.text, button.callback_data, button.url, message))
                    labels.append(f"[{len(self.buttons)}] {button.text}")
            self._print("  " + "  ".join(labels))


def _terminal(markup: str) -> str:
    """Bold and italic as plain text for a terminal."""
    return html.unescape(strip_tags(markup))


class Console:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.settings = settings
        self.out = out
        self.updates = itertools.count(1)
        self.message_ids = itertools.count(10_000)
        self.you = User(id=CHAT_ID, is_bot=False, first_name=texts.CONSOLE_YOU, language_code="ru")

    async def __aenter__(self) -> Console:
        self.session = ConsoleSession(self.out)
        # One local user, often a script piped in: flood control has nobody to protect.
        settings = self.settings.model_copy(update={"flood_burst": 1_000_000})
        self.app = await build_app(settings, session=self.session, token=TOKEN)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.close()

    def _update(self, line: str) -> Update:
        line = line.strip()
        buttons = self.session.buttons
        if is_digits(line) and buttons and 1 <= int(line) <= len(buttons):
            _label, data, url, message = buttons[int(line) - 1]
            if url:
                print(f"  → {url}", file=self.out)
            return Update(
                update_id=next(self.updates),
                callback_query=CallbackQuery(
                    id=str(next(self.updates)),
                    from_user=self.you,
                    chat_instance="console",
                    message=message,
                    data=data or "",
                ),
            )
        return text_update(
            next(self.updates),
            next(self.message_ids),
            line,
            chat=Chat(id=CHAT_ID, type="private", first_name=self.you.first_name),
            from_user=self.you,
            date=utc_now(),
        )

    async def say(self, line: str) -> None:
        update = self._update(line)
        if update.callback_query is not None and not update.callback_query.data:
            return
        await self.app.dp.feed_update(self.app.bot, update)


async def run_console(settings: Settings, once: str | None = None) -> None:
    async with Console(settings) as console:
        if once is not None:
            await console.say(once)
            return
        print(texts.CONSOLE_WELCOME, file=console.out)
        console.out.flush()
        await console.say("/latest")
        loop = asyncio.get_running_loop()
        while True:
            console.out.write("\n> ")
            console.out.flush()
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                break
            await console.say(line)
