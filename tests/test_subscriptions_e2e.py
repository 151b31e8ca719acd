"""Subscriptions and digests end to end: updates in through long polling, the real
Dispatcher, SQLite and APScheduler, messages out through aiogram's aiohttp session to the
Bot API test server."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot import texts
from bot.app import App, build_app, poll
from bot.config import Settings
from bot.jobs import DIGESTS_JOB, send_digest
from bot.render import ArticleAction
from storage.subscriptions import SubscriptionRepo
from tests.botapi import Call, FakeTelegram
from tests.conftest import TOKEN

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
USER = 1001
ADMIN = 2002
GROUP = -5001
SUPERGROUP = -1_000_000_005_001
# Telegram's GroupAnonymousBot: who an anonymous admin's message seems to come from.
ANONYMOUS = 1087968824


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    # 08:58 in Moscow.
    return FakeClock(datetime(2026, 6, 17, 5, 58, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, tg: FakeTelegram) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        telegram_api_url=tg.url,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=SEEDS,
    )


@asynccontextmanager
async def bot_running(settings: Settings, tg: FakeTelegram, clock: FakeClock) -> AsyncIterator[App]:
    """The bot as `python -m bot` runs it, against the test server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    app = await build_app(settings, session=session, clock=clock)
    polling = asyncio.create_task(poll(app, handle_signals=False, polling_timeout=1))
    try:
        # Start-up is over once the scheduler runs; updates pushed from now on are read by
        # the first long poll.
        await eventually(lambda: app.jobs.running)
        await app.subscriptions.idle()
        yield app
    finally:
        await app.dp.stop_polling()
        await polling
        await app.close()


