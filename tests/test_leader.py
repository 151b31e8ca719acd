"""Leader election (bot.leader): one leader at a time on a shared PostgreSQL store, another
within seconds when it dies; the one process of a SQLite store always leads."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from bot.leader import LEADER_LOCK, Leadership, leadership
from storage.db import Database, LeaderLock
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase

ROOT = Path(__file__).resolve().parent.parent
# Generous: a loaded machine may be slow to start a process; nothing here measures time.
PATIENCE = 30.0


class Changes:
    def __init__(self) -> None:
        self.seen: list[bool] = []
        self.changed = asyncio.Event()

    async def __call__(self, leading: bool) -> None:
        self.seen.append(leading)
        self.changed.set()


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def test_the_one_process_of_a_sqlite_store_always_leads(tmp_path: Path) -> None:
    db = await SqliteDatabase.connect(tmp_path / "svodka.sqlite3")
    changes = Changes()
    try:
        async with leadership(db, on_change=changes) as leader:
            assert leader.is_leader
            await leader.wait_elected()
        assert not leader.is_leader
        assert changes.seen == [True, False]
    finally:
        await db.close()


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    db = await PostgresDatabase.connect(postgres_url, pool_size=2)
    try:
        yield db
    finally:
        await db.close()


def election(db: Database, changes: Changes | None = None) -> Leadership:
    return Leadership(db.leader_lock(LEADER_LOCK), retry=0.05, check=0.05, on_change=changes)


@pytest.mark.postgres
async def test_one_leads_and_the_other_takes_over_when_it_stops(pg: PostgresDatabase) -> None:
    first_changes, second_changes = Changes(), Changes()
    first = election(pg, first_changes)
    second = election(pg, second_changes)
    await first.start()
    await second.start()
    try:
        assert first.is_leader and not second.is_leader
        await asyncio.sleep(0.3)  # several of the follower's attempts
        assert first.is_leader and not second.is_leader
        await first.stop()
        await asyncio.wait_for(second.wait_elected(), PATIENCE)
        assert second.is_leader and not first.is_leader
        assert first_changes.seen == [True, False]
        assert second_changes.seen == [True]
    finally:
        await first.stop()
        await second.stop()


@pytest.mark.postgres
async def test_a_leader_whose_session_ends_stops_leading_and_is_replaced(
    pg: PostgresDatabase, postgres_url: str
) -> None:
    first_changes = Changes()
    first = election(pg, first_changes)
    second = election(pg)
    await first.start()
    await second.start()
    try:
        assert first.is_leader
        # The server ends the leader's session, as when its host drops off the network.
        admin = await asyncpg.connect(postgres_url)
        try:
            # Only this test's database: other databases on the server are not ours.
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        finally:
            await admin.close()
        assert ended == 1
        await asyncio.wait_for(second.wait_elected(), PATIENCE)
        await until(lambda: not first.is_leader, "the old leader to step down")
        assert first_changes.seen == [True, False]
        # It stays a follower while the other leads.
        await asyncio.sleep(0.3)
        assert second.is_leader and not first.is_leader
    finally:
        await first.stop()
        await second.stop()


class Unreachable(LeaderLock):
    """A store that does not answer, then does."""

    def __init__(self) -> None:
        self.down = True

    async def acquire(self) -> bool:
        if self.down:
            raise OSError("connection refused")
        return True

    async def held(self) -> bool:
        return not self.down

    async def release(self) -> None:
        return None


async def test_an_unreachable_store_means_following_until_it_answers() -> None:
    lock = Unreachable()
    async with Leadership(lock, retry=0.05, check=0.05) as leader:
        assert not leader.is_leader
        lock.down = False
        await asyncio.wait_for(leader.wait_elected(), PATIENCE)
        lock.down = True
        await until(lambda: not leader.is_leader, "the leader to notice the lost store")


@asynccontextmanager
async def contender(url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.leader_child",
        url,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def next_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), PATIENCE)
    assert line, "the process ended"
    return line.decode().strip()


@pytest.mark.postgres
async def test_two_processes_one_leads_and_when_it_is_killed_the_other_does(
    postgres_url: str,
) -> None:
    async with contender(postgres_url) as a:
        assert await next_line(a) == "leader"
        assert await next_line(a) == "started"
        async with contender(postgres_url) as b:
            assert await next_line(b) == "started"
            # b has tried a few times by now (every 0.2 s) and stays a follower.
            assert b.stdout is not None
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(b.stdout.readline(), 1.0)
            a.send_signal(signal.SIGKILL)
            await a.wait()
            assert await next_line(b) == "leader"
