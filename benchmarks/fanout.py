"""Fan-out of the daily digest to many chats, within Telegram's limits.

Both runs go through aiogram's aiohttp session to the Bot API test server, which
enforces Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per group:
excess is counted as a violation and answered 429) and answers a random 5% of sends
with 429 and 1% with 403 (a chat that blocks the bot stays blocked).

    paced   what the bot does when every chat's digest falls due at the same minute:
            each chat's job (bot.jobs.send_digest) runs at once, as APScheduler starts
            them; each claims its run, builds the chat's digest and sends it through
            the one Deliverer (bot.subscriptions.SubscriptionService)
    naive   asyncio.gather(bot.send_message(...) for every chat), no pacing, no retries

    python benchmarks/fanout.py            # 1,000 chats, 3 runs
    python benchmarks/fanout.py --quick    # 100 chats, 2 runs

Each run draws its own faults (seed, seed + 1, ...) and runs both sides, their order
alternating; every run's row is shown, then the median and range of each side's time
and rate, with its lost, duplicated and over-limit sends summed over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from benchmarks._common import Spread
from bot.app import build_app
from bot.config import Settings
from bot.jobs import send_digest
from tests.botapi import FakeTelegram, make_bot

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Every chat's digest is due at 09:00 UTC; the clock stands still there.
DUE = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)

CEILING = 30  # messages per second, Telegram's overall limit
DIGEST = (
    "<b>Сводка за 12 марта</b>\n\n"
    "<b>1. Си Цзиньпин и Токаев подписали совместное заявление</b>\n"
    "Стороны договорились, во-первых, укрепить доверие, во-вторых, развивать торговлю "
    "и, в-третьих, расширять гуманитарные обмены.\n\n"
    "<i>Ещё 4 статьи — /latest</i>"
)
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="Тезисы", callback_data="art:points:1"),
            InlineKeyboardButton(text="Подробнее", callback_data="art:more:1"),
        ]
    ]
)


@dataclass
class Row:
    name: str
    chats: int
    requests: int
    delivered: int
    blocked: int
    lost: int
    duplicates: int
    violations: int
    peak_per_sec: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def chat_ids(count: int) -> list[int]:
    """70% private chats, 20% basic groups, 10% supergroups, interleaved."""
    ids = []
    for n in range(count):
        kind = n % 10
        if kind < 7:
            ids.append(10_000 + n)
        elif kind < 9:
            ids.append(-(5_000 + n))
        else:
            ids.append(-1_000_000_000_000 - n)
    return ids


def peak(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


# Sends to every chat once the test server is up; returns the seconds the sending took.
Run = Callable[[FakeTelegram, list[int]], Awaitable[float]]


async def measure(name: str, chats: list[int], seed: int, send_all: Run) -> Row:
    async with FakeTelegram() as tg:
        tg.enforce_limits(global_per_sec=CEILING, per_chat_per_sec=1, per_group_per_min=20)
        tg.random_faults("sendMessage", {429: 0.05, 403: 0.01}, seed=seed, retry_after=1)
        seconds = await send_all(tg, chats)
        per_chat = Counter(call.chat_id for call in tg.sent())
        blocked = {chat for chat in chats if chat in tg.blocked}
        requests = tg.calls_to("sendMessage")
        return Row(
            name=name,
            chats=len(chats),
            requests=len(requests),
            delivered=sum(per_chat.values()),
            blocked=len(blocked),
            lost=sum(1 for chat in chats if chat not in blocked and per_chat[chat] == 0),
            duplicates=sum(count - 1 for count in per_chat.values() if count > 1),
            violations=len(tg.violations),
            peak_per_sec=peak([call.time for call in requests]),
            seconds=seconds,
        )


async def paced(tg: FakeTelegram, chats: list[int]) -> float:
    with tempfile.TemporaryDirectory(prefix="svodka-fanout-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_path=Path(tmp) / "db.sqlite3", seeds_dir=SEEDS
        )
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
        app = await build_app(settings, session=session, token=tg.token, clock=lambda: DUE)
        try:
            subscriptions = app.subscriptions
            for chat in chats:
                await subscriptions.subscribe(chat, "09:00 UTC", user_id=None, now=DUE)
            started = time.perf_counter()
            await asyncio.gather(*(send_digest(subscriptions, chat, app.clock) for chat in chats))
            return time.perf_counter() - started
        finally:
            await app.close()


async def naive(tg: FakeTelegram, chats: list[int]) -> float:
    async with make_bot(tg) as bot:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                bot.send_message(chat, DIGEST, parse_mode="HTML", reply_markup=KEYBOARD)
                for chat in chats
            ),
            return_exceptions=True,
        )
        return time.perf_counter() - started


def table(rows: list[Row]) -> str:
    header = (
        "run",
        "chats",
        "requests",
        "delivered",
        "blocked",
        "lost",
        "dupes",
        "violations",
        "peak req/s",
        "seconds",
        "msg/s",
        f"of {CEILING}/s",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.name,
                str(r.chats),
                str(r.requests),
                str(r.delivered),
                str(r.blocked),
                str(r.lost),
                str(r.duplicates),
                str(r.violations),
                str(r.peak_per_sec),
                f"{r.seconds:.1f}",
                f"{r.rate:.1f}",
                # Against the ceiling only when nothing was dropped to get there.
                f"{r.rate / CEILING:.0%}" if r.lost == 0 else "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(
            cell.rjust(width) if i else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 chats instead of 1,000")
    parser.add_argument("--chats", type=int, help="number of chats (overrides --quick)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, help="runs of each side (default 3; --quick 2)")
    args = parser.parse_args(argv)
    # A 429 now and then is expected here; the table has the totals.
    logging.getLogger("bot.delivery").setLevel(logging.ERROR)
    logging.getLogger("bot.subscriptions").setLevel(logging.ERROR)
    count = args.chats or (100 if args.quick else 1000)
    runs = args.runs or (2 if args.quick else 3)
    chats = chat_ids(count)

    sides: list[tuple[str, Run]] = [("paced (Deliverer)", paced), ("naive gather", naive)]
    rows: list[Row] = []
    for n in range(runs):
        for name, send_all in sides if n % 2 == 0 else sides[::-1]:
            rows.append(await measure(name, chats, args.seed + n, send_all))
    print(
        f"fan-out of the daily digest (one message) to {count} chats; limits enforced, "
        f"5% of sends answered 429, 1% 403; {runs} runs"
    )
    print(table(sorted(rows, key=lambda r: r.name, reverse=True)))
    print()
    print("| run | seconds | msg/s | of the ceiling | lost | dupes | violations |")
    print("|---|---|---|---|---|---|---|")
    for name, _ in sides:
        mine = [r for r in rows if r.name == name]
        ceiling = (
            Spread.of([r.rate / CEILING * 100 for r in mine]).format(".0f") + " %"
            if all(r.lost == 0 for r in mine)
            else "-"
        )
        print(
            f"| {name} | {Spread.of([r.seconds for r in mine]).format('.1f')}"
            f" | {Spread.of([r.rate for r in mine]).format('.1f')} | {ceiling}"
            f" | {sum(r.lost for r in mine)} | {sum(r.duplicates for r in mine)}"
            f" | {sum(r.violations for r in mine)} |"
        )
    print(
        "lost: a chat that did not block the bot yet got nothing; "
        "msg/s: delivered per wall-clock second"
    )


if __name__ == "__main__":
    asyncio.run(main())