async def reply_to(tg: FakeTelegram, chat_id: int, needle: str) -> Call:
    calls = await tg.wait_for(
        "sendMessage", lambda c: c.chat_id == chat_id and needle in (c.text or "")
    )
    return calls[-1]


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 5.0,
) -> None:
    """Waits for something the bot does in its own tasks (updates run as tasks)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def test_subscribed_chat_gets_its_digest_at_its_local_time(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with bot_running(settings, tg, clock) as app:
        tg.message("/subscribe 09:00", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "09:00 (Europe/Moscow)")
        assert await app.subscriptions.next_run(USER) == datetime(2026, 6, 17, 6, 0, tzinfo=UTC)

        # 09:00 in Moscow comes: let APScheduler start the minute's round now rather than
        # wait for the minute.
        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        app.jobs.scheduler.modify_job(
            DIGESTS_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=0.2)
        )
        digest = await reply_to(tg, USER, "Сводка за 17\u00a0июня\u00a02026")
        (seed,) = await app.services.articles.latest(1)
        assert seed.title in (digest.text or "")
        keyboard = digest.params["reply_markup"]["inline_keyboard"]
        # One numbered button per story: the seed's is the only one.
        assert [b["text"] for b in keyboard[0]] == ["1"]

        async def completed() -> bool:
            return await SubscriptionRepo(app.services.db).run_status(USER, "2026-06-17") == "sent"

        await eventually(completed)

        # A button under the digest answers about that article.
        points = ArticleAction(action="points", id=seed.id).pack()
        tg.callback(points, message=digest, user_id=USER)
        await tg.wait_for("answerCallbackQuery")
        await tg.wait_for(
            "sendMessage",
            lambda c: (
                c.chat_id == USER
                and seed.title in (c.text or "")
                and "Сводка за" not in (c.text or "")
            ),
        )

        # The same minute again (say APScheduler coalesced a late wake-up): nothing more.
        await send_digest(app.subscriptions, USER, app.clock)
        assert len([c for c in tg.sent(USER) if "Сводка за" in (c.text or "")]) == 1


async def test_bad_subscribe_is_answered_in_russian_and_nothing_is_stored(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with bot_running(settings, tg, clock) as app:
        tg.message("/subscribe 25:99", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "Не понимаю время «25:99»")
        tg.message("/subscribe 08:30 Mars/Olympus", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "Не знаю часовой пояс «Mars/Olympus»")
        tg.message("/subscribe в восемь утра", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "Формат: /subscribe")
        tg.message("/unsubscribe", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, texts.NOT_SUBSCRIBED)
        assert await SubscriptionRepo(app.services.db).get(USER) is None
        assert await app.subscriptions.next_run(USER) is None


async def test_in_groups_only_admins_change_the_subscription(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    tg.set_admins(GROUP, [ADMIN])
    async with bot_running(settings, tg, clock) as app:
        subs = SubscriptionRepo(app.services.db)
        tg.message("/subscribe@svodka_bot 08:00 Asia/Almaty", chat_id=GROUP, user_id=USER)
        await reply_to(tg, GROUP, texts.NOT_GROUP_ADMIN)
        assert await subs.get(GROUP) is None

        tg.message("/subscribe@svodka_bot 08:00 Asia/Almaty", chat_id=GROUP, user_id=ADMIN)
        await reply_to(tg, GROUP, "08:00 (Asia/Almaty)")
        sub = await subs.get(GROUP)
        assert sub is not None and (sub.at, sub.subscribed_by) == (time(8), ADMIN)

        tg.message("/unsubscribe", chat_id=GROUP, user_id=USER)
        await eventually(lambda: _count(tg, GROUP, texts.NOT_GROUP_ADMIN, 2))
        assert (await subs.get(GROUP)).active  # type: ignore[union-attr]

        # An anonymous admin writes as the group itself.
        tg.message("/unsubscribe", chat_id=GROUP, user_id=ANONYMOUS, sender_chat=tg.chat(GROUP))
        await reply_to(tg, GROUP, texts.UNSUBSCRIBED)
        assert not (await subs.get(GROUP)).active  # type: ignore[union-attr]
        assert await app.subscriptions.next_run(GROUP) is None

        # /digest is for anyone, and does not use up the day's scheduled digest.
        tg.message("/digest", chat_id=GROUP, user_id=USER)
        await reply_to(tg, GROUP, "Сводка за 17\u00a0июня\u00a02026")
        assert await subs.run_status(GROUP, "2026-06-17") is None


async def _count(tg: FakeTelegram, chat_id: int, needle: str, n: int) -> bool:
    return len([c for c in tg.sent(chat_id) if needle in (c.text or "")]) >= n


async def test_removed_or_blocked_bot_ends_the_subscription(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    tg.set_admins(GROUP, [ADMIN])
    async with bot_running(settings, tg, clock) as app:
        subs = SubscriptionRepo(app.services.db)
        tg.message("/subscribe", chat_id=GROUP, user_id=ADMIN)
        tg.message("/subscribe", chat_id=USER, user_id=USER)
        await reply_to(tg, GROUP, "09:00")
        await reply_to(tg, USER, "09:00")

        # Kicked from the group: Telegram tells the bot with a my_chat_member update.
        tg.my_chat_member(GROUP, "kicked", user_id=ADMIN)
        await eventually(lambda: _ended(app, GROUP))
        # The ended row has no due time: no round will pick it up.
        assert await app.subscriptions.next_run(GROUP) is None

        # Blocked in private without the update reaching us: the digest gets a 403.
        tg.block(USER)
        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        await send_digest(app.subscriptions, USER, app.clock)
        assert await _ended(app, USER)
        ended = await subs.get(USER)
        assert ended is not None and ended.ended_reason == "blocked"
        assert await app.subscriptions.next_run(USER) is None


async def _ended(app: App, chat_id: int) -> bool:
    sub = await SubscriptionRepo(app.services.db).get(chat_id)
    return sub is not None and not sub.active


async def test_group_migration_moves_the_subscription(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    tg.set_admins(GROUP, [ADMIN])
    async with bot_running(settings, tg, clock) as app:
        subs = SubscriptionRepo(app.services.db)
        tg.message("/subscribe 09:00", chat_id=GROUP, user_id=ADMIN)
        await reply_to(tg, GROUP, "09:00")
        tg.migrate(GROUP, SUPERGROUP, notify=True)

        async def moved() -> bool:
            sub = await subs.get(SUPERGROUP)
            moved = sub is not None and sub.active and await subs.get(GROUP) is None
            return moved and await app.subscriptions.next_run(SUPERGROUP) is not None

        await eventually(moved)
        assert await app.subscriptions.next_run(GROUP) is None
        assert await app.subscriptions.next_run(SUPERGROUP) == datetime(
            2026, 6, 17, 6, 0, tzinfo=UTC
        )
        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        await send_digest(app.subscriptions, SUPERGROUP, app.clock)
        await reply_to(tg, SUPERGROUP, "Сводка за 17\u00a0июня\u00a02026")


async def test_digest_missed_while_down_comes_after_start_once(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with bot_running(settings, tg, clock):
        tg.message("/subscribe 09:00", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "09:00")
    # Down over 09:00; back up at 10:30 Moscow time, within the three-hour grace.
    clock.now = datetime(2026, 6, 17, 7, 30, tzinfo=UTC)
    async with bot_running(settings, tg, clock):
        await reply_to(tg, USER, "Сводка за 17\u00a0июня\u00a02026")
    async with bot_running(settings, tg, clock):
        pass
    assert len([c for c in tg.sent(USER) if "Сводка за" in (c.text or "")]) == 1


async def test_settings_timezone_moves_the_digest_to_the_new_local_time(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with bot_running(settings, tg, clock) as app:
        tg.message("/subscribe 09:00", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "09:00 (Europe/Moscow)")
        tg.message("/settings timezone Asia/Almaty", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "Часовой пояс: Asia/Almaty")
        # 09:00 in Almaty (UTC+5) on 17 June is 04:00 UTC, already past: the next is the 18th.
        assert await app.subscriptions.next_run(USER) == datetime(2026, 6, 18, 4, 0, tzinfo=UTC)
        tg.message("/settings timezone Europe", chat_id=USER, user_id=USER)
        await reply_to(tg, USER, "Не знаю часовой пояс «Europe»")


async def test_a_scheduled_digest_speaks_the_chats_language(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    group, admin = -100900, 4242
    tg.set_admins(group, [admin])
    async with bot_running(settings, tg, clock) as app:
        # The subscriber chose English in their own chat; the group chose nothing.
        tg.message("/settings язык en", chat_id=admin, user_id=admin)
        await reply_to(tg, admin, "English")
        tg.message("/subscribe 09:00", chat_id=group, user_id=admin, chat_type="supergroup")
        await reply_to(tg, group, "09:00 (Europe/Moscow)")
        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        app.jobs.scheduler.modify_job(
            DIGESTS_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=0.2)
        )
        [digest] = await tg.wait_for(
            "sendMessage",
            lambda c: c.chat_id == group and "Digest for" in (c.text or ""),
            timeout=30,
        )
        assert "17\u00a0June\u00a02026" in (digest.text or "")
        assert "Сводка за" not in (digest.text or "")
        assert await app.subscriptions.digest_language(USER) == "ru"
