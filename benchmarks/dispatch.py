"""Dispatch throughput: /summary and /points through the production Dispatcher, against
a bare aiogram handler, in the same run.

    production  bot.app.build_app: every router, the real services, SQLite in a temp dir
    bare        Dispatcher -> one Router -> one handler (Command filter) that answers a
                fixed text

Both get the same offline session (benchmarks/_bench.RecordingSession), so the figures
are the cost of handling an update, not of HTTP. Updates are fed one after another with
`Dispatcher.feed_update`, the loop getting one turn between them as polling gives it;
work the bot leaves in the background (recording its answers) is waited for within the
timing at the end of each round. Each figure is the median of the rounds, and the
rounds of the variants are interleaved so that a noisy neighbour slows all of them alike.

"cached" means the summary or points are cached (as `warm()` leaves them); "uncached"
empties the cache before each update (not timed), so sumy runs, in a thread.

    python benchmarks/dispatch.py            # 2,000 updates x 7 rounds
    python benchmarks/dispatch.py --quick    # 300 updates x 3 rounds
    python benchmarks/dispatch.py --http     # both through aiohttp to a loopback server
    python benchmarks/dispatch.py --profile  # cached /summary: thread round trips, cProfile
    python benchmarks/dispatch.py --filters-on-loop  # what if no F filter ran in a thread
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import functools
import logging
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from _bench import (
    BARE_REPLY,
    BOT_USERNAME,
    TOKEN,
    RecordingSession,
    Updates,
    bot_settings,
    filters_on_loop,
    machine,
    median,
    table,
    verdict,
)
from _common import Spread
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.app import App, build_app
from bot.offline import OfflineSession
from handlers import articles
from tests.botapi import FakeTelegram

GOAL = 0.5  # cached /summary: at least half the bare handler's throughput


async def bare_reply(message: Message) -> None:
    await message.answer(BARE_REPLY)


def bare_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    router = Router(name="bare")
    router.message.register(bare_reply, Command("summary", "points"))
    dp.include_router(router)
    return dp


class Side:
    """One Dispatcher with its Bot, fed updates one at a time; `replies` lists the texts
    of every message sent so far. `settle`, timed too, waits for work the handlers left
    running in the background (the production bot records its answers that way)."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        replies: Callable[[], list[str]],
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.replies = replies
        self.settle = settle
        self.updates = Updates()

    async def rate(
        self,
        text: str,
        count: int,
        *,
        before: Callable[[], object] | None = None,
        check: str | None = None,
    ) -> float:
        """Updates per second over `count` updates; `before` runs untimed before each one."""
        updates = [self.updates.message(text) for _ in range(count)]
        sent = len(self.replies())
        elapsed = 0.0
        for update in updates:
            if before is not None:
                result = before()
                if asyncio.iscoroutine(result):
                    await result
            started = time.perf_counter()
            await self.dp.feed_update(self.bot, update)
            # One turn of the loop between updates, as polling gives: background work
            # (the production bot's recording of answers) gets its chance to run.
            await asyncio.sleep(0)
            elapsed += time.perf_counter() - started
        if self.settle is not None:
            started = time.perf_counter()
            await self.settle()
            elapsed += time.perf_counter() - started
        replies = self.replies()[sent:]
        # A benchmark of the error path would be a wrong benchmark: check every answer.
        if len(replies) != count or (check and not all(check in reply for reply in replies)):
            raise RuntimeError(f"{text!r}: unexpected replies, e.g. {replies[-1:]}")
        return count / elapsed


def recorded(session: OfflineSession) -> Callable[[], list[str]]:
    return lambda: [sent.text for sent in session.sent]


async def production(
    workdir: Path,
    session: BaseSession | None = None,
    replies: Callable[[], list[str]] | None = None,
    api_url: str | None = None,
) -> tuple[App, Side]:
    """The production app with the seed's default summary and points cached."""
    if session is None:
        session = RecordingSession()
        replies = recorded(session)
    assert replies is not None
    settings = bot_settings(workdir) if api_url is None else bot_settings(workdir, api_url=api_url)
    app = await build_app(settings, session=session, token=TOKEN)
    [article] = await app.services.articles.latest(1)
    await app.services.articles.warm(article)
    return app, Side(app.dp, app.bot, replies, settle=app.services.chats.flush)


async def clear_cache(app: App) -> None:
    await app.services.articles.forget_summaries()


