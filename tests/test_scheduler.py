from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from apscheduler.triggers.cron import CronTrigger

from bot.app import App, build_app
from bot.config import Settings
from bot.delivery import Limits
from bot.digest import latest_due, next_due, scheduled_at
from bot.jobs import DIGESTS_JOB, FEEDS_JOB, HOUSEKEEPING_JOB, digest_round, send_digest
from bot.models import NewArticle, Subscription
from bot.subscriptions import SubscriptionService
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram

TOKEN = "123:ABC"
FAST = Limits(global_per_sec=1000, per_chat_per_sec=1000, per_group_per_min=100_000)
ALMATY, MOSCOW, NEW_YORK = 1001, 1002, 1003
TEXT = (
    "Совет директоров одобрил сделку. Она будет закрыта до конца года. "
    "Акционеры получат дивиденды. Аналитики ждут роста котировок."
)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    tg: FakeTelegram
    settings: Settings
    clock: FakeClock
    app: App

    @classmethod
    async def start(cls, tg: FakeTelegram, settings: Settings, clock: FakeClock) -> Env:
        return cls(tg, settings, clock, await cls.build(tg, settings, clock))

    @staticmethod
    async def build(tg: FakeTelegram, settings: Settings, clock: FakeClock) -> App:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
        return await build_app(settings, session=session, token=TOKEN, clock=clock, limits=FAST)

    @property
    def scheduler(self) -> SubscriptionService:
        return self.app.subscriptions

    @property
    def subs(self) -> SubscriptionRepo:
        return SubscriptionRepo(self.app.services.db)

    async def subscribe(self, chat_id: int, args: str) -> None:
        await self.scheduler.subscribe(chat_id, args, user_id=1, now=self.clock())

    async def fire(self, chat_id: int) -> None:
        """What APScheduler calls at the chat's local time."""
        await send_digest(self.scheduler, chat_id, self.clock)

    async def article(self, title: str, at: datetime) -> None:
        await self.app.services.articles.add(NewArticle(title, f"{TEXT} {title}."), now=at)

    async def restart(self) -> SubscriptionService:
        """A new app on the same database, as after the process restarted."""
        await self.close()
        self.app = await self.build(self.tg, self.settings, self.clock)
        return self.scheduler

    async def close(self) -> None:
        await self.app.close()
        await asyncio.sleep(0)  # lets APScheduler's deferred shutdown run


def sub(zone: str, at: time = time(9, 0)) -> Subscription:
    return Subscription(chat_id=1, at=at, timezone=zone, subscribed_by=None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
        digest_grace_hours=3,
    )
    clock = FakeClock(utc(2026, 6, 16, 12, 0))
    async with FakeTelegram(token=TOKEN) as tg:
        state = await Env.start(tg, settings, clock)
        try:
            yield state
        finally:
            await state.close()


# -- when a digest is due ----------------------------------------------------------------


def test_same_local_time_in_three_zones_is_three_instants() -> None:
    now = utc(2026, 6, 17, 4, 30)
    assert latest_due(sub("Asia/Almaty"), now) == ("2026-06-17", utc(2026, 6, 17, 4, 0))
    assert latest_due(sub("Europe/Moscow"), now) == ("2026-06-16", utc(2026, 6, 16, 6, 0))
    assert latest_due(sub("America/New_York"), now) == ("2026-06-16", utc(2026, 6, 16, 13, 0))


def test_ended_subscription_is_never_due() -> None:
    ended = Subscription(1, time(9), "UTC", None, active=False, ended_reason="blocked")
    assert latest_due(ended, utc(2026, 6, 17, 12)) is None


