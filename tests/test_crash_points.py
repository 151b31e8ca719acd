"""A digest round killed again and again: `python -m bot run` SIGKILLed at many points of
one round of digests, restarted each time, and every chat's messages counted from the Bot
API test server's log: delivered once, twice or never (issue case 3).

The kill points are set by the test server, not by timing: after the k-th confirmed
message it stops answering (`FakeTelegram.hold`), so exactly k are delivered when the
process dies; or it delivers the next message and loses the answer, the one window the
ledger leaves (a message Telegram accepted whose confirmation never arrived). Others
freeze the process (SIGSTOP) while it holds the store's write lock as it records the
round, and kill it there. `SVODKA_CRASH_POINTS` raises the number of kills in the send
phase (20 by default).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.botapi import Call, FakeTelegram
from tests.conftest import TOKEN
from tests.processes import (
    ForkedBot,
    Zygote,
    count_deliveries,
    environment,
    ledger,
    read_only,
    subscribe_overdue,
    wait_until,
)
from tests.test_crash import write_articles

PATIENCE = 60.0
SEND_KILLS = int(os.environ.get("SVODKA_CRASH_POINTS", "20"))


def seeds(folder: Path) -> None:
    # Long titles and sentences, eight stories: a digest of two messages per chat.
    write_articles(folder, 24, seed=2, sentence_words=45, title_words=30)


def recorded_runs(database: Path) -> int:
    conn = read_only(database)
    try:
        return int(
            conn.execute("SELECT count(*) FROM digest_runs WHERE status = 'sent'").fetchone()[0]
        )
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def outbox(database: Path, status: str) -> int:
    conn = read_only(database)
    try:
        query = "SELECT count(*) FROM outbox WHERE status = ?"
        return int(conn.execute(query, (status,)).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def pending(database: Path) -> int:
    return outbox(database, "pending")


def expected_times(window: list[Call]) -> Counter[tuple[int, str]]:
    """How often each message is owed beyond once: each time Telegram took it and the
    answer was lost, the bot rightly sends it again."""
    return Counter((int(call.chat_id), str(call.text)) for call in window)


async def finish(zygote: Zygote, env: dict[str, str], cwd: Path, log: Path, database: Path) -> None:
    """A last start with nothing held: the rest goes out, then an orderly stop."""
    async with zygote.bot(env, cwd, log) as last:
        await wait_until(lambda: pending(database) == 0, PATIENCE, "the rest of the round")
        await asyncio.sleep(1.0)  # anything sent twice would show up by now
        last.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(last.wait(), 30) == 0


async def kill(process: ForkedBot) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL


@dataclass(frozen=True)
class Run:
    env: dict[str, str]
    cwd: Path
    log: Path

    @property
    def database(self) -> Path:
        return Path(self.env["DATABASE_PATH"])


async def kill_after(
    zygote: Zygote,
    tg: FakeTelegram,
    run: Run,
    step: int,
    window: bool,
    lost: int,
    recorded: int | None,
) -> Call | None:
    """Starts the bot and kills it once `step` more messages are confirmed (and, if
    given, `recorded` digests recorded); with `window`, the next message is delivered
    but its answer lost: returns that message. `lost`: answers lost so far."""
    hold = tg.hold("sendMessage", after=step, accept=window)
    async with zygote.bot(run.env, run.cwd, run.log) as process:
        if recorded is not None:
            await wait_until(
                lambda: recorded_runs(run.database) == recorded, PATIENCE, "the round recorded"
            )
        await asyncio.wait_for(hold.caught.wait(), PATIENCE)
        lost += hold.accepted is not None
        # Every answer the bot did get is marked by now: the only message in the window
        # is the one whose answer the server keeps.
        await wait_until(
            lambda: outbox(run.database, "sent") == len(tg.sent()) - lost, 10, "the marks"
        )
        await kill(process)
    # Held calls are cancelled as the connection drops; only then is the hold lifted, so
    # that none of them is carried out after the death.
    unanswered = [c for c in hold.held if c is not hold.accepted]
    await wait_until(lambda: all(c.status == 499 for c in unanswered), 10, "the held calls")
    tg.release()
    return hold.accepted


async def test_a_round_killed_at_20_points_while_sending_loses_nothing_doubles_only_the_window(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    chats = range(6001, 6017)
    seeds(tmp_path / "seeds")
    env = environment(
        tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=tg.url, DIGEST_STORIES="8", PAID_BROADCAST="1"
    )
    database = Path(env["DATABASE_PATH"])
    await subscribe_overdue(database, chats, minutes_ago=2)
    log = tmp_path / "bot.log"
    # After k more confirmed messages: 0 (recorded, nothing sent yet), then 1 or 2 at a
    # time; every other kill loses the answer to the next message instead.
    steps = [0] + [1 + (i % 3 == 2) for i in range(SEND_KILLS - 1)]
    window: list[Call] = []
    confirmed: list[int] = []
    async with Zygote.running(tmp_path / "zygote.log") as zygote:
        for n, step in enumerate(steps):
            left = pending(database) if n else len(chats) * 2
            assert left > step, "the round ran out before the kill points did"
            # The first kill once the whole round is recorded, before any send.
            recorded = len(chats) if n == 0 else None
            run = Run(env, tmp_path, log)
            accepted = await kill_after(zygote, tg, run, step, n % 2 == 1, len(window), recorded)
            if accepted is not None:
                window.append(accepted)
            confirmed.append(len(tg.sent()))
        await finish(zygote, env, tmp_path, log, database)

    recorded = {chat: [text for text, _ in rows] for chat, rows in ledger(database).items()}
    assert set(recorded) == set(chats)
    assert all(len(texts) >= 2 for texts in recorded.values())
    assert all(status == "sent" for rows in ledger(database).values() for _, status in rows)
    counts = count_deliveries(tg, recorded)
    owed = expected_times(window)
    assert counts.never == 0 and counts.unrecorded == 0, counts
    # Doubled: exactly the messages of the window, each as often as its answer was lost.
    got = Counter((chat, text) for chat, text in counts.doubled)
    assert set(got) == set(owed), counts
    for key, extra in owed.items():
        assert sum(1 for c in tg.sent(key[0]) if c.text == key[1]) == 1 + extra
    # Each chat's messages arrived in order (a resent one right after its first copy).
    for chat, texts in recorded.items():
        firsts = list(dict.fromkeys(c.text for c in tg.sent(chat)))
        assert firsts == texts, chat
    # The kills were spread across the round, each after more messages than the last.
    total = sum(len(texts) for texts in recorded.values())
    assert (
        confirmed[0] == 0
        and confirmed == sorted(set(confirmed))
        and confirmed[-1] < total + len(window)
    )
    assert "Traceback" not in log.read_text(encoding="utf-8")
    print(
        f"\n{len(steps)} kills while sending, {len(window)} in the window;"
        f" {total} messages to {len(recorded)} chats:"
        f" {counts}; doubled in the window {counts.twice}, outside it 0"
    )
