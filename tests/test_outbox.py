"""The ledger of outgoing messages: recorded before the first send, each marked when
Telegram confirms it, sent once whatever fails in between (issue cases 1 and 2)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app import App, build_app
from bot.config import Settings
from bot.delivery import Limits, Outgoing
from bot.models import NewArticle, OutboxPart
from bot.outbox import Retry, part
from storage.db import Database, to_db_time
from storage.outbox import DigestRecord, OutboxRepo
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram
from tests.conftest import SEEDS_DIR, TOKEN, Store

T0 = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)
# One message every 50 ms per chat: slow enough to fail a digest part-way.
WORDS = sorted(
    {w for w in (SEEDS_DIR / "000_04ae095c1d503094.txt").read_text("utf-8").split() if w.isalpha()}
)
PACED = Limits(global_per_sec=1000, per_chat_per_sec=20, per_group_per_min=100_000)
QUICK = Retry(
    first=timedelta(seconds=0.1),
    longest=timedelta(seconds=0.3),
    poll=0.1,
    attempts=2,
    backoff=0.05,
)


def parts(*texts: str) -> list[OutboxPart]:
    return [OutboxPart(text) for text in texts]


async def bodies(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM outbox_bodies")
    return int(row[0]) if row else 0


# --- the store, on both backends ----------------------------------------------------------


async def test_a_chats_messages_are_claimed_one_at_a_time_in_order(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "2026-06-17", parts("a", "b", "c"), now=T0)
    await repo.record(8, "answer", "1", parts("x"), now=T0)
    heads = await repo.claim_heads(now=T0, lease=LEASE, limit=10)
    assert [(m.chat_id, m.part.text) for m in heads] == [(7, "a"), (8, "x")]
    # Claimed: nobody else gets them, and the chat's next one waits behind its head.
    assert await repo.claim_heads(now=T0, lease=LEASE, limit=10) == []
    assert await repo.claim_head(7, now=T0, lease=LEASE) is None
    await repo.mark_sent(heads[0].id, 501, now=T0)
    second = await repo.claim_head(7, now=T0, lease=LEASE)
    assert second is not None and second.part.text == "b"
    assert await repo.statuses(7) == [
        ("digest", "2026-06-17", 0, "sent"),
        ("digest", "2026-06-17", 1, "pending"),
        ("digest", "2026-06-17", 2, "pending"),
    ]


async def test_a_message_keeps_its_forum_topic(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "p", [OutboxPart("a", thread_id=77), OutboxPart("b")], now=T0)
    head = await repo.claim_head(7, now=T0, lease=LEASE)
    assert head is not None and head.part.thread_id == 77
    await repo.mark_sent(head.id, 501, now=T0)
    second = await repo.claim_head(7, now=T0, lease=LEASE)
    assert second is not None and second.part.thread_id is None


async def test_recording_a_run_twice_adds_nothing(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "p", parts("a", "b"), now=T0)
    await repo.record(7, "digest", "p", parts("a", "b"), now=T0)
    assert await repo.pending(7) == 2


async def test_an_answers_first_part_keeps_the_message_it_replies_to(db: Database) -> None:
    repo = OutboxRepo(db)
    recorded = [OutboxPart("a", reply_to=41), OutboxPart("b", article_id=3, numbers=((1, 9),))]
    await repo.record(-5, "answer", "m41:x", recorded, now=T0)
    first = await repo.claim_head(-5, now=T0, lease=LEASE)
    assert first is not None and first.part == recorded[0]
    await repo.mark_sent(first.id, 900, now=T0)
    second = await repo.claim_head(-5, now=T0, lease=LEASE)
    assert second is not None and second.part == recorded[1]
    assert second.part.reply_to is None


async def test_a_deferred_head_holds_back_the_rest_of_its_chat(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "p", parts("a", "b"), now=T0)
    head = await repo.claim_head(7, now=T0, lease=LEASE)
    assert head is not None
    await repo.defer(head.id, until=T0 + timedelta(minutes=5))
    assert await repo.claim_heads(now=T0 + timedelta(minutes=1), lease=LEASE, limit=10) == []
    assert await repo.next_due(now=T0) == T0 + timedelta(minutes=5)
    again = await repo.claim_head(7, now=T0 + timedelta(minutes=5), lease=LEASE)
    assert again is not None and again.id == head.id and again.attempts == 1


async def test_a_lease_that_ran_out_is_taken_over(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "p", parts("a"), now=T0)
    assert await repo.claim_head(7, now=T0, lease=LEASE) is not None
    assert await repo.claim_head(7, now=T0 + LEASE / 2, lease=LEASE) is None
    assert await repo.claim_head(7, now=T0 + LEASE, lease=LEASE) is not None


async def test_a_blocked_chat_loses_its_queue_and_a_migrated_one_keeps_it(db: Database) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "p", parts("a", "b"), now=T0)
    await repo.record(-5, "digest", "p", parts("c"), now=T0)
    assert await repo.drop_chat(7) == 2
    await repo.migrate(-5, -1005)
    assert await repo.pending(7) == 0 and await repo.pending(-5) == 0
    assert await repo.pending(-1005) == 1


async def test_a_group_commit_marks_claims_the_next_heads_and_keeps_what_they_meant(
    db: Database,
) -> None:
    repo = OutboxRepo(db)
    await repo.record(7, "digest", "2026-06-17", parts("a", "b"), now=T0)
    await repo.record(8, "digest", "2026-06-17", parts("x"), now=T0)
    await repo.record(9, "digest", "2026-06-17", parts("p", "q"), now=T0)
    first = {m.chat_id: m for m in await repo.claim_heads(now=T0, lease=LEASE, limit=10)}
    meant: list[str] = []

    async def remember() -> None:
        await db.execute("UPDATE chats SET current_article_id = NULL WHERE chat_id = 0")
        meant.append("kept")

    heads = await repo.mark_sent_many(
        [(first[7].id, 701), (first[8].id, 801)], now=T0, lease=LEASE, next_of=[7, 8],
        also=remember,
    )  # fmt: skip

    # Chat 7's second part is claimed for its worker; chat 8 has no more; 9 is untouched.
    assert {chat: m.part.text for chat, m in heads.items()} == {7: "b"}
    assert meant == ["kept"]
    assert [s for *_, s in await repo.statuses(7)] == ["sent", "pending"]
    assert [s for *_, s in await repo.statuses(8)] == ["sent"]
    assert await repo.claim_head(7, now=T0, lease=LEASE) is None  # "b" is claimed

    async def fails() -> None:
        await db.execute("UPDATE chats SET current_article_id = NULL WHERE chat_id = 0")
        raise RuntimeError("the store refused what the message meant")

    # What the messages meant failing costs nothing of the marks.
    await repo.mark_sent_many([(first[9].id, 901)], now=T0, lease=LEASE, also=fails)
    assert [s for *_, s in await repo.statuses(9)] == ["sent", "pending"]


async def test_the_digest_record_completes_its_run_in_the_same_transaction(db: Database) -> None:
    repo = OutboxRepo(db)
    subscriptions = SubscriptionRepo(db)
    assert await subscriptions.claim_run(7, "2026-06-17", now=T0)
    await repo.record_digest(
        7, "2026-06-17", parts("a", "b"), now=T0, built_at=T0, last_article_id=3
    )
    assert await subscriptions.run_status(7, "2026-06-17") == "sent"
    assert await subscriptions.last_sent_at(7) == T0
    assert await repo.pending(7) == 2


async def test_a_text_recorded_for_many_chats_is_stored_once(db: Database) -> None:
    repo = OutboxRepo(db)
    keyboard = '{"inline_keyboard":[[{"text":"Тезисы","callback_data":"st:points:7"}]]}'
    digest = (OutboxPart("Сводка за день", keyboard), OutboxPart("Продолжение"))
    await repo.record_digests(
        [DigestRecord(chat, "2026-06-17", digest, T0, None) for chat in range(1, 201)], now=T0
    )
    # The same text without its buttons is another message: a body of its own.
    await repo.record(999, "answer", "1", parts("Сводка за день"), now=T0)
    assert await bodies(db) == 3
    # A repository that has kept nothing in memory reads them from the store.
    heads = await OutboxRepo(db).claim_heads(now=T0, lease=LEASE, limit=1000)
    assert len(heads) == 201
    assert {m.part for m in heads if m.chat_id != 999} == {digest[0]}
    assert [m.part for m in heads if m.chat_id == 999] == [OutboxPart("Сводка за день")]
    for head in heads:
        await repo.mark_sent(head.id, 1, now=T0)
    second = await repo.claim_head(200, now=T0, lease=LEASE)
    assert second is not None and second.part == digest[1]


async def test_a_recording_undone_leaves_no_body_to_be_mistaken_for_the_next(
    db: Database,
) -> None:
    repo = OutboxRepo(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await repo.record(1, "answer", "1", parts("отменено"), now=T0)
            raise RuntimeError("the run's transaction fails")
    # SQLite hands the undone body's id to the next one, here recorded by another
    # repository (the bot has one per service) and claimed by the first.
    await OutboxRepo(db).record(2, "answer", "1", parts("отправлено"), now=T0)
    head = await repo.claim_head(2, now=T0, lease=LEASE)
    assert head is not None and head.part.text == "отправлено"
    assert await repo.pending(1) == 0


async def test_a_message_recorded_before_bodies_were_shared_keeps_its_own_text(
    db: Database,
) -> None:
    stamp = to_db_time(T0)
    await db.execute(
        "INSERT INTO outbox (chat_id, kind, ref, seq, text, markup, next_at, created_at)"
        " VALUES (5, 'digest', 'old', 0, ?, ?, ?, ?)",
        ("записано раньше", '{"inline_keyboard":[]}', stamp, stamp),
    )
    head = await OutboxRepo(db).claim_head(5, now=T0, lease=LEASE)
    assert head is not None
    assert (head.part.text, head.part.markup) == ("записано раньше", '{"inline_keyboard":[]}')


async def test_housekeeping_trims_old_delivered_and_dropped_messages_never_pending_ones(
    store: Store, tmp_path: Path
) -> None:
    from bot.jobs import KEEP_LEDGER, housekeeping
    from bot.root import open_services

    where = (
        {"database_path": store.target}
        if store.backend == "sqlite"
        else {"database_url": store.target, "database_path": tmp_path / "unused.sqlite3"}
    )
    now = T0 + timedelta(days=30)
    settings = Settings(_env_file=None, seeds_dir=tmp_path / "none", **where)  # type: ignore[call-arg]
    services = await open_services(settings, clock=lambda: now)
    try:
        repo = OutboxRepo(services.db)
        old = now - KEEP_LEDGER - timedelta(hours=1)
        recent = now - KEEP_LEDGER + timedelta(hours=1)
        for chat, at in ((7, old), (8, recent)):
            await repo.record(chat, "digest", "p", parts("sent", "dropped", "pending"), now=at)
            sent = await repo.claim_head(chat, now=at, lease=LEASE)
            assert sent is not None
            await repo.mark_sent(sent.id, 100 + chat, now=at)
            dropped = await repo.claim_head(chat, now=at, lease=LEASE)
            assert dropped is not None
            await repo.drop(dropped.id)
        await housekeeping(services.chats, services.intake, repo, lambda: now)
        # The week-old chat keeps only what is still to be sent; the recent one keeps all.
        assert await repo.statuses(7) == [("digest", "p", 2, "pending")]
        assert [s for *_, s in await repo.statuses(8)] == ["sent", "dropped", "pending"]
        # Both chats were sent the same three texts, stored once: all still in use.
        assert await bodies(services.db) == 3
        assert await repo.trim(before=now) == 2
        # Only what is still to be sent keeps its body.
        assert await bodies(services.db) == 1
    finally:
        await services.close()


@pytest.mark.postgres
async def test_two_processes_claiming_at_once_never_hold_one_message(store: Store) -> None:
    if store.backend != "postgres":
        pytest.skip("several processes share a PostgreSQL store only")
    first, second = await store.open(), await store.open()
    try:
        writer = OutboxRepo(first)
        for chat in range(40):
            await writer.record(chat, "digest", "p", parts("a", "b", "c"), now=T0)
        seen: list[int] = []

        async def sender(repo: OutboxRepo) -> None:
            while heads := await repo.claim_heads(now=T0, lease=LEASE, limit=7):
                for head in heads:
                    seen.append(head.id)
                    await repo.mark_sent(head.id, head.id, now=T0)

        await asyncio.gather(sender(OutboxRepo(first)), sender(OutboxRepo(second)))
        assert len(seen) == len(set(seen)) == 120
    finally:
        await first.close()
        await second.close()


# --- a running bot against the Bot API test server ----------------------------------------


@pytest.fixture
async def app(tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[App]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
        digest_stories=8,
    )
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    built = await build_app(settings, session=session, token=TOKEN, limits=PACED, retry=QUICK)
    await built.subscriptions.outbox.start()
    try:
        yield built
    finally:
        await built.close()


async def digest_of_several_parts(app: App, chat_id: int) -> datetime:
    """Subscribes the chat with its digest a minute overdue and stores articles enough
    for several messages; returns the time to run the digest at."""
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=1)).strftime("%H:%M")
    await app.subscriptions.subscribe(chat_id, f"{at} UTC", user_id=chat_id, now=now)
    # Distinct articles with long titles and sentences: eight stories told at length
    # fill the digest's two messages.
    rnd = random.Random(chat_id)
    for n in range(24):
        sentences = [
            " ".join(rnd.choice(WORDS) for _ in range(45)).capitalize() + "." for _ in range(5)
        ]
        title = " ".join(rnd.choice(WORDS) for _ in range(30)).capitalize()
        article = NewArticle(f"{title} {n}", " ".join(sentences))
        await app.services.articles.add(article, now=now - timedelta(hours=1))
    return now


async def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_digest_cut_by_a_502_storm_is_finished_once_when_it_passes(
    app: App, tg: FakeTelegram
) -> None:
    chat = 4101
    now = await digest_of_several_parts(app, chat)
    ledger = app.subscriptions.outbox.repo
    digest = asyncio.create_task(app.subscriptions.run_digest(chat, now=now))
    await until(lambda: len(tg.sent(chat)) >= 1, 10, "the first part")
    tg.fail("*", error_code=502, times=None)
    assert await digest  # some of it was delivered by this run
    recorded = len(await ledger.statuses(chat))
    assert recorded >= 2, "the digest should take several messages"
    cut = len(tg.sent(chat))
    assert await ledger.pending(chat) == recorded - cut > 0
    # The storm lasts: the rest is given back and tried again, not forgotten.
    await asyncio.sleep(1.0)
    assert len(tg.sent(chat)) == cut and await ledger.pending(chat) == recorded - cut
    tg.clear_faults()
    await until(lambda: len(tg.sent(chat)) == recorded, 10, "the rest of the digest")
    await asyncio.sleep(0.3)  # a second copy of anything would show by now
    texts = [call.text for call in tg.sent(chat)]
    assert len(texts) == recorded == len(set(texts))
    assert texts[0] is not None and "Сводка за" in texts[0]
    assert await ledger.pending(chat) == 0
    # The day's run was completed when it was recorded: it is never built again.
    assert not await app.subscriptions.run_digest(chat, now=now)
    assert len(tg.sent(chat)) == recorded


async def test_an_outage_at_the_digest_minute_is_waited_out_while_running(
    app: App, tg: FakeTelegram
) -> None:
    chat = 4102
    now = await digest_of_several_parts(app, chat)
    tg.fail("sendMessage", error_code=502, times=None)
    assert not await app.subscriptions.run_digest(chat, now=now)  # nothing went out yet
    ledger = app.subscriptions.outbox.repo
    recorded = await ledger.pending(chat)
    assert recorded >= 2 and tg.sent(chat) == []
    await asyncio.sleep(1.0)
    tg.clear_faults()
    # No restart: the ledger's own retries deliver it.
    await until(lambda: len(tg.sent(chat)) == recorded, 10, "the digest after the outage")
    await asyncio.sleep(0.3)
    assert len(tg.sent(chat)) == recorded
    assert await ledger.pending(chat) == 0


async def test_a_chat_that_blocked_the_bot_mid_digest_loses_its_queue_and_subscription(
    app: App, tg: FakeTelegram
) -> None:
    chat = 4103
    now = await digest_of_several_parts(app, chat)
    digest = asyncio.create_task(app.subscriptions.run_digest(chat, now=now))
    await until(lambda: len(tg.sent(chat)) >= 1, 10, "the first part")
    tg.block(chat)
    await digest
    assert await app.subscriptions.outbox.repo.pending(chat) == 0
    sub = await SubscriptionRepo(app.services.db).get(chat)
    assert sub is not None and not sub.active and sub.ended_reason == "blocked"


async def test_a_lease_that_runs_out_mid_send_does_not_start_a_second_send(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
    )
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    short = replace(QUICK, lease=timedelta(seconds=0.2))
    app = await build_app(settings, session=session, token=TOKEN, limits=PACED, retry=short)
    outbox = app.subscriptions.outbox
    await outbox.start()
    try:
        chat = 4104
        # Telegram takes the message but its answer is late: the claim runs out meanwhile,
        # and the sender's passes over the ledger find the message claimable again.
        hold = tg.hold("sendMessage", accept=True)
        await outbox.record(chat, "answer", "slow", [OutboxPart("один раз")])
        await asyncio.wait_for(hold.caught.wait(), 10)
        await asyncio.sleep(1.0)
        tg.release()
        await until(lambda: not outbox._workers, 10, "the send to finish")
        await asyncio.sleep(0.3)  # a second copy would show by now
        assert [call.text for call in tg.sent(chat)] == ["один раз"]
        assert await outbox.repo.pending(chat) == 0
        assert await outbox.repo.statuses(chat) == [("answer", "slow", 0, "sent")]
    finally:
        await app.close()


async def test_a_stop_mid_send_finishes_what_is_on_its_way_and_gives_the_rest_back(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    """A stop mid-round (SIGTERM, a deploy, a leader handing over): the sends on their
    way to Telegram finish and are marked, the ones waiting for their turn are given back
    unsent, and whoever sends next sends exactly the rest."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
    )
    chats = range(5201, 5281)
    texts = {f"{chat} {word}" for chat in chats for word in ("один", "два")}
    # Ten connections but four: ten sends on their way at most, the other chats' first
    # messages wait for a place.
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url), limit=14)
    app = await build_app(settings, session=session, token=TOKEN, limits=PACED, retry=QUICK)
    outbox = app.subscriptions.outbox
    try:
        # Telegram takes the 21st message and its answer is late; the ones after it wait
        # unanswered, to be carried out when the hold ends.
        hold = tg.hold("sendMessage", after=20, accept=True)
        now = datetime.now(UTC)
        for chat in chats:
            await outbox.repo.record(
                chat, "digest", "p", parts(f"{chat} один", f"{chat} два"), now=now
            )
        await outbox.start()
        await until(lambda: len(hold.held) >= 10, 10, "ten sends on their way")
        closing = asyncio.create_task(outbox.close())
        await asyncio.sleep(0.3)
        assert not closing.done(), "the close did not wait for the sends on their way"
        assert hold.accepted is not None
        tg.release()
        await asyncio.wait_for(closing, 15)
        delivered = [call.text for call in tg.sent()]
        assert len(delivered) == len(set(delivered)) >= 30
        db = app.services.db
        marked = await db.fetchall("SELECT count(*) FROM outbox WHERE status = 'sent'")
        # Every message Telegram took is marked, the late answer's too: none goes again.
        assert marked[0][0] == len(delivered)
        claimed = await db.fetchall(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_until IS NOT NULL"
        )
        assert claimed[0][0] == 0, "a message not sent is still claimed"
        assert await outbox.repo.pending() == len(texts) - len(delivered) > 0
    finally:
        await app.close()
    # The next start sends the rest, each message once.
    app = await build_app(settings, session=session, token=TOKEN, limits=PACED, retry=QUICK)
    try:
        await app.subscriptions.outbox.start()
        await until(lambda: len(tg.sent()) >= len(texts), 15, "the rest")
        await asyncio.sleep(0.3)  # a second copy would show by now
        delivered = [call.text for call in tg.sent()]
        assert sorted(delivered) == sorted(texts)
    finally:
        await app.close()
        await session.close()