@pytest.mark.parametrize(
    ("zone", "at", "period", "expected"),
    [
        # New York springs forward on 2026-03-08 and falls back on 2026-11-01.
        ("America/New_York", time(9), "2026-03-07", utc(2026, 3, 7, 14)),
        ("America/New_York", time(9), "2026-03-08", utc(2026, 3, 8, 13)),
        ("America/New_York", time(9), "2026-10-31", utc(2026, 10, 31, 13)),
        ("America/New_York", time(9), "2026-11-01", utc(2026, 11, 1, 14)),
        # 02:30 does not exist that night: an hour later on the new clock, 03:30 EDT.
        ("America/New_York", time(2, 30), "2026-03-08", utc(2026, 3, 8, 7, 30)),
        # 01:30 happens twice: the first one, 01:30 EDT.
        ("America/New_York", time(1, 30), "2026-11-01", utc(2026, 11, 1, 5, 30)),
        # Berlin: 2026-03-29 and 2026-10-25.
        ("Europe/Berlin", time(9), "2026-03-28", utc(2026, 3, 28, 8)),
        ("Europe/Berlin", time(9), "2026-03-29", utc(2026, 3, 29, 7)),
        ("Europe/Berlin", time(9), "2026-10-25", utc(2026, 10, 25, 8)),
    ],
)
def test_dst_days_keep_the_local_time_and_agree_with_cron(
    zone: str, at: time, period: str, expected: datetime
) -> None:
    subscription = sub(zone, at)
    assert scheduled_at(subscription, period) == expected
    assert latest_due(subscription, expected) == (period, expected)
    assert latest_due(subscription, expected - timedelta(seconds=1)) != (period, expected)
    # The due time the store keeps is that instant, until it has passed.
    assert next_due(subscription, expected - timedelta(seconds=1)) == expected
    following = next_due(subscription, expected)
    assert following is not None and following > expected
    assert latest_due(subscription, following) != (period, expected)
    # A cron trigger at the local time wakes up at the same instant too.
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(zone))
    fire = trigger.get_next_fire_time(None, expected - timedelta(hours=1))
    assert fire is not None and fire.astimezone(UTC) == expected


# -- the job, with an injected clock ---------------------------------------------------


async def test_only_chats_whose_local_time_came_get_their_digest(env: Env) -> None:
    await env.article("Сделка одобрена", utc(2026, 6, 16, 20, 0))
    await env.subscribe(ALMATY, "09:00 Asia/Almaty")
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    await env.subscribe(NEW_YORK, "09:00 America/New_York")

    async def tick(now: datetime) -> set[int]:
        # Every chat's job wakes up, as if each chat's minute had come.
        env.clock.now = now
        for chat in (ALMATY, MOSCOW, NEW_YORK):
            await env.fire(chat)
        return {chat for chat in (ALMATY, MOSCOW, NEW_YORK) if env.tg.sent(chat)}

    assert await tick(utc(2026, 6, 17, 3, 59)) == set()
    assert await tick(utc(2026, 6, 17, 4, 0)) == {ALMATY}
    assert await tick(utc(2026, 6, 17, 6, 0)) == {ALMATY, MOSCOW}
    assert await tick(utc(2026, 6, 17, 12, 0)) == {ALMATY, MOSCOW}
    assert await tick(utc(2026, 6, 17, 13, 0)) == {ALMATY, MOSCOW, NEW_YORK}
    # One message each: the digest fits in one, and no wake-up sent it twice.
    assert [len(env.tg.sent(chat)) for chat in (ALMATY, MOSCOW, NEW_YORK)] == [1, 1, 1]
    assert "Сделка одобрена" in (env.tg.sent(MOSCOW)[0].text or "")
    assert await env.subs.run_status(MOSCOW, "2026-06-17") == "sent"
    assert await env.subs.last_sent_at(MOSCOW) == utc(2026, 6, 17, 6, 0)


async def test_new_york_digest_follows_the_clock_change(env: Env) -> None:
    env.clock.now = utc(2026, 3, 1)
    await env.subscribe(NEW_YORK, "09:00 America/New_York")
    for now, period in (
        (utc(2026, 3, 7, 14), "2026-03-07"),
        (utc(2026, 3, 8, 13), "2026-03-08"),
        (utc(2026, 11, 1, 14), "2026-11-01"),
    ):
        assert await env.scheduler.run_digest(NEW_YORK, now=now), period
        assert await env.subs.run_status(NEW_YORK, period) == "sent"
        # The wall clock's old offset an hour later is the same day: nothing more.
        assert not await env.scheduler.run_digest(NEW_YORK, now=now + timedelta(hours=1))
    assert len(env.tg.sent(NEW_YORK)) == 3


