"""Limits: the article size cap, and flood control per sender."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import (
    Chat,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    Message,
    TelegramObject,
    Update,
    User,
)

from bot import texts
from bot.config import Settings
from bot.console import Console
from bot.delivery import Limits
from bot.middlewares import SWEEP_MIN, FloodControl
from storage.articles import ArticleRepo
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram
from tests.conftest import ADMIN_ID, SEEDS_DIR, RunningBot
from tests.harness import GROUP_OWNER, ME, Harness, Sent

BURST = 5


UNPACED = Limits(global_per_sec=100_000, per_chat_per_sec=100_000, per_group_per_min=1e7)


def harness_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=SEEDS_DIR,
        admin_ids=[ADMIN_ID],
        flood_burst=BURST,
        flood_rate=1.0,
        **overrides,
    )


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    # The sender's pacing scaled up: these tests flood the bot, not Telegram.
    h = await Harness.start(harness_settings(tmp_path), limits=UNPACED)
    try:
        yield h
    finally:
        await h.close()


async def flood(harness: Harness, text: str | None, times: int, **kw: Any) -> list[Sent]:
    """`times` copies of a message, all in flight at once; everything the bot showed."""
    before = len(harness.sent)
    await asyncio.gather(*(harness.say(text, **kw) for _ in range(times)))
    return harness.sent[before:]


def notices(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.text == texts.FLOOD]


def answers(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.text != texts.FLOOD]


# --- the article size cap ---------------------------------------------------------------


async def test_add_of_a_too_long_text_is_refused_and_nothing_is_stored(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    # A Telegram message holds 4096 characters, so the smallest allowed cap shows the reply.
    settings = bot_settings.model_copy(update={"max_article_chars": 1000})
    bot = await RunningBot(settings, tg).start()
    try:
        body = "Очень длинный текст статьи о событиях недели. " * 40
        [reply] = await bot.say(f"/add Длинная статья\n{body}", user_id=ADMIN_ID)
        assert str(reply.result["text"]) == texts.TEXT_TOO_LONG.format(
            length=texts.count(len(body.strip()), "символ"), limit=texts.format_number(1000)
        )
        origin = {
            "type": "channel",
            "date": 1_750_000_000,
            "message_id": 5,
            "chat": {"id": -1001234, "type": "channel", "title": "Канал"},
        }
        [forwarded] = await bot.say(
            f"Длинный пост\n{body}", user_id=ADMIN_ID, forward_origin=origin
        )
        assert "слишком длинный" in str(forwarded.result["text"])
        assert await ArticleRepo(bot.app.services.db).count() == 1  # the seed only
    finally:
        await bot.stop()


# --- flood control ----------------------------------------------------------------------


async def test_twenty_rapid_commands_get_a_bucket_of_replies_and_one_notice(
    harness: Harness,
) -> None:
    replies = await flood(harness, "/latest", 20, user_id=7)
    assert len(notices(replies)) == 1
    # Refill is one a second; the twenty arrive within a fraction of one.
    assert BURST <= len(answers(replies)) <= BURST + 1
    # Someone else is not held up by it.
    [other] = await harness.say("/latest", user_id=8)
    assert other.text != texts.FLOOD


async def test_sequential_flood_also_gets_only_one_notice(harness: Harness) -> None:
    replies: list[Sent] = []
    for _ in range(20):
        replies += await harness.say("/latest", user_id=7)
    assert len(notices(replies)) == 1
    assert len(answers(replies)) <= BURST + 1


async def test_the_bucket_refills_and_a_new_flood_gets_a_new_notice(tmp_path: Path) -> None:
    settings = harness_settings(tmp_path).model_copy(update={"flood_rate": 20.0})
    h = await Harness.start(settings, limits=UNPACED)
    try:
        assert len(notices(await flood(h, "/latest", 10, user_id=7))) == 1
        await asyncio.sleep(BURST / 20 + 0.05)  # drained at 20 a second
        again = await flood(h, "/latest", 10, user_id=7)
        assert len(answers(again)) >= BURST
        assert len(notices(again)) == 1
    finally:
        await h.close()


async def test_button_presses_share_the_budget_and_get_a_toast(harness: Harness) -> None:
    [summary] = await harness.say("/summary 1", user_id=7)
    assert summary.message is not None
    presses = [harness.press("art:points:1", message=summary.message, user_id=7) for _ in range(12)]
    before = len(harness.sent)
    await asyncio.gather(*(harness.feed(p) for p in presses))
    shown = harness.sent[before:]
    toasts = [s for s in shown if s.method == "answerCallbackQuery"]
    assert [t.text for t in toasts] == [texts.FLOOD]
    # One token went on /summary, the rest of the burst on presses.
    assert len([s for s in shown if s.method == "sendMessage"]) <= BURST


async def test_flood_never_drops_service_messages(harness: Harness) -> None:
    group, new_group = -100_777, -1_000_000_777
    await harness.say("/subscribe 09:00", user_id=GROUP_OWNER, chat_id=group)
    flooded = await flood(harness, "/latest@svodka_bot", 10, user_id=GROUP_OWNER, chat_id=group)
    assert len(notices(flooded)) == 1
    # The same user upgrades the group to a supergroup: the migration must go through.
    await harness.feed(
        harness.message(None, user_id=GROUP_OWNER, chat_id=group, migrate_to_chat_id=new_group)
    )
    subscriptions = SubscriptionRepo(harness.app.services.db)
    assert await subscriptions.get(group) is None
    moved = await subscriptions.get(new_group)
    assert moved is not None and moved.active


async def test_flood_never_drops_membership_updates(harness: Harness) -> None:
    group = -100_779
    await flood(harness, "/latest@svodka_bot", 10, user_id=GROUP_OWNER, chat_id=group)
    # The flooding user adds the bot to another group: it introduces itself there.
    other = -100_780
    update = Update(
        update_id=10**6,
        my_chat_member=ChatMemberUpdated(
            chat=Chat(id=other, type="supergroup", title="Группа"),
            from_user=User(id=GROUP_OWNER, is_bot=False, first_name="Owner"),
            date=datetime.now(UTC),
            old_chat_member=ChatMemberLeft(user=ME),
            new_chat_member=ChatMemberMember(user=ME),
        ),
    )
    [intro] = await harness.feed(update)
    assert intro.chat_id == other and "Всем привет" in intro.text


async def test_group_chatter_and_other_bots_commands_cost_nothing(harness: Harness) -> None:
    group = -100_778
    for _ in range(20):
        assert await harness.say("просто разговор", user_id=7, chat_id=group) == []
        assert await harness.say("/latest@OtherBot", user_id=7, chat_id=group) == []
    [reply] = await harness.say("/latest@svodka_bot", user_id=7, chat_id=group)
    assert reply.text != texts.FLOOD


async def test_anonymous_admins_of_different_groups_do_not_share_a_bucket(
    harness: Harness,
) -> None:
    anonymous = 1087968824  # GroupAnonymousBot: every anonymous admin writes as it
    for group in (-100_781, -100_782):
        chat = Chat(id=group, type="supergroup", title="Группа")
        shown: list[Sent] = []
        for _ in range(BURST):
            shown += await harness.say(
                "/latest", user_id=anonymous, chat_id=group, sender_chat=chat
            )
        assert notices(shown) == [], group


def _private(user_id: int) -> Message:
    return Message(
        message_id=1,
        date=datetime.now(UTC),
        text="/latest",
        chat=Chat(id=user_id, type="private"),
        from_user=User(id=user_id, is_bot=False, first_name="U"),
    )


async def _handled(event: TelegramObject, data: dict[str, Any]) -> str:
    return "handled"


def test_flood_control_forgets_idle_senders() -> None:
    async def scenario() -> int:
        flood = FloodControl(burst=1, rate=1000.0)  # a bucket drains in a millisecond
        data: dict[str, Any] = {"bot": object()}  # private chats never ask the bot
        largest = 0
        for user_id in range(1, 10_001):
            assert await flood(_handled, _private(user_id), data) == "handled"
            largest = max(largest, len(flood))
        return largest

    # Ten thousand senders, but never more remembered than sweeping allows.
    assert asyncio.run(scenario()) <= 2 * SWEEP_MIN


def test_flood_control_has_a_hard_ceiling_on_senders() -> None:
    async def scenario() -> int:
        # Nothing drains in this test's lifetime, so only the ceiling bounds the table.
        flood = FloodControl(burst=1, rate=0.001, max_senders=100)
        data: dict[str, Any] = {"bot": object()}
        largest = 0
        for user_id in range(1, 1001):
            await flood(_handled, _private(user_id), data)
            largest = max(largest, len(flood))
        return largest

    assert asyncio.run(scenario()) <= 100


def test_flood_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        FloodControl(burst=0, rate=1.0)
    with pytest.raises(ValueError):
        FloodControl(burst=1, rate=0)


async def test_a_flooding_user_costs_the_bot_no_sends(harness: Harness) -> None:
    """Past the notice nothing is sent at all, however long the flood."""
    start = time.monotonic()
    await asyncio.gather(*(harness.say("/latest", user_id=7) for _ in range(200)))
    refilled = (time.monotonic() - start) * 1.0  # flood_rate tokens a second
    sends = harness.session.calls.count("SendMessage")
    assert sends <= BURST + int(refilled) + 1 + 1  # the burst, the refill, the notice


async def test_the_offline_console_has_no_flood_control(tmp_path: Path) -> None:
    # One local user, often a script piped in: every line gets its answer.
    out = io.StringIO()
    async with Console(harness_settings(tmp_path), out=out) as console:
        for _ in range(3 * BURST):
            await console.say("/latest")
    assert out.getvalue().count("Последние сюжеты") == 3 * BURST
    assert texts.FLOOD not in out.getvalue()
