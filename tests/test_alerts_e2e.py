"""Alerts end to end: a story matching a chat's interests is sent as it is stored,
through the delivery ledger and aiogram's HTTP session to the Bot API test server; once
per story, an update only with /alerts updates, at most ALERTS_PER_HOUR an hour,
silently in quiet hours, to the forum topic the chat subscribed from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import language, texts
from bot.clock import utc_now
from bot.config import Settings
from bot.models import NewArticle
from tests.botapi import Call, FakeTelegram
from tests.conftest import ADMIN_ID, RunningBot

QUAKE = (
    NewArticle(
        title="Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
        text="Землетрясение магнитудой 6,1 произошло в Тихом океане у восточного побережья "
        "Камчатки, сообщила Камчатская служба сейсмологии. Очаг залегал на глубине 40 км. "
        "Жители Петропавловска-Камчатского ощутили толчки силой до пяти баллов.",
        source="ТАСС",
    ),
    NewArticle(
        title="Мощные толчки ощутили жители Петропавловска-Камчатского",
        text="У побережья Камчатки произошло землетрясение магнитудой 6,1, передают "
        "сейсмологи. В Петропавловске-Камчатском толчки достигли пяти баллов, сведений о "
        "разрушениях и пострадавших нет.",
        source="РИА Новости",
    ),
)
# Three unrelated stories that each mention Kamchatka.
KAMCHATKA = (
    NewArticle(
        title="На Камчатке открыли навигацию к Командорским островам",
        text="Первое судно с туристами ушло к Командорам. Рейсы будут ходить до октября.",
        source="ТАСС",
    ),
    NewArticle(
        title="Камчатский краевой суд оштрафовал рыбодобывающую компанию",
        text="Компанию признали виновной в превышении квот на вылов лосося в заливе.",
        source="Интерфакс",
    ),
    NewArticle(
        title="Хоккеисты из Камчатки выиграли молодёжный турнир в Хабаровске",
        text="В финале команда обыграла соперников со счётом три два в овертайме.",
        source="РИА Новости",
    ),
)
FOOTBALL = NewArticle(
    title="Клуб с Камчатки вышел в финал кубка России по футболу",
    text="Игроки из Петропавловска победили в полуфинале по пенальти.",
    source="ТАСС",
)
WEATHER = NewArticle(
    title="Погода в Москве испортится к выходным",
    text="Синоптики обещают дожди и похолодание до нуля градусов.",
    source="ТАСС",
)

# Long enough for any alert to be sent, however busy the machine is: a wait, not a
# measured time.
ARRIVES = 10.0
# How long a message that must not come is waited for: several of the leader's polls.
SETTLES = 1.5


def shown(call: Call) -> str:
    return str(call.result["text"])


async def store(running: RunningBot, article: NewArticle) -> int:
    stored, created = await running.app.services.articles.add(article, now=utc_now())
    assert created
    return stored.id


async def alerts_to(running: RunningBot, chat_id: int, count: int) -> list[Call]:
    """Waits until the chat was sent `count` alerts; returns them all."""
    await running.tg.wait_for(
        "sendMessage",
        lambda c: c.chat_id == chat_id and "🔔" in str(c.params.get("text", "")),
        count=count,
        timeout=ARRIVES,
    )
    return [c for c in running.tg.sent(chat_id) if "🔔" in shown(c)]


async def settled(running: RunningBot) -> None:
    """Lets the alerts and the ledger finish what they have."""
    await asyncio.sleep(SETTLES)
    await running.app.subscriptions.outbox.idle()


async def test_a_story_matching_a_chat_arrives_once_and_excluded_or_other_news_do_not(
    running: RunningBot,
) -> None:
    await running.say("/follow Камчатка -футбол", user_id=61)
    await running.say("/alerts вкл", user_id=61)
    # Another chat follows the same word but has alerts off.
    await running.say("/follow Камчатка", user_id=62)
    await store(running, QUAKE[0])
    [alert] = await alerts_to(running, 61, 1)
    assert "Камчатки" in shown(alert) and texts.ALERT_NEW in shown(alert)
    assert "ТАСС" in shown(alert)
    # The excluded word drops a story; news it does not follow never comes.
    await store(running, FOOTBALL)
    await store(running, WEATHER)
    # An update of the story it was told of: no second alert with /alerts on.
    await store(running, QUAKE[1])
    await settled(running)
    assert [c for c in running.tg.sent(61) if "🔔" in shown(c)] == [alert]
    assert not [c for c in running.tg.sent(62) if "🔔" in shown(c)]
    # The story's button opens the whole story.
    [button] = [b for row in alert.params["reply_markup"]["inline_keyboard"] for b in row]
    running.tg.callback(button["callback_data"], message=alert, user_id=61)
    story = await running.tg.wait_for(
        "sendMessage", lambda c: c.chat_id == 61 and texts.STORY_SOURCES in shown(c)
    )
    assert "РИА Новости" in shown(story[-1])


async def test_an_update_alerts_again_with_alerts_updates(running: RunningBot) -> None:
    await running.say("/follow землетрясение", user_id=63)
    await running.say("/alerts обновления", user_id=63)
    await store(running, QUAKE[0])
    await alerts_to(running, 63, 1)
    await store(running, QUAKE[1])
    first, update = await alerts_to(running, 63, 2)
    assert texts.ALERT_NEW in shown(first)
    assert texts.ALERT_UPDATE in shown(update)
    assert "ТАСС" in shown(update) and "РИА Новости" in shown(update)


async def test_an_article_an_admin_adds_alerts_the_chats_that_follow_it(
    running: RunningBot,
) -> None:
    await running.say("/follow Командорские острова", user_id=64)
    await running.say("/alerts on", user_id=64)
    # The chat speaks English: so does its alert.
    await running.say("/settings language en", user_id=64, count=2)
    article = KAMCHATKA[0]
    await running.say(f"/add {article.title}\n{article.text}", user_id=ADMIN_ID)
    [alert] = await alerts_to(running, 64, 1)
    assert "Командорским" in shown(alert)
    with language.use("en"):
        assert texts.ALERT_NEW in shown(alert) and texts.ALERT_NEW != "Новое по интересам чата"


@pytest.fixture
async def capped(bot_settings: Settings, tg: FakeTelegram) -> AsyncIterator[RunningBot]:
    settings = bot_settings.model_copy(update={"alerts_per_hour": 2})
    bot = await RunningBot(settings, tg).start()
    try:
        yield bot
    finally:
        await bot.stop()


async def test_the_hourly_cap_holds_and_the_rest_waits_for_the_digest(capped: RunningBot) -> None:
    await capped.say("/follow Камчатка", user_id=65)
    await capped.say("/alerts вкл", user_id=65)
    for article in KAMCHATKA:
        await store(capped, article)
    await alerts_to(capped, 65, 2)
    await settled(capped)
    alerts = [c for c in capped.tg.sent(65) if "🔔" in shown(c)]
    assert len(alerts) == 2
    told = " ".join(shown(c) for c in alerts)
    [left] = [a.title for a in KAMCHATKA if a.title not in told]
    # What was held back is in the digest.
    digest = await capped.say("/digest", user_id=65)
    assert left in " ".join(shown(c) for c in digest)


def hours_around(zone: str, *, start: int, end: int) -> str:
    """Quiet hours from `start` to `end` hours from now, in local time in `zone`."""
    now = utc_now().astimezone(ZoneInfo(zone))
    begin, finish = now + timedelta(hours=start), now + timedelta(hours=end)
    return f"{begin:%H:%M}-{finish:%H:%M}"


async def test_alerts_in_the_chat_local_quiet_hours_are_silent(running: RunningBot) -> None:
    zone = "Asia/Vladivostok"
    for chat, (start, end) in ((66, (-1, 1)), (67, (2, 3))):
        await running.say("/follow Камчатка", user_id=chat)
        await running.say("/alerts вкл", user_id=chat)
        await running.say("/settings пояс Владивосток", user_id=chat, count=2)
        quiet = hours_around(zone, start=start, end=end)
        await running.say(f"/settings тишина {quiet}", user_id=chat, count=2)
    await store(running, QUAKE[0])
    [silent] = await alerts_to(running, 66, 1)
    [loud] = await alerts_to(running, 67, 1)
    assert silent.params.get("disable_notification") is True
    assert not loud.params.get("disable_notification")


FORUM, FORUM_ADMIN = -100910, 42


async def test_a_topic_subscription_gets_its_alerts_in_that_topic(running: RunningBot) -> None:
    running.tg.set_admins(FORUM, [FORUM_ADMIN])
    topic = {
        "chat_id": FORUM,
        "user_id": FORUM_ADMIN,
        "chat_type": "supergroup",
        "message_thread_id": 81,
        "is_topic_message": True,
    }
    await running.say("/subscribe 09:00", **topic)
    await running.say("/follow Камчатка", **topic)
    await running.say("/alerts вкл", **topic)
    await store(running, QUAKE[0])
    [alert] = await alerts_to(running, FORUM, 1)
    assert alert.params["message_thread_id"] == 81
