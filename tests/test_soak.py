"""The soak test: `python -m bot run` for half an hour of mixed commands, a growing feed
and digests falling due every minute, through 5xx storms and network partitions of the
Bot API test server; then every digest message counted, per chat, delivered once, twice
or never. Not in the default run:

    SVODKA_SOAK_SECONDS=1800 python -m pytest -m soak -n 0 -s tests/test_soak.py

(`SVODKA_SOAK_SECONDS=120` checks it in two minutes; `SVODKA_SOAK_SEED` picks another
sequence of commands and faults.)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram
from tests.conftest import TOKEN
from tests.processes import bot_process, count_deliveries, environment, ledger, wait_until
from tests.site import Site
from tests.test_crash import SEED_WORDS, count_articles, write_articles
from tests.test_crash_points import pending, recorded_runs
from tests.test_intake_feeds import Item, rss

SECONDS = float(os.environ.get("SVODKA_SOAK_SECONDS", "1800"))
SEED = int(os.environ.get("SVODKA_SOAK_SEED", "1"))
USERS = range(9001, 9021)
COMMANDS = ("/latest", "/summary 1", "/points 2", "/search Казахстан", "/digest", "/stories",
            "/settings", "/help", "/more 1", "привет")  # fmt: skip
# Time for what the storms left to go out after the last one: the ledger's retry delay
# doubles up to five minutes.
SETTLE = 420.0


async def subscribe(database: Path, due: dict[int, datetime]) -> None:
    db = await Database.open(database)
    try:
        repo = SubscriptionRepo(db)
        for chat, at in due.items():
            await repo.subscribe(
                chat, at.time(), "UTC", chat, now=at - timedelta(days=1), due_at=at
            )
    finally:
        await db.close()


def article_text(rnd: random.Random) -> str:
    return " ".join(
        " ".join(rnd.choice(SEED_WORDS) for _ in range(14)).capitalize() + "." for _ in range(6)
    )


async def faults(tg: FakeTelegram, rnd: random.Random, until: float, log: Counter[str]) -> None:
    """Calm, then a storm of 502s on every method, or a partition (nothing answered),
    in turn, until `until`."""
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        await asyncio.sleep(rnd.uniform(15, 40))
        if loop.time() >= until:
            break
        kind = rnd.choice(("storm", "partition"))
        length = rnd.uniform(8, 30)
        log[kind] += 1
        log[f"{kind} seconds"] += round(length)
        if kind == "storm":
            tg.fail("*", error_code=rnd.choice((500, 502, 503)), times=None)
            await asyncio.sleep(length)
            tg.clear_faults()
        else:
            tg.hold("*")
            await asyncio.sleep(length)
            tg.release()


async def commands(tg: FakeTelegram, rnd: random.Random, until: float, sent: Counter[int]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        user = rnd.choice(USERS)
        tg.message(rnd.choice(COMMANDS), user_id=user)
        sent[user] += 1
        await asyncio.sleep(rnd.uniform(0.2, 1.5))


async def feed(site: Site, rnd: random.Random, until: float, items: list[Item]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        n = len(items)
        items.append(
            Item(
                f"Новость ленты {n} {rnd.choice(SEED_WORDS)}",
                site.url(f"/news/{n}"),
                article_text(rnd),
                guid=f"soak-{n}",
                published=datetime.now(UTC),
            )
        )
        site.put("/feed.xml", rss(items[-20:]))
        await asyncio.sleep(30)


@pytest.mark.soak
# The run's own length, the settling and start-up, not the suite's five minutes a test.
@pytest.mark.timeout(SECONDS + SETTLE + 300)
async def test_soak_mixed_traffic_through_storms_and_partitions_loses_and_doubles_nothing(
    tmp_path: Path, tg: FakeTelegram, site: Site
) -> None:
    rnd = random.Random(SEED)
    write_articles(tmp_path / "seeds", 12, seed=3, sentence_words=20, title_words=6)
    items: list[Item] = []
    site.put("/feed.xml", rss(items))
    env = environment(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=tg.url,
        FEEDS=site.url("/feed.xml"),
        FEED_POLL_MINUTES="1",
        FETCH_ALLOW_PRIVATE="1",
        DIGEST_STORIES="8",
        FLOOD_BURST="1000",
    )
    database = Path(env["DATABASE_PATH"])
    # Three chats fall due every minute of the run but the last.
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = max(1, int(SECONDS // 60) - 1)
    due = {8001 + i: start + timedelta(minutes=2 + i // 3) for i in range(3 * minutes)}
    await subscribe(database, due)
    log = tmp_path / "bot.log"
    happened: Counter[str] = Counter()
    asked: Counter[int] = Counter()
    async with bot_process(env, tmp_path, log) as process:
        await wait_until(lambda: "Start polling" in log.read_text(), 120, "the bot to start")
        until = asyncio.get_running_loop().time() + SECONDS
        await asyncio.gather(
            faults(tg, rnd, until, happened),
            commands(tg, rnd, until, asked),
            feed(site, rnd, until, items),
        )
        # Calm from here on: every digest due by now is recorded and goes out.
        last_due = max(due.values())
        await wait_until(
            lambda: datetime.now(UTC) > last_due + timedelta(seconds=5), SETTLE, "the last due"
        )
        await wait_until(
            lambda: recorded_runs(database) == len(due) and pending(database) == 0,
            SETTLE,
            "every digest to go out",
        )
        await asyncio.sleep(2.0)  # anything sent twice would show up by now
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0

    recorded = {chat: [text for text, _ in rows] for chat, rows in ledger(database).items()}
    digests = {chat: texts for chat, texts in recorded.items() if chat in due}
    assert set(digests) == set(due)
    counts = count_deliveries(tg, digests)
    answered = sum(len(tg.sent(user)) for user in USERS)
    print(
        f"\nsoak {SECONDS:.0f} s (seed {SEED}): {dict(happened)};"
        f" {sum(asked.values())} commands, {answered} answers;"
        f" feed items {len(items)}, articles stored {count_articles(database)};"
        f" digests {len(digests)}, {sum(len(t) for t in digests.values())} messages: {counts}"
    )
    assert (counts.never, counts.twice, counts.unrecorded) == (0, 0, 0), counts
    output = log.read_text(encoding="utf-8")
    assert "Traceback" not in output