async def test_the_lease_setting_is_the_ledgers_claim(tmp_path: Path, tg: FakeTelegram) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    for seconds in (None, 42):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=TOKEN,
            database_path=tmp_path / "db.sqlite3",
            seeds_dir=tmp_path / "no-seeds",
            **({} if seconds is None else {"delivery_lease_seconds": seconds}),
        )
        app = await build_app(settings, session=session, token=TOKEN)
        try:
            expected = timedelta(minutes=10) if seconds is None else timedelta(seconds=seconds)
            assert app.subscriptions.outbox.retry.lease == expected
        finally:
            await app.services.close()
    await session.close()


async def test_one_digest_to_many_chats_is_encoded_once_and_each_chat_gets_its_own(
    app: App, tg: FakeTelegram
) -> None:
    outbox = app.subscriptions.outbox
    deliverer = app.subscriptions.deliverer
    prepared: list[str] = []
    prepare = deliverer.prepare

    def counting(outgoing: Outgoing) -> Outgoing:
        prepared.append(outgoing.text)
        return prepare(outgoing)

    deliverer.prepare = counting  # type: ignore[method-assign]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Сюжет", callback_data="st:tell:3")]]
    )
    first, second = "<b>Сводка</b> первая", "<b>Сводка</b> вторая"
    chats = {11: None, 12: 77, -1000000000013: None}
    for chat, thread in chats.items():
        recorded = [part(first, keyboard, 3, thread_id=thread), part(second, None, None)]
        await outbox.record(chat, "digest", "2026-06-17", recorded)
    for chat in chats:
        # The sender's own pass may have taken a chat already: flush waits for it too.
        await outbox.flush(chat)
    await outbox.idle()
    assert await outbox.repo.pending() == 0

    assert sorted(prepared) == sorted([first, second])
    for chat, thread in chats.items():
        calls = tg.sent(chat)
        assert [c.text for c in calls] == [first, second]
        assert [c.result["text"] for c in calls] == ["Сводка первая", "Сводка вторая"]
        assert {c.chat_id for c in calls} == {chat}
        assert calls[0].params.get("message_thread_id") == thread
        assert "message_thread_id" not in calls[1].params
        assert calls[0].result["reply_markup"] == keyboard.model_dump(exclude_none=True)
        # Marked with the ids Telegram gave this chat's messages.
        rows = await app.services.db.fetchall(
            "SELECT message_id FROM outbox WHERE chat_id = ? ORDER BY seq", (chat,)
        )
        assert [r[0] for r in rows] == [c.result["message_id"] for c in calls]
