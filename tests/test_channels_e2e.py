"""Channels as digest targets and /subscriptions, end to end: updates in through long
polling, the real Dispatcher and SQLite, messages out through aiogram's aiohttp session to
the Bot API test server, which answers getChat and getChatMember as Telegram does."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import texts
from bot.config import Settings
from bot.jobs import DIGESTS_JOB
from storage.articles import ArticleRepo
from tests.botapi import Call, FakeTelegram
from tests.conftest import TOKEN, RunningBot
from tests.test_subscriptions_e2e import SEEDS, FakeClock, bot_running, eventually

USER = 1001  # the channel's owner
STRANGER = 3003  # not an admin of anything
CHANNEL = -1_001_234_567_890
NAME = "novosti_kanal"
TITLE = "Новости дня"
GROUP = -5001


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


def channel(tg: FakeTelegram, *, bot_status: str = "administrator", can_post: bool = True) -> None:
    tg.set_channel(CHANNEL, username=NAME, title=TITLE)
    tg.set_admins(CHANNEL, [{"status": "creator", "user": USER}])
    if bot_status == "administrator":
        tg.set_bot_member(CHANNEL, "administrator", can_post_messages=can_post)
    else:
        tg.set_bot_member(CHANNEL, bot_status)


async def reply_to(tg: FakeTelegram, chat_id: int, needle: str) -> Call:
    # A digest is summarised first: on a busy machine that takes seconds.
    calls = await tg.wait_for(
        "sendMessage", lambda c: c.chat_id == chat_id and needle in (c.text or ""), timeout=60
    )
    return calls[-1]


def line(template: str) -> str:
    return template.format(channel=f"@{NAME}")


async def test_channel_subscribed_from_a_private_chat_gets_its_digest_there(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    channel(tg)
    async with bot_running(settings, tg, clock) as app:
        tg.message(f"/subscribe @{NAME} 09:00", user_id=USER)
        answer = await reply_to(tg, USER, "Готово")
        assert answer.text == texts.CHANNEL_SUBSCRIBED.format(
            title=TITLE, at="09:00", timezone="Europe/Moscow"
        )
        # The channel's subscription, not the private chat's.
        assert await app.subscriptions.next_run(CHANNEL) == datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        assert await app.subscriptions.next_run(USER) is None

        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        app.jobs.scheduler.modify_job(
            DIGESTS_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=0.2)
        )
        digest = await reply_to(tg, CHANNEL, "Сводка за 17\u00a0июня\u00a02026")
        (seed,) = await app.services.articles.latest(1)
        assert seed.title in (digest.text or "")
        # Posted in the channel, and nowhere else.
        assert not [c for c in tg.sent(USER) if "Сводка за" in (c.text or "")]

        tg.message("/subscriptions", user_id=USER)
        listing = await reply_to(tg, USER, texts.SUBSCRIPTIONS_TITLE)
        place = texts.PLACE_CHANNEL.format(title=TITLE)
        assert f"{place} — каждый день в 09:00 (Europe/Moscow)" in (listing.text or "")

        tg.message(f"/unsubscribe @{NAME}", user_id=USER)
        await reply_to(tg, USER, texts.CHANNEL_UNSUBSCRIBED.format(title=TITLE))
        assert await app.subscriptions.next_run(CHANNEL) is None
        tg.message("/subscriptions", user_id=USER)
        await reply_to(tg, USER, texts.SUBSCRIPTIONS_EMPTY)


async def test_channel_subscription_says_what_is_missing(running: RunningBot) -> None:
    tg = running.tg
    channel(tg)
    # Someone who does not administer the channel.
    (refused,) = await running.say(f"/subscribe @{NAME}", user_id=STRANGER)
    assert refused.text == line(texts.CHANNEL_USER_NOT_ADMIN)
    (refused,) = await running.say(f"/unsubscribe @{NAME}", user_id=STRANGER)
    assert refused.text == line(texts.CHANNEL_USER_NOT_ADMIN)

    # The owner, but the bot is an administrator without the right to post.
    tg.set_bot_member(CHANNEL, "administrator", can_post_messages=False)
    (refused,) = await running.say(f"/subscribe @{NAME}", user_id=USER)
    assert refused.text == line(texts.CHANNEL_BOT_CANNOT_POST)

    # The bot is not an administrator at all: Telegram will not even list the members.
    tg.set_bot_member(CHANNEL, "left")
    (refused,) = await running.say(f"/subscribe @{NAME}", user_id=USER)
    assert refused.text == "\n".join(
        [line(texts.CHANNEL_USER_NOT_ADMIN), line(texts.CHANNEL_BOT_NOT_ADMIN)]
    )

    # In a group, "@channel" is not the group's own subscription.
    (hint,) = await running.say(f"/unsubscribe @{NAME}", chat_id=GROUP, user_id=USER)
    assert hint.text == texts.CHANNEL_FROM_PRIVATE

    # A name nobody has: Telegram's "chat not found".
    (refused,) = await running.say("/subscribe @no_such_channel 09:00", user_id=USER)
    assert refused.text == texts.CHANNEL_NOT_FOUND.format(channel="@no_such_channel")

    assert await running.app.subscriptions.next_run(CHANNEL) is None
    assert not [c for c in tg.calls_to("sendMessage") if c.chat_id == CHANNEL]


async def test_subscriptions_lists_the_groups_a_user_administers(running: RunningBot) -> None:
    tg = running.tg
    tg.set_admins(GROUP, [2002, 2003])
    (done,) = await running.say("/subscribe 10:00", chat_id=GROUP, user_id=2002)
    assert (done.text or "").startswith("Готово")

    # Another admin of the group, who did not subscribe it, manages it too.
    (listing,) = await running.say("/subscriptions", user_id=2003)
    group = texts.PLACE_GROUP.format(title=f"Chat {GROUP}")
    assert f"{group} — каждый день в 10:00 (Europe/Moscow)" in (listing.text or "")
    (listing,) = await running.say("/subscriptions", user_id=STRANGER)
    assert listing.text == texts.SUBSCRIPTIONS_EMPTY

    # No longer an admin: no longer listed.
    tg.set_admins(GROUP, [2002])
    (listing,) = await running.say("/subscriptions", user_id=2003)
    assert listing.text == texts.SUBSCRIPTIONS_EMPTY


async def test_commands_posted_in_a_channel_work_and_its_posts_are_no_articles(
    running: RunningBot, bot_settings: Settings
) -> None:
    tg = running.tg
    channel(tg)
    tg.channel_post("/subscribe 08:30", chat_id=CHANNEL)
    done = await tg.wait_for("sendMessage", lambda c: c.chat_id == CHANNEL)
    assert done[-1].text == texts.SUBSCRIBED.format(at="08:30", timezone="Europe/Moscow")
    assert await running.app.subscriptions.next_run(CHANNEL) is not None

    db = running.app.services.db
    before = await ArticleRepo(db).count()
    post = "Власти объявили о новом мосте\n\n" + "Строительство начнётся весной. " * 20
    update_id = tg.channel_post(post, chat_id=CHANNEL)
    await tg.wait_for("getUpdates", lambda c: int(c.params.get("offset", 0)) > update_id, ok=None)
    await asyncio.sleep(0.2)
    assert await ArticleRepo(db).count() == before
    assert len([c for c in tg.calls_to("sendMessage") if c.chat_id == CHANNEL]) == 1

    tg.channel_post("/unsubscribe", chat_id=CHANNEL)
    await tg.wait_for("sendMessage", lambda c: c.chat_id == CHANNEL, count=2)
    assert await running.app.subscriptions.next_run(CHANNEL) is None
    assert html.unescape(texts.UNSUBSCRIBED) in [c.text for c in tg.sent(CHANNEL)]


async def test_a_channel_that_takes_the_right_to_post_ends_its_subscription(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    channel(tg)
    async with bot_running(settings, tg, clock) as app:
        tg.message(f"/subscribe @{NAME} 09:00", user_id=USER)
        await reply_to(tg, USER, "Готово")
        tg.set_bot_member(CHANNEL, "administrator", can_post_messages=False)
        clock.now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
        app.jobs.scheduler.modify_job(
            DIGESTS_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=0.2)
        )

        async def ended() -> bool:
            return await app.subscriptions.next_run(CHANNEL) is None

        await eventually(ended, timeout=60)
        refused = [c for c in tg.calls_to("sendMessage") if c.chat_id == CHANNEL]
        assert refused and all(c.status == 400 for c in refused)
