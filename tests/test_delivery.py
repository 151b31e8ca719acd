"""Deliverer against the Bot API test server, through aiogram's aiohttp session."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.delivery import (
    _ACCEPTED,
    PAID_BROADCAST_PER_SEC,
    SENDS_AT_ONCE,
    SPARE_CONNECTIONS,
    ChatDelivery,
    Deliverer,
    Limits,
    Outgoing,
    OutgoingLike,
    Posted,
    global_limiter,
    in_flight,
)
from bot.subscriptions import DIGEST_CONCURRENCY
from tests.botapi import (
    FakeTelegram,
    LoopbackSession,
    busiest_second,
    make_bot,
    stamp_releases,
)

# Ceilings high enough that pacing never waits, for tests about errors rather than limits.
UNPACED = Limits(global_per_sec=10_000, per_chat_per_sec=10_000, per_group_per_min=600_000)


class Sleeps:
    """Stands in for asyncio.sleep: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class Recorder:
    def __init__(self) -> None:
        self.blocked: list[tuple[int, str]] = []
        self.migrated: list[tuple[int, int]] = []

    async def on_blocked(self, chat_id: int, reason: str) -> None:
        self.blocked.append((chat_id, reason))

    async def on_migrated(self, old: int, new: int) -> None:
        self.migrated.append((old, new))


@dataclass
class Report:
    chats: int
    sent: int  # messages delivered
    failed: int  # messages given up on (not counting chats that blocked the bot)
    blocked: int
    migrated: int
    retries: int


