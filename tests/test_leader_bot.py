"""Two real bot processes on one PostgreSQL store: one leads the scheduled work, and when
it is killed the other takes over and runs it, sending nothing twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.botapi import FakeTelegram
from tests.conftest import TOKEN
from tests.processes import bot_process, environment, subscribe_overdue, wait_until
from tests.test_crash import write_articles

PATIENCE = 30.0
LEADS = "this process leads scheduled work"
FIRST, SECOND = 4001, 4002


async def until(condition: Callable[[], object], what: str) -> None:
    await wait_until(condition, PATIENCE, what)


@pytest.mark.postgres
async def test_the_leader_killed_the_other_process_takes_over_the_digests(
    tmp_path: Path, tg: FakeTelegram, postgres_url: str
) -> None:
    write_articles(tmp_path / "seeds", 3, seed=5)
    env = environment(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=tg.url,
        DATABASE_URL=postgres_url,
        LEADER_RETRY_SECONDS="0.3",
    )
    await subscribe_overdue(postgres_url, [FIRST])

    def digests(chat: int) -> int:
        return sum(1 for c in tg.sent(chat) if "Сводка за" in (c.text or ""))

    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    async with bot_process(env, tmp_path, first_log) as first:
        await until(lambda: LEADS in first_log.read_text(), "the first process to lead")
        await until(lambda: digests(FIRST) == 1, "the leader's catch-up digest")
        async with bot_process(env, tmp_path, second_log) as second:
            await until(lambda: "Start polling" in second_log.read_text(), "the second start")
            # Both are up; only the first leads, and the second has sent nothing.
            await asyncio.sleep(1.0)
            assert LEADS not in second_log.read_text()
            first.send_signal(signal.SIGKILL)
            await first.wait()
            # While nobody leads, a chat becomes overdue: the new leader catches it up.
            await subscribe_overdue(postgres_url, [SECOND])
            await until(lambda: LEADS in second_log.read_text(), "the second process to lead")
            await until(lambda: digests(SECOND) == 1, "the new leader's digest")
            await asyncio.sleep(0.5)  # anything sent twice would show up by now
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), PATIENCE) == 0
    assert (digests(FIRST), digests(SECOND)) == (1, 1)
    assert "Traceback" not in second_log.read_text()