async def sides(stack: AsyncExitStack, workdir: Path, http: bool) -> tuple[App, Side, Side]:
    """The production app and the bare Dispatcher, offline or through a loopback server."""
    if not http:
        app, prod = await production(workdir)
        stack.push_async_callback(app.close)
        session = RecordingSession()
        return app, prod, Side(bare_dispatcher(), Bot(TOKEN, session=session), recorded(session))
    tg = await stack.enter_async_context(FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME))

    def replies() -> list[str]:
        return [call.text or "" for call in tg.sent()]

    def http_session() -> AiohttpSession:
        return AiohttpSession(api=TelegramAPIServer.from_base(tg.url))

    app, prod = await production(workdir, http_session(), replies, api_url=tg.url)
    stack.push_async_callback(app.close)
    bare_bot = Bot(TOKEN, session=http_session())
    stack.push_async_callback(bare_bot.session.close)
    return app, prod, Side(bare_dispatcher(), bare_bot, replies)


async def measure(count: int, rounds: int, uncached: int, *, http: bool, on_loop: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="svodka-dispatch-") as tmp:
        async with AsyncExitStack() as stack:
            app, prod, bare = await sides(stack, Path(tmp), http)
            rewrapped = filters_on_loop(app.dp) if on_loop else 0
            [article] = await app.services.articles.latest(1)
            # The summary's first sentence: proof that the reply is the summary itself.
            summary = await app.services.articles.summary(
                article,
                algorithm=app.settings.summary_algorithm,
                sentences=app.settings.summary_sentences,
            )
            marker = summary.sentences[0][:40]
            variants: dict[str, Callable[[], Awaitable[float]]] = {
                "bare handler": lambda: bare.rate("/summary", count, check=BARE_REPLY),
                "/summary, cached": lambda: prod.rate("/summary", count, check=marker),
                "/points, cached": lambda: prod.rate("/points", count),
            }
            for run in variants.values():  # warm-up: imports, caches, the first getMe
                await run()
            rates: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(rounds):
                for name, run in variants.items():
                    rates[name].append(await run())
            cold_summary = await prod.rate(
                "/summary", uncached, before=lambda: clear_cache(app), check=marker
            )
            cold_points = await prod.rate("/points", uncached, before=lambda: clear_cache(app))

    bare_rate = median(rates["bare handler"])
    # Each round's ratio to the bare handler of the same round, then their median and
    # range: a burst on the machine slows both sides of one round alike.
    ratios = {
        name: Spread.of([v / b for v, b in zip(values, rates["bare handler"], strict=True)])
        for name, values in rates.items()
    }
    rows: list[list[object]] = []
    for name, values in rates.items():
        rate = median(values)
        rows.append(
            [
                name,
                Spread.of(values).format(",.0f"),
                f"{1000 / rate:.3f}",
                ratios[name].format(".2f"),
            ]
        )
    for name, rate in (("/summary, uncached", cold_summary), ("/points, uncached", cold_points)):
        rows.append([name, f"{rate:,.1f}", f"{1000 / rate:.1f}", f"{rate / bare_rate:.4f}"])
    print(f"machine: {machine()}")
    where = "aiohttp session to a Bot API test server on 127.0.0.1" if http else "offline session"
    print(
        f"{where}; cached: {count} updates x {rounds} rounds, median; uncached: {uncached} updates"
    )
    if on_loop:
        print(f"what if: {rewrapped} F filters of the production Dispatcher rewrapped in OnLoop")
    print(table(["update", "updates/s (median, min–max)", "ms/update", "ratio to bare"], rows))
    ratio = ratios["/summary, cached"]
    print(f"\ngoal: cached /summary >= {GOAL} x bare: {ratio} -> {verdict(ratio.median >= GOAL)}")


