"""The digest round: every chat due at the same minute, sent through the bot's real path.

The bot (`build_app`: SQLite store, ledger, paced Deliverer, aiogram's aiohttp session)
runs `SubscriptionService.run_due` for N chats due at 09:00 Moscow time, against the Bot
API test server (tests/botapi.py) in a process of its own, which enforces Telegram's
limits (overall per second as configured, 1 a second per chat, 20 a minute per group):
a send over a limit is counted as a violation and answered 429.

    shared    what the bot does: chats with the same window and settings share one
              digest (bot.digest.Shared): each story told once, each digest rendered once
    per chat  the same round with nothing shared (`Shared(limit=0)`): every chat tells its
              stories and renders its digest itself, as before
    ceiling   the shared round with no overall limit, in the bot or the server: how many
              messages a second the sender could send, what a limit of 1,000 needs of it

Figures per run: the bot process's CPU per chat (user + system, the whole round:
claims, digest, ledger, sends), the test server's CPU per message it took (it runs on
the same cores: with both busy, their sum is what the machine can give a second),
messages a second sustained (first to last delivery)
and the busiest sliding second, the bot process's peak memory over its resident size
before the round (VmHWM reset through /proc/self/clear_refs), and chats that got no
digest (lost) or more than one message of it (doubled). One chat in ten has /settings
предложения 1, so a round has two distinct digests.

    python benchmarks/round.py --quick     # 1,000 and 10,000 chats with PAID_BROADCAST=1,
                                           # 100 per chat, 300 chats at 30 a second
    python benchmarks/round.py             # 10,000 and 100,000 chats, 1,000 per chat, 2 runs
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import DEFAULT_EVAL_DIR, ROOT, Spread, json_lines
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot import subscriptions as subscriptions_module
from bot.app import SWITCH_INTERVAL, build_app
from bot.config import Settings
from bot.digest import Shared
from bot.models import NewArticle
from storage.db import to_db_time

TOKEN = "42:bench-token"
ROUND = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
STORIES = "stories/silver_tgcontest_ru_20200502_03_articles.jsonl"
ARTICLES = 150
BRIEF_SHARE = 10  # one chat in ten reads one sentence a story
UNLIMITED = 1_000_000  # messages a second: the ceiling round's limits, never reached


# -- the Bot API server, in a process of its own ------------------------------------------


async def serve(limit: int) -> None:
    """The child: a FakeTelegram enforcing the limits; answers `stats` on stdin."""
    from tests.botapi import FakeTelegram, busiest_second

    # It keeps every call it answers: its collector's pauses, longer as they pile up,
    # would hold requests back and take them in a bunch, counted against the bot.
    gc.disable()
    async with FakeTelegram(token=TOKEN) as tg:
        tg.enforce_limits(global_per_sec=limit, per_chat_per_sec=1, per_group_per_min=20)
        print(tg.url, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        cleared = _cpu_seconds()
        while line := (await reader.readline()).decode().strip():
            if line == "stats":
                sent = [c for c in tg.calls_to("sendMessage") if c.ok]
                per_chat: dict[Any, int] = {}
                for call in sent:
                    per_chat[call.chat_id] = per_chat.get(call.chat_id, 0) + 1
                times = sorted(c.time for c in sent)
                span = times[-1] - times[0] if len(times) > 1 else 0.0
                stats = {
                    "sent": len(sent),
                    "chats": len(per_chat),
                    "doubled": sum(n - 1 for n in per_chat.values() if n > 1),
                    "violations": len(tg.violations),
                    "peak": busiest_second(times),
                    "rate": (len(sent) - 1) / span if span else 0.0,
                    "server_cpu_ms": (_cpu_seconds() - cleared) * 1000 / max(len(sent), 1),
                }
                print(json.dumps(stats), flush=True)
            elif line == "clear":
                tg.clear_calls()
                cleared = _cpu_seconds()
                print("{}", flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    @classmethod
    async def start(cls, limit: int) -> Server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            str(limit),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        url = (await process.stdout.readline()).decode().strip()
        return cls(process, url)

    async def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        answer: dict[str, Any] = json.loads(await self.process.stdout.readline())
        return answer

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


# -- the store -------------------------------------------------------------------------


def articles(eval_dir: Path) -> list[NewArticle]:
    found = []
    for row in json_lines(eval_dir / STORIES):
        found.append(
            NewArticle(
                title=row["title"],
                text=row["text"],
                source=row.get("source", ""),
                url=row.get("url"),
                published_at=ROUND - timedelta(hours=3),
            )
        )
        if len(found) == ARTICLES:
            break
    return found


async def make_store(path: Path, eval_dir: Path) -> None:
    """The articles (stored through ArticleService.add, so stories are assigned), then
    the chats straight into the tables: subscriptions due at ROUND, one in ten with
    one sentence a story."""
    settings = bot_settings(path, "http://127.0.0.1:9")
    from bot.root import open_services

    services = await open_services(settings, clock=lambda: ROUND)
    try:
        for article in articles(eval_dir):
            await services.articles.add(article, now=ROUND - timedelta(hours=2))
    finally:
        await services.close()


def add_chats(path: Path, first: int, count: int) -> None:
    stamp = to_db_time(ROUND - timedelta(days=1))
    due = to_db_time(ROUND)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO subscriptions (chat_id, at, timezone, subscribed_by, active,"
                " created_at, updated_at, due_at) VALUES (?, '09:00', 'Europe/Moscow', NULL,"
                " 1, ?, ?, ?)",
                ((chat, stamp, stamp, due) for chat in range(first, first + count)),
            )
            conn.executemany(
                "INSERT INTO chats (chat_id, type, sentences) VALUES (?, 'private', 1)",
                ((chat,) for chat in range(first, first + count, BRIEF_SHARE)),
            )
    finally:
        conn.close()


def bot_settings(path: Path, url: str, *, paid: bool = False) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        telegram_api_url=url,
        database_path=path,
        seeds_dir=path.parent / "no-seeds",
        paid_broadcast=paid,
        log_level="WARNING",
    )


# -- one round, in a fresh process -------------------------------------------------------


def peak_mb() -> tuple[float, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def reset_peak() -> float:
    """Resident memory now; VmHWM starts again from it (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_mb()[0]


def copy_store(base: Path, path: Path, chats: int) -> None:
    path.write_bytes(base.read_bytes())
    add_chats(path, 10_000_000, chats)


def remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def round_child(path: Path, url: str, way: str, paid: bool, chats: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    sys.setswitchinterval(SWITCH_INTERVAL)
    if way == "per-chat":
        subscriptions_module.Shared = lambda: Shared(limit=0)  # type: ignore[misc,assignment]
    if way == "ceiling":
        # No overall limit of the bot's own: how fast the sender could go.
        subscriptions_module.PAID_BROADCAST_PER_SEC = UNLIMITED
    settings = bot_settings(path, url, paid=paid)
    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    app = await build_app(settings, session=session, token=TOKEN, clock=lambda: ROUND)
    try:
        # The stories and the text modules, loaded as the bot's start-up and first
        # story do, and the heap frozen after the warm-up as `bot.app.run` freezes it:
        # the round's figures are the round's own.
        await app.services.stories.start()
        for _, story in await app.services.stories.latest(1):
            await app.services.stories.tell(story.story_id)
        app.freeze_heap = True
        await app.warm_cache()
        before = reset_peak()
        cpu = _cpu_seconds()
        started = time.perf_counter()
        sent = await app.subscriptions.run_due(ROUND)
        await app.subscriptions.outbox.idle()
        seconds = time.perf_counter() - started
        used = _cpu_seconds() - cpu
        _, peak = peak_mb()
        print(
            json.dumps(
                {
                    "sent": sent,
                    "seconds": seconds,
                    "cpu_ms_per_chat": used * 1000 / chats,
                    "peak_mb": peak - before,
                }
            ),
            flush=True,
        )
    finally:
        await app.close()


async def one_round(
    folder: Path, base: Path, server: Server, way: str, paid: bool, chats: int
) -> dict[str, Any]:
    path = folder / f"round-{way}-{chats}.sqlite3"
    copy_store(base, path, chats)
    await server.ask("clear")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--round",
        str(path),
        server.url,
        way,
        "1" if paid else "0",
        str(chats),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out, _ = await child.communicate()
    assert child.returncode == 0, f"the round child failed ({way}, {chats})"
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    stats = await server.ask("stats")
    figures.update(stats)
    figures["lost"] = chats - stats["chats"]
    remove_store(path)
    return figures


def spread(values: list[float]) -> str:
    """Median and range of the runs (`Spread`), in as many digits as the figure needs."""
    figure = Spread.of(values)
    big = max(abs(figure.median), abs(figure.low), abs(figure.high)) >= 100
    return figure.format(",.0f" if big else ".3g")


def row(label: str, runs: list[dict[str, Any]]) -> str:
    def col(key: str) -> str:
        return spread([float(r[key]) for r in runs])

    return (
        f"| {label} | {col('sent')} | {col('cpu_ms_per_chat')}"
        f" | {col('server_cpu_ms')} | {col('rate')} | {col('peak')} | {col('peak_mb')}"
        f" | {col('seconds')}"
        f" | {sum(r['lost'] for r in runs)} | {sum(r['doubled'] for r in runs)}"
        f" | {sum(r['violations'] for r in runs)} |"
    )


HEADER = (
    "| round | messages | CPU ms/chat | server CPU ms/msg | msg/s sustained | busiest second"
    " | peak MB | seconds | lost | doubled | over the limit |"
    "\n|---|---|---|---|---|---|---|---|---|---|---|"
)


async def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        await serve(int(sys.argv[2]))
        return
    if sys.argv[1:2] == ["--round"]:
        path, url, way, paid, chats = sys.argv[2:7]
        await round_child(Path(path), url, way, paid == "1", int(chats))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10,000 chats, one run each")
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--chats", type=int, nargs="*", default=None)
    p.add_argument("--per-chat", type=int, default=None, help="chats of the per-chat round")
    p.add_argument("--slow", type=int, default=300, help="chats of the round at 30 a second")
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = p.parse_args()
    counts = args.chats or ([1_000, 10_000] if args.quick else [10_000, 100_000])
    runs = args.runs or (1 if args.quick else 2)
    per_chat = args.per_chat or (100 if args.quick else 1000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = folder / "base.sqlite3"
        started = time.perf_counter()
        await make_store(base, args.eval_dir)
        print(f"store of {ARTICLES} articles built in {time.perf_counter() - started:.0f} s")
        lines = []
        paid = await Server.start(1000)
        try:
            for count in counts:
                results = [
                    await one_round(folder, base, paid, "shared", True, count) for _ in range(runs)
                ]
                lines.append(row(f"shared, {count:,} chats, PAID_BROADCAST=1", results))
                print(lines[-1], flush=True)
            results = [
                await one_round(folder, base, paid, "per-chat", True, per_chat) for _ in range(runs)
            ]
            lines.append(row(f"per chat, {per_chat:,} chats, PAID_BROADCAST=1", results))
            print(lines[-1], flush=True)
        finally:
            await paid.stop()
        unlimited = await Server.start(UNLIMITED)
        try:
            # Long enough to be more than its first second, short enough to be quick.
            count = min(counts[-1], 10_000)
            results = [
                await one_round(folder, base, unlimited, "ceiling", True, count)
                for _ in range(runs)
            ]
            lines.append(row(f"shared, {count:,} chats, no overall limit", results))
            print(lines[-1], flush=True)
        finally:
            await unlimited.stop()
        free = await Server.start(30)
        try:
            results = [await one_round(folder, base, free, "shared", False, args.slow)]
            lines.append(row(f"shared, {args.slow:,} chats, 30 a second", results))
            print(lines[-1], flush=True)
        finally:
            await free.stop()
    print(f"\n{runs} run(s) each where noted: median (range)\n")
    print(HEADER)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
