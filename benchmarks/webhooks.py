"""Interactive throughput of two webhook processes against one, on one PostgreSQL store.

Two `python -m bot run` processes in webhook mode share a fresh PostgreSQL database
(one of them leads scheduled work, both answer updates), against the Bot API test
server (tests/botapi.py) in a process of its own. This script is the load balancer and
the users: it POSTs updates to the processes' webhook paths over loopback HTTP, with a
fixed number of updates in flight, and takes an update as answered when the test server
receives the bot's reply to its chat.

    one   every update to the first process (the second is up and idle)
    two   the processes in turn, round robin: the same load shared by two

Updates alternate `/summary` (the seed article, its summary cached after the warm-up)
and `/latest`, each from a private chat of its own (so no chat's one-message-a-second
pacing is ever what waits). Both processes run with PAID_BROADCAST=1, so that the
sender's overall limit is 1,000 a second instead of Telegram's 30: at 30 the figure
would be the limit, not the processes. Per run and layout: updates a second (first
POST to last reply), the latency of each update (POST to its reply at the server) at
p50 and p95, and the bot processes' CPU per update (user + system, both processes).
The layouts alternate within each run, and the ratio two/one is taken per run.

    python benchmarks/webhooks.py --quick   # 300 updates x 3 runs, 16 in flight
    python benchmarks/webhooks.py           # 1,500 updates x 5 runs, 16 in flight

Needs a PostgreSQL server (SVODKA_BENCH_POSTGRES, default
postgresql://postgres@127.0.0.1:5432/postgres) where it may create and drop a database.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _bench import FLOOD_BURST, SEEDS_DIR, TOKEN, machine, percentile, table
from _common import ROOT, Spread

from bot.config import Settings

ADMIN_URL = os.environ.get("SVODKA_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "svodka_bench_webhooks"
SECRET = "bench-webhook-secret"
COMMANDS = ("/summary", "/latest")
CONCURRENCY = 16
# Chats are used in turn, a fresh one per update: far more than a run's updates a second.
CHAT_POOL = 50_000
SETTINGS = {name.upper() for name in Settings.model_fields}


# -- the Bot API server, in a process of its own ------------------------------------------


async def serve() -> None:
    """The child: a FakeTelegram that prints `chat_id time` for every message it takes
    (time: CLOCK_MONOTONIC, the same clock in every process of the machine)."""
    from tests.botapi import Call, FakeTelegram

    def report(call: Call) -> None:
        if call.method == "sendMessage" and call.ok:
            sys.stdout.write(f"{call.chat_id} {call.time!r}\n")
            sys.stdout.flush()

    async with FakeTelegram(token=TOKEN) as tg:
        tg.listeners.append(report)
        print(tg.url, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()  # until stdin closes


# -- the store and the bot processes -------------------------------------------------------


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def recreate_database() -> str:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return database_url(DATABASE)


async def drop_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # utime and stime, fields 14 and 15 of the whole line.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


async def start_bot(api_url: str, store: str, workdir: Path, log: Path) -> BotProcess:
    port = free_port()
    # The developer's own bot settings stay out (FEEDS would reach the network).
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        PYTHONPATH=str(ROOT),
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=store,
        DATABASE_PATH=str(workdir / "unused.sqlite3"),
        SEEDS_DIR=str(SEEDS_DIR),
        FLOOD_BURST=str(FLOOD_BURST),
        PAID_BROADCAST="1",
        # Registered with the test server, which never calls it: this script is the
        # load balancer, POSTing to the path it gives (/webhook) on each process's port.
        WEBHOOK_URL="https://bench.invalid",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="WARNING",
    )
    with log.open("a") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    return BotProcess(process, port, log)


async def wait_ready(session: Any, bot: BotProcess, timeout: float = 180) -> None:
    """Until the webhook path answers (401 without the secret): the app has started."""
    import aiohttp

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.returncode is not None:
            raise SystemExit(f"a bot process ended with {bot.process.returncode}")
        try:
            async with session.post(bot.url, json={}) as response:
                if response.status == 401:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("a bot process did not start in time")


async def stop_bot(bot: BotProcess) -> None:
    if bot.process.returncode is None:
        bot.process.terminate()
        try:
            await asyncio.wait_for(bot.process.wait(), 30)
        except TimeoutError:
            bot.process.kill()
            await bot.process.wait()


# -- the load ------------------------------------------------------------------------------


class Replies:
    """The server's stream of replies: a future per chat waiting for one."""

    def __init__(self, stdout: asyncio.StreamReader) -> None:
        self._stdout = stdout
        self._waiting: dict[int, asyncio.Future[float]] = {}
        self._task = asyncio.create_task(self._read())

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = future
        return future

    async def _read(self) -> None:
        while line := await self._stdout.readline():
            chat, at = line.split()
            future = self._waiting.pop(int(chat), None)
            if future is not None and not future.done():
                future.set_result(float(at))

    def close(self) -> None:
        self._task.cancel()


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    person = {"id": chat_id, "is_bot": False, "first_name": f"User {chat_id}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": person["first_name"]},
            "from": {**person, "language_code": "ru"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@dataclass(frozen=True)
class Figures:
    rate: float  # updates a second
    p50: float  # ms
    p95: float  # ms
    cpu_ms: float  # bot CPU per update, both processes
    rest_ms: float  # the test server's and this script's CPU per update
    busy: float  # the share of the machine's cores busy (everyone's work)


class Load:
    def __init__(self, session: Any, replies: Replies, server: int) -> None:
        self._session = session
        self._server = server
        self._replies = replies
        self._chats = itertools.cycle(range(1_000_001, 1_000_001 + CHAT_POOL))
        self._ids = itertools.count(1)

    async def one(self, bot: BotProcess, n: int) -> float:
        """POSTs one update and returns its latency in seconds (POST to reply)."""
        chat = next(self._chats)
        replied = self._replies.expect(chat)
        body = update(next(self._ids), chat, COMMANDS[n % len(COMMANDS)])
        started = time.monotonic()
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self._session.post(bot.url, json=body, headers=headers) as response:
            if response.status != 200:
                raise SystemExit(f"webhook answered {response.status}")
        at = await asyncio.wait_for(replied, 60)
        return at - started

    async def run(
        self, targets: Sequence[BotProcess], count: int, everyone: Sequence[BotProcess]
    ) -> Figures:
        """`count` updates to `targets` in turn, CONCURRENCY in flight at any time."""
        latencies: list[float] = []
        numbers = iter(range(count))
        turn = itertools.cycle(targets)

        async def user() -> None:
            for n in numbers:
                latencies.append(await self.one(next(turn), n))

        def rest() -> float:
            return process_cpu(self._server) + process_cpu(os.getpid())

        cpu, others, (busy, total) = sum(b.cpu_seconds() for b in everyone), rest(), machine_cpu()
        started = time.monotonic()
        await asyncio.gather(*(user() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
        cpu = sum(bot.cpu_seconds() for bot in everyone) - cpu
        others = rest() - others
        busy_after, total_after = machine_cpu()
        return Figures(
            rate=count / elapsed,
            p50=percentile(latencies, 50) * 1000,
            p95=percentile(latencies, 95) * 1000,
            cpu_ms=cpu / count * 1000,
            rest_ms=others / count * 1000,
            busy=(busy_after - busy) / max(total_after - total, 1e-9),
        )


# -- the report ----------------------------------------------------------------------------


def report(runs: list[dict[str, Figures]], count: int) -> None:
    def spread(layout: str, field: str, spec: str) -> str:
        return Spread.of([getattr(run[layout], field) for run in runs]).format(spec)

    print(f"\n{machine()}; {count} updates a run, {CONCURRENCY} in flight, {len(runs)} runs\n")
    rows = [
        [
            label,
            spread(layout, "rate", ".0f"),
            spread(layout, "p50", ".1f"),
            spread(layout, "p95", ".1f"),
            spread(layout, "cpu_ms", ".2f"),
            spread(layout, "rest_ms", ".2f"),
            Spread.of([run[layout].busy * 100 for run in runs]).format(".0f"),
        ]
        for label, layout in (("one process", "one"), ("two processes", "two"))
    ]
    print(
        table(
            [
                "webhook processes",
                "updates/s",
                "p50 ms",
                "p95 ms",
                "bot CPU ms/update",
                "server + load CPU ms/update",
                "machine busy %",
            ],
            rows,
        )
    )
    ratios = Spread.of([run["two"].rate / run["one"].rate for run in runs])
    p95 = Spread.of([run["two"].p95 / run["one"].p95 for run in runs])
    print(f"\nthroughput two/one: {ratios}; p95 latency two/one: {p95}")
    print(json.dumps({"runs": [{k: vars(v) for k, v in run.items()} for run in runs]}))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 updates x 3 runs")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--updates", type=int)
    args = parser.parse_args()
    if args.serve:
        await serve()
        return
    count = args.updates or (300 if args.quick else 1500)
    rounds = args.runs or (3 if args.quick else 5)

    try:
        store = await recreate_database()
    except Exception as error:  # OSError, or one of asyncpg's own
        raise SystemExit(f"no PostgreSQL at {ADMIN_URL}: {error}") from None
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    api_url = (await server.stdout.readline()).decode().strip()
    replies = Replies(server.stdout)
    try:
        with tempfile.TemporaryDirectory(prefix="svodka-webhooks-") as tmp:
            runs = await measure(api_url, store, Path(tmp), replies, server.pid, count, rounds)
        report(runs, count)
    finally:
        replies.close()
        server.stdin.close()
        await server.wait()
        await drop_database()


async def measure(
    api_url: str, store: str, workdir: Path, replies: Replies, server: int, count: int, rounds: int
) -> list[dict[str, Figures]]:
    import aiohttp

    bots: list[BotProcess] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            # One after the other: the first migrates the store and leads.
            for n in range(2):
                bots.append(await start_bot(api_url, store, workdir, workdir / f"bot{n}.log"))
                await wait_ready(session, bots[-1])
            load = Load(session, replies, server)
            for bot in bots:  # the summarizer loaded, the seed's summary cached
                await load.run([bot], 100, bots)
            runs: list[dict[str, Figures]] = []
            for n in range(rounds):
                order = ("one", "two") if n % 2 == 0 else ("two", "one")
                run: dict[str, Figures] = {}
                for layout in order:
                    targets = bots[:1] if layout == "one" else bots
                    run[layout] = await load.run(targets, count, bots)
                    print(
                        f"run {n + 1} {layout}: {run[layout].rate:.0f} updates/s,"
                        f" p95 {run[layout].p95:.1f} ms",
                        flush=True,
                    )
                runs.append(run)
            return runs
    finally:
        for n, bot in enumerate(bots):
            if bot.process.returncode is not None:
                print(f"bot {n} ended with {bot.process.returncode}:")
                print(bot.log.read_text()[-3000:])
            await stop_bot(bot)


if __name__ == "__main__":
    asyncio.run(main())
