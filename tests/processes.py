"""Real bot processes for the crash, leadership and soak tests: `python -m bot run` in an
environment of the test's own, against the Bot API test server, and what they delivered
counted from that server's log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from storage.db import Database
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {name.upper() for name in Settings.model_fields}


async def subscribe_overdue(
    store: Path | str, chats: Iterable[int], *, minutes_ago: int = 1
) -> None:
    """Subscriptions (a SQLite path or a PostgreSQL URL) whose digest of today fell due
    `minutes_ago` minutes ago: the catch-up of the process that leads sends them at once."""
    due_at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    db = await Database.open(store)
    try:
        repo = SubscriptionRepo(db)
        for chat in chats:
            await repo.subscribe(
                chat, due_at.time(), "UTC", chat, now=due_at - timedelta(days=1), due_at=due_at
            )
    finally:
        await db.close()


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without the developer's bot settings (FEEDS would reach
    the network), and the run's own."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_PATH=str(tmp_path / "data" / "svodka.sqlite3"),
        SEEDS_DIR=str(tmp_path / "seeds"),
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


@asynccontextmanager
async def bot_process(
    env: Mapping[str, str], cwd: Path, log: Path, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` (or the `args` given), its output appended to `log`; killed on
    the way out if still running."""
    with log.open("a") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *(args or ("run",)), env=dict(env), cwd=cwd,
            stdout=out, stderr=out,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)


def ledger_texts(where: str = "", extra: str = "") -> str:
    """A query of each recorded message's chat and text (a text sent to many chats is
    kept once, in `outbox_bodies`), then `extra` columns, in the ledger's order."""
    return (
        f"SELECT o.chat_id, coalesce(b.text, o.text) AS text{extra} FROM outbox AS o"
        f" LEFT JOIN outbox_bodies AS b ON b.id = o.body_id {where} ORDER BY o.id"
    )


def ledger(path: Path) -> dict[int, list[tuple[str, str]]]:
    """Every message the store recorded for each chat, in order: (text, status)."""
    conn = read_only(path)
    try:
        rows = conn.execute(ledger_texts(extra=", o.status")).fetchall()
    finally:
        conn.close()
    chats: dict[int, list[tuple[str, str]]] = {}
    for chat, text, status in rows:
        chats.setdefault(int(chat), []).append((str(text), str(status)))
    return chats


@dataclass
class Deliveries:
    """Of the messages the store recorded: how many their chat received once, more than
    once and never; and messages received that nobody recorded."""

    once: int = 0
    twice: int = 0
    never: int = 0
    unrecorded: int = 0
    doubled: list[tuple[int, str]] = field(default_factory=list)
    lost: list[tuple[int, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"once {self.once}, twice {self.twice}, never {self.never},"
            f" unrecorded {self.unrecorded}"
        )


def count_deliveries(tg: FakeTelegram, recorded: Mapping[int, list[str]]) -> Deliveries:
    """Compares what each chat got (the server's log of successful sends, each with the
    HTML it was sent with) with what the store recorded for it."""
    counts = Deliveries()
    for chat, texts in recorded.items():
        assert len(set(texts)) == len(texts), f"chat {chat}: a text recorded twice"
        got = Counter(call.text for call in tg.sent(chat))
        for text in texts:
            times = got.pop(text, 0)
            if times == 1:
                counts.once += 1
            elif times == 0:
                counts.never += 1
                counts.lost.append((chat, text))
            else:
                counts.twice += 1
                counts.doubled.append((chat, text))
        counts.unrecorded += sum(got.values())
    return counts


class ForkedBot:
    """A bot process forked by tests/bot_zygote.py; a subset of asyncio's Process."""

    def __init__(self, pid: int, ended: asyncio.Future[int]) -> None:
        self.pid = pid
        self._ended = ended

    @property
    def returncode(self) -> int | None:
        return self._ended.result() if self._ended.done() else None

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)


class Zygote:
    """Starts bot processes from tests/bot_zygote.py, which has everything imported."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._started: asyncio.Queue[int] = asyncio.Queue()
        self._ended: dict[int, asyncio.Future[int]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    @asynccontextmanager
    async def running(cls, log: Path) -> AsyncIterator[Zygote]:
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        env["PYTHONPATH"] = str(ROOT)
        with log.open("a") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.bot_zygote", env=env, cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=out,
            )  # fmt: skip
        zygote = cls(process)
        try:
            assert process.stdout is not None
            ready = await asyncio.wait_for(process.stdout.readline(), 120)
            assert ready == b"ready\n", ready
            zygote._reader = asyncio.create_task(zygote._read())
            yield zygote
        finally:
            if process.returncode is None:
                assert process.stdin is not None
                process.stdin.close()  # it kills what it started, then ends
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            if zygote._reader is not None:
                zygote._reader.cancel()

    def _future(self, pid: int) -> asyncio.Future[int]:
        return self._ended.setdefault(pid, asyncio.get_running_loop().create_future())

    async def _read(self) -> None:
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            word, pid, *rest = line.decode().split()
            if word == "started":
                self._future(int(pid))
                self._started.put_nowait(int(pid))
            elif word == "exit":
                future = self._future(int(pid))
                if not future.done():
                    future.set_result(int(rest[0]))

    @asynccontextmanager
    async def bot(self, env: Mapping[str, str], cwd: Path, log: Path) -> AsyncIterator[ForkedBot]:
        """`python -m bot run`, forked; killed on the way out if still running."""
        assert self._process.stdin is not None
        order = {"env": dict(env), "cwd": str(cwd), "log": str(log)}
        self._process.stdin.write(json.dumps(order).encode() + b"\n")
        await self._process.stdin.drain()
        pid = await asyncio.wait_for(self._started.get(), 30)
        process = ForkedBot(pid, self._future(pid))
        try:
            yield process
        finally:
            if process.returncode is None:
                with suppress(ProcessLookupError):  # ended, its exit not yet read
                    process.kill()
            await process.wait()