class StatementCounter(logging.Handler):
    """aiosqlite's operations, each a round trip to its thread, by statement: aiosqlite
    logs every one at DEBUG level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg != "executing %s" or not record.args:
            return
        function = record.args[0] if isinstance(record.args, tuple) else record.args
        sql = next((a for a in getattr(function, "args", ()) if isinstance(a, str)), None)
        name = getattr(getattr(function, "func", function), "__name__", repr(function))
        if name == "close":
            name = "cursor.close() after Database.execute"
        self.counts[" ".join(sql.split())[:60] if sql else name] += 1


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor (asyncio.to_thread), counting what it is given."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="bench")
        self.counts: Counter[str] = Counter()
        self.labels: dict[int, str] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.counts[describe(fn, self.labels)] += 1
        return super().submit(fn, *args, **kwargs)


def filter_labels(dp: Dispatcher) -> dict[int, str]:
    """Which router and handler each synchronous `F` filter of message handlers is on."""
    labels: dict[int, str] = {}
    for router in dp.chain_tail:
        observer = router.message
        # `observer.filter(...)` keeps router-wide filters on a private stand-in handler.
        stand_in = getattr(observer, "_handler", None)
        handlers = [*observer.handlers, *([stand_in] if stand_in is not None else [])]
        for handler in handlers:
            for filter_object in handler.filters or ():
                if filter_object.magic is not None:
                    where = "every message" if handler is stand_in else handler.callback.__name__
                    name = "Dispatcher" if router is dp else router.name
                    labels[id(filter_object.magic)] = f"F filter: {name} / {where}"
    return labels


def describe(fn: Any, labels: dict[int, str]) -> str:
    # asyncio.to_thread submits partial(context.run, func); aiogram's func is a partial too.
    while isinstance(fn, functools.partial):
        is_run = isinstance(fn.func, type(contextvars.Context().run))
        fn = fn.args[0] if is_run and fn.args else fn.func
    owner = getattr(fn, "__self__", None)
    if owner is not None and id(owner) in labels:
        return labels[id(owner)]
    return getattr(fn, "__qualname__", repr(fn))


async def mean_ms(call: Callable[[], Awaitable[object]], times: int = 1000) -> float:
    for _ in range(50):
        await call()
    started = time.perf_counter()
    for _ in range(times):
        await call()
    return 1000 * (time.perf_counter() - started) / times


async def profile(count: int, *, on_loop: bool) -> None:
    """Thread round trips per update by cause, then cProfile's view of the same run."""
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    statements = StatementCounter()
    sqlite_log = logging.getLogger("aiosqlite")
    with tempfile.TemporaryDirectory(prefix="svodka-dispatch-") as tmp:
        app, prod = await production(Path(tmp))
        executor.labels = filter_labels(app.dp)
        if on_loop:
            filters_on_loop(app.dp)
        try:
            await prod.rate("/summary", 200)
            executor.counts.clear()
            sqlite_log.addHandler(statements)
            sqlite_log.setLevel(logging.DEBUG)
            sqlite_log.propagate = False
            try:
                await prod.rate("/summary", count)
            finally:
                sqlite_log.removeHandler(statements)
                sqlite_log.setLevel(logging.NOTSET)
            offloaded = Counter(executor.counts)
            messages = []
            for _ in range(1050):
                message = prod.updates.message("/summary").message
                assert message is not None
                messages.append(message.as_(app.bot))
            pending = iter(messages)
            command = CommandObject(prefix="/", command="summary")
            handler_ms = await mean_ms(
                lambda: articles.article_command(
                    next(pending), command, app.bot, app.services.articles, app.services.chats
                )
            )
            trip_ms = {
                "asyncio.to_thread(int)": await mean_ms(lambda: asyncio.to_thread(int)),
                "Database.fetchall('SELECT 1')": await mean_ms(
                    lambda: app.services.db.fetchall("SELECT 1")
                ),
                "Database.execute('SELECT 1')": await mean_ms(
                    lambda: app.services.db.execute("SELECT 1")
                ),
            }
            profiler = cProfile.Profile()
            profiler.enable()
            await prod.rate("/summary", count)
            profiler.disable()
        finally:
            await app.close()
    print(f"thread round trips per cached /summary ({count} updates):")
    rows = [["aiosqlite", name, f"{n / count:g}"] for name, n in statements.counts.most_common()]
    rows += [["to_thread", name, f"{n / count:g}"] for name, n in offloaded.most_common()]
    total = (sum(statements.counts.values()) + sum(offloaded.values())) / count
    rows.append(["", "**in all**", f"{total:g}"])
    print(table(["thread", "operation", "per update"], rows))
    print(f"\nthe /summary handler alone, called directly: {handler_ms:.3f} ms")
    print("\nwhat one round trip costs here, mean of 1,000:")
    print(table(["call", "ms"], [[name, f"{ms:.3f}"] for name, ms in trip_ms.items()]))
    print()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 updates x 3 rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile of cached /summary")
    parser.add_argument(
        "--http",
        action="store_true",
        help="both through aiogram's aiohttp session to a loopback server",
    )
    parser.add_argument(
        "--filters-on-loop",
        action="store_true",
        help="what if: every F filter wrapped in bot.filters.OnLoop",
    )
    args = parser.parse_args()
    if args.profile:
        asyncio.run(profile(1000, on_loop=args.filters_on_loop))
    else:
        count, rounds, uncached = (300, 3, 5) if args.quick else (2000, 7, 20)
        asyncio.run(measure(count, rounds, uncached, http=args.http, on_loop=args.filters_on_loop))


if __name__ == "__main__":
    main()