async def test_berlin_digest_after_spring_forward(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Berlin")
    assert not await env.scheduler.run_digest(MOSCOW, now=utc(2026, 3, 29, 6, 59))
    assert await env.scheduler.run_digest(MOSCOW, now=utc(2026, 3, 29, 7, 0))
    assert await env.subs.run_status(MOSCOW, "2026-03-29") == "sent"


async def test_concurrent_runs_for_one_chat_and_day_send_once(env: Env) -> None:
    await env.article("Дивиденды", utc(2026, 6, 16, 20))
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    now = utc(2026, 6, 17, 6, 0)
    results = await asyncio.gather(*(env.scheduler.run_digest(MOSCOW, now=now) for _ in range(3)))
    assert sorted(results) == [False, False, True]
    assert len(env.tg.sent(MOSCOW)) == 1


# -- after a start -------------------------------------------------------------------


async def test_digest_missed_by_an_hour_is_sent_after_start(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    assert await env.scheduler.catch_up(utc(2026, 6, 17, 7, 0)) == 1
    assert len(env.tg.sent(MOSCOW)) == 1
    # Starting again the same day sends nothing more.
    assert await (await env.restart()).catch_up(utc(2026, 6, 17, 7, 5)) == 0
    assert len(env.tg.sent(MOSCOW)) == 1


async def test_digest_missed_by_five_hours_is_skipped_with_grace_of_three(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    assert await env.scheduler.catch_up(utc(2026, 6, 17, 11, 0)) == 0
    assert env.tg.sent(MOSCOW) == []
    assert await env.subs.run_status(MOSCOW, "2026-06-17") is None
    # The next day comes as usual.
    assert await env.scheduler.run_digest(MOSCOW, now=utc(2026, 6, 18, 6, 0))


async def test_digest_cut_off_by_a_crash_is_completed_once_after_restart(env: Env) -> None:
    await env.article("Котировки", utc(2026, 6, 16, 20))
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    # The process claimed the day and died before it could send anything.
    assert await env.subs.claim_run(MOSCOW, "2026-06-17", now=utc(2026, 6, 17, 6, 0))
    assert await env.subs.pending_runs() == [(MOSCOW, "2026-06-17")]

    scheduler = await env.restart()
    assert await scheduler.catch_up(utc(2026, 6, 17, 6, 20)) == 1
    assert len(env.tg.sent(MOSCOW)) == 1
    assert "Котировки" in (env.tg.sent(MOSCOW)[0].text or "")
    assert await env.subs.run_status(MOSCOW, "2026-06-17") == "sent"
    assert await env.subs.pending_runs() == []
    # Another restart, and the job's own wake-up: still one digest.
    assert await (await env.restart()).catch_up(utc(2026, 6, 17, 6, 30)) == 0
    assert not await env.scheduler.run_digest(MOSCOW, now=utc(2026, 6, 17, 6, 31))
    assert len(env.tg.sent(MOSCOW)) == 1


async def test_pending_digest_older_than_grace_is_not_resent(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    await env.subs.claim_run(MOSCOW, "2026-06-17", now=utc(2026, 6, 17, 6, 0))
    assert await (await env.restart()).catch_up(utc(2026, 6, 17, 10, 0)) == 0
    assert env.tg.sent(MOSCOW) == []


async def test_the_round_sends_only_due_chats_and_moves_each_to_its_next_day(env: Env) -> None:
    await env.article("Сделка одобрена", utc(2026, 6, 16, 20, 0))
    await env.subscribe(ALMATY, "09:00 Asia/Almaty")
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    await env.subscribe(NEW_YORK, "09:00 America/New_York")

    assert await env.scheduler.run_due(utc(2026, 6, 17, 3, 59)) == 0
    assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 0)) == 2
    assert {chat for chat in (ALMATY, MOSCOW, NEW_YORK) if env.tg.sent(chat)} == {ALMATY, MOSCOW}
    # Each handled row now waits for its next local 09:00; the other is still due today.
    assert await env.scheduler.next_run(ALMATY) == utc(2026, 6, 18, 4, 0)
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 18, 6, 0)
    assert await env.scheduler.next_run(NEW_YORK) == utc(2026, 6, 17, 13, 0)
    # The next minute's round has nothing to do; New York's comes at its time.
    assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 1)) == 0
    assert await env.scheduler.run_due(utc(2026, 6, 17, 13, 0)) == 1
    assert [len(env.tg.sent(chat)) for chat in (ALMATY, MOSCOW, NEW_YORK)] == [1, 1, 1]


async def due_in_pages_of_two(
    env: Env, monkeypatch: pytest.MonkeyPatch, chats: Iterable[int]
) -> list[int]:
    """The chats subscribed at 09:00 Moscow time with an article to tell, and the round
    reading its due chats two at a time."""
    monkeypatch.setattr("bot.subscriptions.DUE_PAGE", 2)
    await env.article("Дивиденды", utc(2026, 6, 16, 20))
    subscribed = list(chats)
    for chat in subscribed:
        await env.subscribe(chat, "09:00 Europe/Moscow")
    return subscribed