async def send_to_many(
    deliverer: Deliverer,
    jobs: Sequence[tuple[int, Sequence[OutgoingLike]]],
    *,
    concurrency: int = DIGEST_CONCURRENCY,
) -> Report:
    """Many chats at once, as SubscriptionService.run_due sends the digests due (or missed
    during a restart): a few chats at a time, each chat's messages in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(chat_id: int, messages: Sequence[OutgoingLike]) -> ChatDelivery:
        async with gate:
            return await deliverer.send_many(chat_id, messages)

    deliveries = await asyncio.gather(*(one(chat, messages) for chat, messages in jobs))
    return Report(
        chats=len(deliveries),
        sent=sum(len(d.messages) for d in deliveries),
        failed=sum(d.failed for d in deliveries),
        blocked=sum(d.blocked for d in deliveries),
        migrated=sum(d.migrated_to is not None for d in deliveries),
        retries=sum(d.retries for d in deliveries),
    )


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(tg) as client:
        yield client


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def deliverer(bot: Bot, recorder: Recorder, sleeps: Sleeps) -> Deliverer:
    return Deliverer(
        bot,
        on_blocked=recorder.on_blocked,
        on_migrated=recorder.on_migrated,
        max_retries=3,
        limits=UNPACED,
        sleep=sleeps,
    )


async def test_retry_after_is_waited_out_and_the_message_arrives_once(
    tg: FakeTelegram, deliverer: Deliverer, sleeps: Sleeps
) -> None:
    tg.fail("sendMessage", error_code=429, retry_after=1)

    message = await deliverer.send(1, "<b>Сводка</b>")

    assert message is not None and message.text == "Сводка"
    assert sleeps.delays == [1]
    assert [c.status for c in tg.calls_to("sendMessage")] == [429, 200]
    assert len(tg.sent(1)) == 1


async def test_retry_after_is_honoured_in_real_time(tg: FakeTelegram, bot: Bot) -> None:
    deliverer = Deliverer(bot, limits=UNPACED)
    tg.fail("sendMessage", error_code=429, retry_after=1)

    assert await deliverer.send(1, "x") is not None

    refused, accepted = tg.calls_to("sendMessage")
    assert accepted.time - refused.time >= 0.95


async def test_server_errors_are_retried_with_backoff(
    tg: FakeTelegram, deliverer: Deliverer, sleeps: Sleeps
) -> None:
    tg.fail("sendMessage", error_code=500, times=1)
    tg.fail("sendMessage", error_code=502, times=1)

    assert await deliverer.send(1, "x") is not None

    assert sleeps.delays == [0.5, 1.0]
    assert len(tg.sent(1)) == 1


async def test_a_server_that_keeps_failing_is_given_up_on_quietly(
    tg: FakeTelegram, deliverer: Deliverer, sleeps: Sleeps, recorder: Recorder
) -> None:
    tg.fail("sendMessage", error_code=500, times=None)

    assert await deliverer.send(1, "x") is None

    assert len(tg.calls_to("sendMessage")) == 4  # the first try and max_retries=3 more
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert recorder.blocked == []


async def test_network_errors_are_retried_then_given_up(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    session = LoopbackSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{closed_port}"))
    async with Bot("123:ABC", session=session) as offline:
        deliverer = Deliverer(offline, max_retries=2, limits=UNPACED, sleep=sleeps)
        assert await deliverer.send(1, "x") is None
    assert sleeps.delays == [0.5, 1.0]


async def test_a_chat_that_blocked_the_bot_is_reported_and_left_alone(
    tg: FakeTelegram, deliverer: Deliverer, recorder: Recorder
) -> None:
    tg.block(7)

    delivery = await deliverer.send_many(7, ["раз", "два", "три"])

    assert delivery.blocked and delivery.messages == []
    assert recorder.blocked == [(7, "Forbidden: bot was blocked by the user")]
    assert len(tg.calls_to("sendMessage")) == 1


async def test_chat_not_found_ends_the_chat_like_a_block(
    tg: FakeTelegram, deliverer: Deliverer, recorder: Recorder
) -> None:
    tg.fail("sendMessage", error_code=400, description="Bad Request: chat not found")

    assert await deliverer.send(-42, "x") is None
    assert recorder.blocked == [(-42, "Bad Request: chat not found")]


async def test_a_refused_message_is_not_retried(
    tg: FakeTelegram, deliverer: Deliverer, recorder: Recorder, sleeps: Sleeps
) -> None:
    delivery = await deliverer.send_many(1, ["<b>не закрыт", "<b>закрыт</b>"])

    assert [m.text for m in delivery.messages] == ["закрыт"]
    assert delivery.failed == 1 and not delivery.blocked
    assert len(tg.calls_to("sendMessage")) == 2
    assert sleeps.delays == [] and recorder.blocked == []


async def test_a_migrated_group_gets_the_messages_at_its_new_id(
    tg: FakeTelegram, deliverer: Deliverer, recorder: Recorder
) -> None:
    tg.migrate(-55, -1000000000055)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Тезисы", callback_data="art:points:1")]]
    )

    delivery = await deliverer.send_many(-55, [Outgoing("первое", keyboard), "второе"])

    assert recorder.migrated == [(-55, -1000000000055)]
    assert delivery.migrated_to == delivery.final_chat_id == -1000000000055
    assert [c.text for c in tg.sent(-1000000000055)] == ["первое", "второе"]
    assert tg.sent(-1000000000055)[0].result["reply_markup"] == keyboard.model_dump(
        exclude_none=True
    )
    assert len(tg.calls_to("sendMessage")) == 3  # one refusal at the old id, then no more


async def test_many_chats_are_not_held_up_by_a_failing_chat(
    tg: FakeTelegram, bot: Bot, recorder: Recorder
) -> None:
    stuck, gone, moved = 13, 14, -15
    tg.fail("sendMessage", error_code=500, chat_id=stuck, times=None)
    tg.block(gone)
    tg.migrate(moved, -1000000000015)
    chats = [n if n % 3 else -n for n in range(1, 51)]
    chats[chats.index(-15)] = moved
    deliverer = Deliverer(
        bot,
        on_blocked=recorder.on_blocked,
        on_migrated=recorder.on_migrated,
        max_retries=3,
        backoff=0.2,  # real waits: 0.2 + 0.4 + 0.8 s for the stuck chat
        limits=UNPACED,
    )

    report = await send_to_many(
        deliverer, [(chat, ["новости", "ещё"]) for chat in chats], concurrency=8
    )

    assert (report.chats, report.sent, report.failed) == (50, 96, 2)
    assert (report.blocked, report.migrated) == (1, 1)
    healthy = [c for c in tg.sent() if c.chat_id != stuck]
    last_try_at_stuck = tg.calls_to("sendMessage")[-1]
    assert last_try_at_stuck.chat_id == stuck
    assert max(c.time for c in healthy) < last_try_at_stuck.time
    for chat in chats:
        if chat not in (stuck, gone, moved):
            assert [c.text for c in tg.sent(chat)] == ["новости", "ещё"]


async def test_one_chat_gets_at_most_one_message_a_second(tg: FakeTelegram, bot: Bot) -> None:
    deliverer = Deliverer(bot)  # Telegram's real limits

    delivery = await deliverer.send_many(5, ["1", "2", "3"])

    assert len(delivery.messages) == 3
    sent = tg.sent(5)
    assert [c.text for c in sent] == ["1", "2", "3"]
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(sent)]
    assert all(gap >= 0.9 for gap in gaps), gaps


async def test_many_chats_stay_within_the_limits_telegram_enforces(
    tg: FakeTelegram, bot: Bot
) -> None:
    tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1, per_group_per_min=20)
    deliverer = Deliverer(bot)
    singles = [n if n % 2 else -n for n in range(1, 46)]
    # Queued behind everyone else, these two wait over a second for their first global
    # slot; their second message must still keep a second's distance from the first.
    doubles = [100, -100]
    jobs = [(chat, ["а"]) for chat in singles] + [(chat, ["а", "б"]) for chat in doubles]

    report = await send_to_many(deliverer, jobs)

    assert tg.violations == []
    assert (report.sent, report.failed, report.retries) == (49, 0, 0)
    for chat in doubles:
        first, second = tg.sent(chat)
        assert [first.text, second.text] == ["а", "б"]
        assert second.time - first.time >= 0.9


async def test_at_the_paid_broadcast_rate_no_second_goes_over_it(
    tg: FakeTelegram, bot: Bot
) -> None:
    # The server shares this loop and stamps a request when its handler runs, up to
    # tens of milliseconds after the client let it go on a loaded machine: its windows
    # are shortened by 0.1 s. The client's own release times are held to the exact limit.
    tg.enforce_limits(
        global_per_sec=PAID_BROADCAST_PER_SEC,
        per_chat_per_sec=1,
        per_group_per_min=20,
        tolerance=0.1,
    )
    deliverer = Deliverer(bot, limits=Limits(global_per_sec=PAID_BROADCAST_PER_SEC))
    released = stamp_releases(deliverer._global)
    # More than a second's worth, so that the bucket has run dry and refills as it sends.
    jobs = [(chat, ["а"]) for chat in range(1, 1501)]

    report = await send_to_many(deliverer, jobs, concurrency=DIGEST_CONCURRENCY)

    assert len(released) == 1500
    assert busiest_second(released) <= PAID_BROADCAST_PER_SEC
    assert tg.violations == []
    assert (report.sent, report.failed, report.retries) == (1500, 0, 0)


async def test_the_window_holds_a_second_to_the_limit_where_the_bucket_alone_would_not() -> None:
    limiter = global_limiter(100)
    # The bucket leaks the whole limit, nothing kept back: 5 at once and 100 a second
    # would let 105 through in its first second.
    bucket = limiter._bucket
    assert (bucket.max_rate, bucket.max_rate / bucket.time_period) == (5, 100)
    released = stamp_releases(limiter)

    await asyncio.gather(*(limiter.acquire() for _ in range(160)))

    assert len(released) == 160
    assert busiest_second(released) <= 100
    assert released[100] - released[0] >= 1.0


async def test_after_a_pause_no_shorter_span_carries_more_than_the_limits_rate() -> None:
    limiter = global_limiter(100)
    released = stamp_releases(limiter)
    # Nothing sent for a while: the bucket is full and the window empty.
    await asyncio.gather(*(limiter.acquire() for _ in range(200)))

    assert len(released) == 200
    assert busiest_second(released) <= 100
    # The bucketful at once, then the leak, would put a whole second's 100 into 0.95 s:
    # sends a little late on their way would make more than 100 of a second by the
    # receiver's clock.
    assert busiest_second(released, span=0.95) <= 95


async def test_the_overall_bucket_hands_its_tokens_out_in_batches() -> None:
    limiter = global_limiter(PAID_BROADCAST_PER_SEC)
    taken: list[float] = []
    bucket_acquire = limiter._bucket.acquire

    async def counted(amount: float = 1) -> None:
        taken.append(amount)
        await bucket_acquire(amount)

    limiter._bucket.acquire = counted  # type: ignore[method-assign]
    released: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        released.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(300)))

    assert len(released) == 300 and sum(taken) == 300
    # A bucket of 50 leaking 1,000 a second: its first 50 taken as they come (a few more
    # on a loaded machine, where the 300 senders' first turns take long enough for it to
    # leak some), the rest half a bucketful at a time (never emptying it, so that a late
    # wake-up loses nothing), far fewer wake-ups than one a message.
    singles = next(i for i, amount in enumerate(taken) if amount > 1)
    assert singles >= 50 and set(taken[:singles]) == {1}
    batches = taken[singles:]
    assert max(batches) == 25
    assert len(batches) <= sum(batches) // 25 + 1


async def test_a_sender_cancelled_while_it_waits_for_a_token_does_not_stall_the_others() -> None:
    limiter = global_limiter(20)  # a bucket of 1, leaking 20 a second
    await limiter.acquire()
    waiting = [asyncio.create_task(limiter.acquire()) for _ in range(4)]
    await asyncio.sleep(0)
    waiting[0].cancel()
    waiting[2].cancel()

    await asyncio.wait_for(asyncio.gather(waiting[1], waiting[3]), 2)

    assert waiting[0].cancelled() and waiting[2].cancelled()


async def test_a_held_message_keeps_its_place_in_flight_until_let_go(
    tg: FakeTelegram, bot: Bot
) -> None:
    deliverer = Deliverer(bot, limits=UNPACED)
    places = in_flight(bot.session)
    held = [await deliverer.send_many(chat, [Outgoing("а", hold=True)]) for chat in (1, 2)]
    refused_chat = 3
    tg.fail("sendMessage", error_code=400, description="Bad Request: can't parse entities")
    refused = await deliverer.send_many(refused_chat, [Outgoing("б", hold=True)])
    plain = await deliverer.send_many(4, [Outgoing("в")])

    assert [d.held for d in held] == [1, 1]
    assert (refused.held, plain.held) == (0, 0)
    # Two places taken; the refusal and the plain send gave theirs back.
    assert deliverer._in_flight._value == places - 2
    for delivery in held:
        deliverer.let_go(delivery.held)
    assert deliverer._in_flight._value == places


def test_sends_in_flight_are_bounded_and_leave_the_session_a_few_connections() -> None:
    assert in_flight(AiohttpSession()) == SENDS_AT_ONCE < 100 - SPARE_CONNECTIONS
    assert in_flight(AiohttpSession(limit=10)) == 10 - SPARE_CONNECTIONS
    assert in_flight(AiohttpSession(limit=0)) == SENDS_AT_ONCE  # aiohttp's "no limit"
    assert in_flight(AiohttpSession(limit=2)) == 1
    assert in_flight(object()) == SENDS_AT_ONCE


async def test_idle_chats_are_forgotten(deliverer: Deliverer) -> None:
    for chat in range(1, 401):
        await deliverer.send(chat, "x")
    await asyncio.sleep(0.01)  # unpaced buckets drain within a millisecond
    await deliverer.send(401, "x")

    assert deliverer.tracked_chats <= 256


# -- a message prepared once for many chats (the lean request path) ------------------------


def _digest_like() -> Outgoing:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Тезисы", callback_data="st:points:7")]]
    )
    return Outgoing(
        "<b>Сводка</b> — «кавычки» &amp; <i>ёлки</i> " + "текст " * 600,
        keyboard,
        allow_paid_broadcast=True,
        disable_notification=True,
    )


async def test_a_prepared_message_reaches_every_chat_as_aiogram_would_send_it(
    tg: FakeTelegram, deliverer: Deliverer
) -> None:
    outgoing = _digest_like()
    prepared = deliverer.prepare(outgoing)
    assert prepared.payload is not None and b"chat_id" not in prepared.payload

    plain = await deliverer.send_many(1, [outgoing])
    chats = [2, 3, -1000000000004]
    lean = [await deliverer.send_many(chat, [prepared]) for chat in chats]
    topic = await deliverer.send_many(5, [replace(prepared, message_thread_id=77)])

    (reference,) = tg.sent(1)
    assert isinstance(plain.messages[0], Message)
    for chat, delivery in zip([*chats, 5], [*lean, topic], strict=True):
        (call,) = tg.sent(chat)
        assert call.chat_id == chat
        # The same request as aiogram's own, but for the chat (and the topic).
        expected = {**reference.params, "chat_id": chat}
        if chat == 5:
            expected["message_thread_id"] = 77
        assert call.params == expected
        (posted,) = delivery.messages
        assert isinstance(posted, Posted)
        assert posted.message_id == call.result["message_id"]
    assert reference.params["allow_paid_broadcast"] is True
    assert reference.params["disable_notification"] is True


@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        ({"error_code": 429, "retry_after": 3}, "delivered"),
        ({"error_code": 502}, "delivered"),
        ({"error_code": 403}, "blocked"),
        ({"error_code": 400, "description": "Bad Request: chat not found"}, "blocked"),
        ({"error_code": 400, "description": "Bad Request: can't parse entities"}, "refused"),
        ({"error_code": 500, "times": None}, "gave up"),
    ],
)
async def test_errors_on_the_lean_path_are_handled_as_on_aiograms(
    tg: FakeTelegram,
    deliverer: Deliverer,
    recorder: Recorder,
    sleeps: Sleeps,
    fault: dict[str, Any],
    expect: str,
) -> None:
    prepared = deliverer.prepare(_digest_like())
    tg.fail("sendMessage", **fault)

    delivery = await deliverer.send_many(8, [prepared])

    outcome = (
        "blocked"
        if delivery.blocked
        else "gave up"
        if delivery.gave_up
        else "refused"
        if delivery.refused
        else "delivered"
    )
    assert outcome == expect
    assert len(tg.sent(8)) == (1 if expect == "delivered" else 0)
    if fault["error_code"] == 429:
        assert sleeps.delays == [3]
    if expect == "blocked":
        assert [chat for chat, _ in recorder.blocked] == [8]
    if expect == "gave up":
        assert sleeps.delays == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("body", "message_id"),
    [
        (b'{"ok":true,"result":{"message_id":42,"from":{"id":1}}}', 42),
        (b' { "ok" : true , "result" : { "message_id" : 7 } }', 7),
        (b'{"ok":true,"result":{"message_id":123456789012345678,"text":"}"}}', 123456789012345678),
        # Not the shape of an accepted send: left to the full decoding.
        (b'{"ok":true,"result":{"chat":{"message_id":1},"message_id":2}}', None),
        (b'{"ok":false,"result":{"message_id":3}}', None),
        (b'{"ok":true,"result":{"message_id":1.5}}', None),
        (b'{"ok":true,"result":{"message_id":"4"}}', None),
        (b'{"result":{"message_id":5},"ok":true}', None),
        (b"<html>502 Bad Gateway</html>", None),
    ],
)
def test_an_accepted_send_is_read_from_the_start_of_the_answer(
    body: bytes, message_id: int | None
) -> None:
    accepted = _ACCEPTED.match(body)
    assert (int(accepted[1]) if accepted else None) == message_id
    if accepted:
        # What the prefix says is what the whole answer says.
        assert json.loads(body)["result"]["message_id"] == message_id


async def test_a_prepared_message_follows_a_migration(
    tg: FakeTelegram, deliverer: Deliverer, recorder: Recorder
) -> None:
    tg.migrate(-66, -1000000000066)
    prepared = deliverer.prepare(_digest_like())

    delivery = await deliverer.send_many(-66, [prepared])

    assert recorder.migrated == [(-66, -1000000000066)]
    assert delivery.final_chat_id == -1000000000066
    (call,) = tg.sent(-1000000000066)
    assert isinstance(delivery.messages[0], Posted)
    assert delivery.messages[0].message_id == call.result["message_id"]


async def test_a_session_with_request_middleware_sends_every_message_the_full_way(
    tg: FakeTelegram, bot: Bot
) -> None:
    seen: list[str] = []

    async def middleware(make_request: Any, bot: Bot, method: Any) -> Any:
        seen.append(type(method).__name__)
        return await make_request(bot, method)

    bot.session.middleware(middleware)
    deliverer = Deliverer(bot, limits=UNPACED)
    prepared = deliverer.prepare(_digest_like())

    delivery = await deliverer.send_many(9, [prepared])

    assert prepared.payload is None
    assert seen == ["SendMessage"]
    assert isinstance(delivery.messages[0], Message)
