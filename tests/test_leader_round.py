"""Two real bot processes on one PostgreSQL store, the leader SIGKILLed or SIGTERMed in the
middle of a digest round of hundreds of chats: the other takes over and finishes the
round. Every chat gets every message. Killed, a message is sent twice only inside the
ledger's window (sent, its mark not yet written), so never more of them than the leader
had in hand; stopped, the leader finishes what is on its way first: nothing twice."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import to_db_time
from storage.postgres import PostgresDatabase
from tests.botapi import Call, FakeTelegram
from tests.conftest import TOKEN
from tests.processes import (
    Zygote,
    count_deliveries,
    environment,
    ledger_texts,
    subscribe_overdue,
    wait_until,
)
from tests.test_crash import write_articles

CHATS = range(7001, 7241)
PATIENCE = 60.0
LEASE = 3.0
LEADS = "this process leads scheduled work"


async def ledger_rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[int, str]]:
    db = await PostgresDatabase.connect(url, pool_size=1)
    try:
        return [(int(row[0]), str(row[1])) for row in await db.fetchall(sql, params)]
    finally:
        await db.close()


def read(log: Path) -> str:
    return log.read_text() if log.exists() else ""


@pytest.mark.postgres
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
async def test_the_leader_gone_mid_round_the_other_finishes_it_nothing_lost(
    tmp_path: Path, tg: FakeTelegram, postgres_url: str, stop: signal.Signals
) -> None:
    # Long titles and sentences, eight stories: each chat's digest takes several messages.
    write_articles(tmp_path / "seeds", 24, seed=2, sentence_words=45, title_words=30)
    env = environment(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=tg.url,
        DATABASE_URL=postgres_url,
        DIGEST_STORIES="8",
        # Telegram's overall 30 a second would make a round of this size take a minute.
        PAID_BROADCAST="1",
        LEADER_RETRY_SECONDS="0.3",
        # The dead leader's messages in hand go out this long after it claimed them.
        DELIVERY_LEASE_SECONDS=str(LEASE),
    )
    await subscribe_overdue(postgres_url, CHATS)
    # The round stops after its first 100 messages until the second process is up.
    hold = tg.hold("sendMessage", after=100)
    loop = asyncio.get_running_loop()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    async with (
        Zygote.running(tmp_path / "zygote.log") as zygote,
        zygote.bot(env, tmp_path, first_log) as first,
    ):
        await wait_until(lambda: LEADS in read(first_log), PATIENCE, "the first to lead")
        await asyncio.wait_for(hold.caught.wait(), PATIENCE)
        async with zygote.bot(env, tmp_path, second_log) as second:
            await wait_until(
                lambda: "Start polling" in read(second_log), PATIENCE, "the second start"
            )
            assert LEADS not in read(second_log)
            # Killed with the round in full flow, about half its messages delivered: by
            # the server as it answers that many, since a round of this size takes a
            # quarter of a second and this loop, busy serving it, can look too late
            # (woken by `tg.wait_for`, it signalled at 240-293).
            # When it was signalled (wall clock, loop clock) and how much was delivered then.
            signalled: asyncio.Future[tuple[datetime, float, int]] = loop.create_future()

            def stop_halfway(call: Call) -> None:
                if not signalled.done() and (delivered := len(tg.sent())) >= len(CHATS):
                    signalled.set_result((datetime.now(UTC), loop.time(), delivered))
                    first.send_signal(stop)

            tg.listeners.append(stop_halfway)
            tg.release()
            killed_at, killed, delivered_before = await asyncio.wait_for(signalled, PATIENCE)
            assert await asyncio.wait_for(first.wait(), 30) == (
                -stop if stop == signal.SIGKILL else 0
            )
            # Delivered is counted at the signal, not now: a stopped leader gives the lock
            # up before it exits, and the new one may be sending by then. What the dead
            # leader had in hand: claimed, not marked. The new leader's own claims run out
            # later than any of these.
            in_hand = set(
                await ledger_rows(
                    postgres_url,
                    ledger_texts(
                        "WHERE o.status = 'pending' AND o.claimed_until IS NOT NULL"
                        " AND o.claimed_until <= ?"
                    ),
                    (to_db_time(killed_at + timedelta(seconds=LEASE)),),
                )
            )
            await wait_until(lambda: LEADS in read(second_log), PATIENCE, "a new leader")
            took_over = loop.time() - killed

            async def left() -> int:
                # Messages not yet sent, and chats whose digest is not yet recorded (a
                # run the dead leader had claimed is built again by the new one).
                rows = await ledger_rows(
                    postgres_url,
                    "SELECT count(*), 'unsent' FROM outbox WHERE status = 'pending'"
                    " UNION ALL SELECT ? - count(*), 'unbuilt' FROM digest_runs"
                    " WHERE status = 'sent'",
                    (len(CHATS),),
                )
                return sum(count for count, _ in rows)

            deadline = loop.time() + PATIENCE
            while await left():
                assert loop.time() < deadline, "the round was not finished"
                await asyncio.sleep(0.1)
            done = loop.time() - killed
            await asyncio.sleep(1.0)  # anything sent twice would show up by now
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0

    rows = await ledger_rows(postgres_url, ledger_texts())
    recorded: dict[int, list[str]] = {}
    for chat, text in rows:
        recorded.setdefault(chat, []).append(text)
    assert set(recorded) == set(CHATS)
    assert all(len(texts) >= 2 for texts in recorded.values())
    messages = sum(len(texts) for texts in recorded.values())
    assert delivered_before < messages, "the kill came after the round"
    # Every subscription moved on to its next digest.
    [(later, _)] = await ledger_rows(
        postgres_url,
        "SELECT count(*), '' FROM subscriptions WHERE active = 1 AND due_at > ?",
        (to_db_time(killed_at),),
    )
    assert later == len(CHATS)
    counts = count_deliveries(tg, recorded)
    assert counts.never == 0 and counts.unrecorded == 0, counts
    # Sent twice: only messages the dead leader had claimed and not marked.
    assert set(counts.doubled) <= in_hand, counts
    assert counts.twice <= len(in_hand)
    assert "Traceback" not in read(second_log)
    if stop == signal.SIGTERM:
        # Stopped, not killed: what was on its way was marked, the rest given back.
        assert not in_hand and counts.twice == 0, counts
        assert "Traceback" not in read(first_log)
    print(
        f"\nchats {len(recorded)}, messages {messages}, delivered at the signal"
        f" {delivered_before}, in hand when it ended {len(in_hand)}, sent once {counts.once},"
        f" doubled (in the window) {counts.twice}, lost {counts.never};"
        f" new leader after {took_over:.1f} s, round finished {done:.1f} s after the kill"
        f" (lease {LEASE:g} s)"
    )