async def test_the_round_reads_the_due_chats_page_by_page(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await due_in_pages_of_two(env, monkeypatch, range(2001, 2006))
    await env.subscribe(ALMATY, "08:00 Europe/Moscow")  # an earlier due time, read first
    pages: list[int] = []
    due = env.subs.due

    async def counted(*args: object, **kwargs: object) -> list[Subscription]:
        page = await due(*args, **kwargs)  # type: ignore[arg-type]
        pages.append(len(page))
        return page

    monkeypatch.setattr(env.app.subscriptions._subscriptions, "due", counted)
    assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 0)) == 6
    # The last page was full: one more read finds the end.
    assert pages == [2, 2, 2, 0]
    assert all(len(env.tg.sent(chat)) == 1 for chat in [*chats, ALMATY])
    assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 1)) == 0


async def test_the_next_page_is_built_while_the_one_before_sends_and_no_further(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await due_in_pages_of_two(env, monkeypatch, range(2101, 2107))
    recorded: list[list[int]] = []
    record = env.app.subscriptions.outbox.repo.record_digests

    async def counted(records: Sequence[Any], **kwargs: Any) -> None:
        recorded.append([r.chat_id for r in records])
        await record(records, **kwargs)

    monkeypatch.setattr(env.app.subscriptions.outbox.repo, "record_digests", counted)
    # The network stops before the first digest is answered.
    env.tg.hold("sendMessage")
    round_ = asyncio.create_task(env.scheduler.run_due(utc(2026, 6, 17, 6, 0)))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(recorded) >= 2:
            break
    await asyncio.sleep(0.1)
    # The second page is recorded while the first still waits; the third waits for it.
    assert recorded == [chats[:2], chats[2:4]]
    assert not round_.done()
    env.tg.release()
    assert await asyncio.wait_for(round_, 10) == 6
    assert recorded == [chats[:2], chats[2:4], chats[4:]]
    assert all(len(env.tg.sent(chat)) == 1 for chat in chats)


async def test_a_stop_during_the_digest_job_ends_its_round_quietly_and_a_restart_finishes_it(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    chats = await due_in_pages_of_two(env, monkeypatch, range(2201, 2207))
    env.clock.now = utc(2026, 6, 17, 6, 0)
    # The network stops before the first digest is answered; the bot stops meanwhile.
    hold = env.tg.hold("sendMessage")
    job = asyncio.create_task(digest_round(env.scheduler, env.clock))
    await asyncio.wait_for(hold.caught.wait(), 10)
    with caplog.at_level(logging.WARNING):
        closing = asyncio.create_task(env.app.close())
        await asyncio.sleep(0.2)
        # The sends on their way are waited for, not cut off.
        assert not closing.done()
        env.tg.release()
        await asyncio.wait_for(closing, 15)
        await asyncio.sleep(0)  # APScheduler's deferred shutdown
    assert job.done() and job.result() is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    before = {chat: len(env.tg.sent(chat)) for chat in chats}
    assert all(count <= 1 for count in before.values()) and any(before.values())
    assert not all(before.values()), "the stop came after the round"
    env.app = await env.build(env.tg, env.settings, env.clock)
    env.scheduler.start()
    for _ in range(500):
        if all(env.tg.sent(chat) for chat in chats):
            break
        await asyncio.sleep(0.02)
    await env.scheduler.idle()
    await asyncio.sleep(0.2)  # a second copy would show by now
    assert {chat: len(env.tg.sent(chat)) for chat in chats} == dict.fromkeys(chats, 1)


async def test_the_round_skips_a_digest_already_sent_and_still_moves_on(env: Env) -> None:
    await env.article("Дивиденды", utc(2026, 6, 16, 20))
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    # The chat's digest went out by another way (an earlier round cut short by a crash).
    assert await env.scheduler.run_digest(MOSCOW, now=utc(2026, 6, 17, 6, 0))
    assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 1)) == 0
    assert len(env.tg.sent(MOSCOW)) == 1
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 18, 6, 0)


async def test_a_time_change_during_a_round_stands(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    [due] = await env.subs.due(utc(2026, 6, 17, 6, 0))
    await env.subscribe(MOSCOW, "10:00")
    assert due.due_at is not None
    await env.subs.reschedule([(MOSCOW, due.due_at, utc(2026, 6, 18, 6, 0))])
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 17, 7, 0)


async def test_subscriptions_from_before_due_times_are_dated_at_start(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    await env.subscribe(ALMATY, "09:00 Asia/Almaty")
    await env.app.services.db.execute("UPDATE subscriptions SET due_at = NULL")
    # 07:00 UTC: Moscow's 09:00 is an hour ago (within the grace), Almaty's three.
    assert await env.scheduler.catch_up(utc(2026, 6, 17, 7, 0)) == 1
    assert len(env.tg.sent(MOSCOW)) == 1 and env.tg.sent(ALMATY) == []
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 18, 6, 0)
    assert await env.scheduler.next_run(ALMATY) == utc(2026, 6, 18, 4, 0)


