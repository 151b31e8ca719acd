"""Shared pieces of the bot benchmarks: an offline recording session, the bare aiogram
baseline, the bot's settings and subprocess environment, percentiles and tables.

The evaluation data and repository paths come from `_common`; this module adds what
the bot-level benchmarks (dispatch, startup, memory, responsiveness) have in common.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from _common import ROOT, SEED
from aiogram import Dispatcher
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.types import Update, User

from bot.config import Settings
from bot.offline import OfflineSession, chat, text_update, user

if TYPE_CHECKING:
    from tests.botapi import FakeTelegram

__all__ = ["ROOT", "SEED"]

TOKEN = "42:bench-token"
BOT_USERNAME = "svodka_bot"
SEEDS_DIR = ROOT / "seeds"
ME = User(id=42, is_bot=True, first_name="Сводка", username=BOT_USERNAME)
# A fixed date: the session's replies should cost the same in every run.
EPOCH = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
BARE_REPLY = "Сводка"
FLOOD_BURST = 1_000_000

# The baseline bot process: stock aiogram, one router, one handler, long polling.
BARE_BOT = f"""
import asyncio, os
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

router = Router()

@router.message()
async def reply(message: Message) -> None:
    await message.answer({BARE_REPLY!r})

async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()
    dp.include_router(router)
    await dp.start_polling(bot, polling_timeout=1)

asyncio.run(main())
"""


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, as docs/benchmarks.md shows them."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def bot_settings(workdir: Path, *, api_url: str = "http://127.0.0.1:9") -> Settings:
    """The bot's settings for a benchmark: a fresh store in `workdir`, the shipped seeds."""
    return Settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=api_url,
        database_path=workdir / "svodka.sqlite3",
        seeds_dir=SEEDS_DIR,
        # Benchmarks send far faster than people type: flood control must not drop them.
        flood_burst=FLOOD_BURST,
    )


def bot_env(api_url: str, database: Path, **extra: str) -> dict[str, str]:
    """Environment of a `python -m bot` subprocess pointed at a Bot API server on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Our own settings come only from here, never from the caller's shell.
        if key not in {"BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "SEEDS_DIR", "FEEDS"}
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_PATH=str(database),
        SEEDS_DIR=str(SEEDS_DIR),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        FLOOD_BURST=str(FLOOD_BURST),
    )
    env.update(extra)
    return env


def python() -> str:
    return sys.executable


async def start_bot(
    command: Sequence[str], tg: FakeTelegram, database: Path, *, stderr: int = subprocess.PIPE
) -> asyncio.subprocess.Process:
    """`command`, a `python -m bot` process or the bare bot, polling `tg` with its store
    at `database` (and its working directory beside it)."""
    return await asyncio.create_subprocess_exec(
        *command,
        env=bot_env(tg.url, database),
        cwd=database.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a service manager stops the bot; SIGKILL if it has not gone in 15 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB, from /proc."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def filters_on_loop(dp: Dispatcher) -> int:
    """What if every bare `F` filter were wrapped in bot.filters.OnLoop: rewraps them
    in this Dispatcher and returns how many there were. A what-if for the benchmarks."""
    from bot.filters import OnLoop

    count = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            # `observer.filter(...)` keeps router-wide filters on a private stand-in handler.
            stand_in = getattr(observer, "_handler", None)
            for handler in [*observer.handlers, *([stand_in] if stand_in else [])]:
                filters = handler.filters or []
                for n, filter_object in enumerate(filters):
                    if filter_object.magic is not None:
                        filters[n] = FilterObject(OnLoop(filter_object.magic))
                        count += 1
    return count


def RecordingSession() -> OfflineSession:
    """Answers Bot API calls in memory and records every message sent, with its time.

    Both sides of a comparison get this same session, so the figures are the cost of
    handling updates, not of HTTP.
    """
    return OfflineSession(me=ME, clock=lambda: EPOCH)


class Updates:
    """Text messages from users as Telegram would deliver them, with increasing ids."""

    def __init__(self) -> None:
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)

    def message(self, text: str, chat_id: int = 1001) -> Update:
        return text_update(
            next(self.update_ids),
            next(self.message_ids),
            text,
            chat=chat(chat_id),
            from_user=user(chat_id),
            date=EPOCH,
        )