async def test_start_schedules_three_jobs_whatever_the_number_of_chats(env: Env) -> None:
    for chat in range(3001, 3051):
        await env.subscribe(chat, "09:00 Europe/Moscow")
    await env.app.start()
    await env.scheduler.idle()
    jobs = {job.id for job in env.app.jobs.scheduler.get_jobs()}
    assert jobs == {DIGESTS_JOB, FEEDS_JOB, HOUSEKEEPING_JOB}


async def test_start_rebuilds_jobs_from_sqlite(env: Env) -> None:
    env.clock.now = utc(2026, 6, 16, 9, 0)
    await env.subscribe(ALMATY, "09:00 Asia/Almaty")
    await env.subscribe(NEW_YORK, "07:30 America/New_York")
    await env.subscribe(MOSCOW, "09:00")
    await env.scheduler.unsubscribe(MOSCOW, now=env.clock())
    scheduler = await env.restart()
    await env.app.start()
    await scheduler.idle()
    # Nothing was due within the grace period at 09:00 UTC.
    assert env.tg.sent() == []
    # A started scheduler counts from the real time: check the local time of day.
    almaty, new_york = await scheduler.next_run(ALMATY), await scheduler.next_run(NEW_YORK)
    assert almaty is not None and new_york is not None
    assert almaty.astimezone(ZoneInfo("Asia/Almaty")).time() == time(9, 0)
    assert new_york.astimezone(ZoneInfo("America/New_York")).time() == time(7, 30)
    assert await scheduler.next_run(MOSCOW) is None


async def test_jobs_follow_subscribe_unsubscribe_and_time_zone_change(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 17, 6, 0)
    await env.scheduler.follow_timezone(MOSCOW, "Asia/Almaty", now=env.clock())
    assert await env.scheduler.next_run(MOSCOW) == utc(2026, 6, 17, 4, 0)
    await env.scheduler.unsubscribe(MOSCOW, now=env.clock())
    assert await env.scheduler.next_run(MOSCOW) is None


# -- what Telegram says back -----------------------------------------------------------


async def test_blocked_chat_ends_its_subscription(env: Env) -> None:
    await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
    env.tg.block(MOSCOW)
    assert not await env.scheduler.run_digest(MOSCOW, now=utc(2026, 6, 17, 6, 0))
    ended = await env.subs.get(MOSCOW)
    assert ended is not None and not ended.active and ended.ended_reason == "blocked"
    assert await env.scheduler.next_run(MOSCOW) is None


async def test_digest_follows_a_group_to_its_supergroup(env: Env) -> None:
    group, supergroup = -4001, -1_000_000_004_001
    await env.subscribe(group, "09:00 Europe/Moscow")
    env.tg.migrate(group, supergroup)
    assert await env.scheduler.run_digest(group, now=utc(2026, 6, 17, 6, 0))
    assert len(env.tg.sent(supergroup)) == 1
    assert await env.subs.get(group) is None
    moved = await env.subs.get(supergroup)
    assert moved is not None and moved.active
    assert await env.subs.run_status(supergroup, "2026-06-17") == "sent"
    assert await env.scheduler.next_run(group) is None
    assert await env.scheduler.next_run(supergroup) == utc(2026, 6, 17, 6, 0)


async def test_paid_broadcast_marks_scheduled_digests_only(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
        paid_broadcast=True,
    )
    clock = FakeClock(utc(2026, 6, 16, 12, 0))
    async with FakeTelegram(token=TOKEN) as tg:
        env = await Env.start(tg, settings, clock)
        try:
            await env.article("Сделка одобрена", utc(2026, 6, 16, 20, 0))
            await env.subscribe(MOSCOW, "09:00 Europe/Moscow")
            assert await env.scheduler.run_due(utc(2026, 6, 17, 6, 0)) == 1
            [digest] = tg.sent(MOSCOW)
            assert digest.params.get("allow_paid_broadcast") is True
            digest_now, zone = await env.scheduler.digest_now(ALMATY, now=clock())
            # /digest is an answer: through the answers' path, never a paid broadcast.
            answers = env.app.dp["answers"]
            replies = env.scheduler.digest_answer(digest_now, zone)
            assert await answers.send(ALMATY, replies, request="m1") == len(replies)
            assert tg.sent(ALMATY)
            assert all("allow_paid_broadcast" not in c.params for c in tg.sent(ALMATY))
        finally:
            await env.close()
