from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot import texts
from bot.app import App
from bot.config import Settings
from bot.digest import date_label, local_period
from bot.errors import BadSubscribe, BadTime, BadTimezone
from bot.models import Article, Digest, NewArticle, StoryItem
from bot.parsing import SettingChange, parse_subscribe
from bot.render import MESSAGE_LIMIT, StoryAction, digest_replies, strip_tags, utf16_len
from storage.subscriptions import SubscriptionRepo
from tests.botapi import parse_html
from tests.harness import Harness

NOW = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
CHAT = 501

TEXT = (
    "Правительство утвердило новый план развития транспорта. "
    "Он предусматривает строительство дорог в регионах. "
    "Финансирование начнётся в следующем году. "
    "Эксперты считают план реалистичным."
)


def make_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="123:ABC",
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
    )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    harness = await Harness.start(make_settings(tmp_path))
    try:
        yield harness.app
    finally:
        await harness.close()


async def add(app: App, n: int, at: datetime, text: str = TEXT) -> Article:
    article, created = await app.services.articles.add(
        NewArticle(title=f"Новость {n}", text=f"{text} Номер {n}.", source="ТАСС"), now=at
    )
    assert created
    return article


def article(n: int, text: str = TEXT, url: str | None = None) -> Article:
    return Article(
        id=n,
        title=f"Заголовок статьи номер {n} & <теги>",
        text=text,
        source="РИА",
        url=url,
        published_at=None,
        added_at=NOW,
        content_hash=str(n),
    )


# -- /subscribe arguments --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", (time(9, 0), "Europe/Moscow")),
        ("08:30", (time(8, 30), "Europe/Moscow")),
        ("7:05", (time(7, 5), "Europe/Moscow")),
        ("Asia/Almaty", (time(9, 0), "Asia/Almaty")),
        ("08:30 Asia/Almaty", (time(8, 30), "Asia/Almaty")),
        ("America/New_York 23:59", (time(23, 59), "America/New_York")),
        ("asia/almaty", (time(9, 0), "Asia/Almaty")),
        ("UTC 00:00", (time(0, 0), "UTC")),
    ],
)
def test_subscribe_arguments_in_any_order_with_defaults(
    args: str, expected: tuple[time, str]
) -> None:
    assert parse_subscribe(args, default_at=time(9), default_timezone="Europe/Moscow") == expected


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ("25:99", BadTime),
        ("9", BadTime),
        ("24:00", BadTime),
        ("08:5", BadTime),
        ("8ч", BadTime),
        ("Mars/Olympus", BadTimezone),
        ("08:30 Mars/Olympus", BadTimezone),
        ("../../etc/passwd", BadTimezone),
        ("08:30 Europe/Moscow завтра", BadSubscribe),
        ("завтра", BadSubscribe),
        ("Europe", BadSubscribe),
        ("08:30 09:00", BadSubscribe),
        ("Asia/Almaty Europe/Moscow", BadSubscribe),
    ],
)
def test_bad_subscribe_arguments_raise_the_error_that_names_the_form(
    args: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        parse_subscribe(args, default_at=time(9), default_timezone="Europe/Moscow")
    reply = texts.error_text(caught.value)
    assert reply != texts.UNEXPECTED
    assert "/subscribe" in reply


async def test_subscribe_uses_chat_timezone_and_keeps_what_is_not_said(
    app: App,
) -> None:
    await app.services.chats.change(CHAT, SettingChange("timezone", "Asia/Almaty"))
    sub = await app.subscriptions.subscribe(CHAT, "", user_id=7, now=NOW)
    assert (sub.at, sub.timezone, sub.subscribed_by) == (time(9, 0), "Asia/Almaty", 7)

    sub = await app.subscriptions.subscribe(CHAT, "07:15", user_id=7, now=NOW)
    assert (sub.at, sub.timezone) == (time(7, 15), "Asia/Almaty")
    sub = await app.subscriptions.subscribe(CHAT, "Europe/Berlin", user_id=7, now=NOW)
    assert (sub.at, sub.timezone) == (time(7, 15), "Europe/Berlin")


async def test_bad_subscribe_stores_nothing(app: App) -> None:
    with pytest.raises(BadTime):
        await app.subscriptions.subscribe(CHAT, "25:99", user_id=7, now=NOW)
    assert await SubscriptionRepo(app.services.db).get(CHAT) is None


async def test_unsubscribe_ends_once(app: App) -> None:
    await app.subscriptions.subscribe(CHAT, "08:00", user_id=7, now=NOW)
    assert await app.subscriptions.unsubscribe(CHAT, now=NOW)
    assert not await app.subscriptions.unsubscribe(CHAT, now=NOW)
    sub = await SubscriptionRepo(app.services.db).get(CHAT)
    assert sub is not None and not sub.active


async def test_timezone_change_moves_an_active_subscription(app: App) -> None:
    assert await app.subscriptions.follow_timezone(CHAT, "Asia/Almaty", now=NOW) is None
    await app.subscriptions.subscribe(CHAT, "08:00 Europe/Moscow", user_id=7, now=NOW)
    moved = await app.subscriptions.follow_timezone(CHAT, "Asia/Almaty", now=NOW)
    assert moved is not None and (moved.at, moved.timezone) == (time(8), "Asia/Almaty")


def test_period_is_the_local_date() -> None:
    late = datetime(2026, 6, 17, 20, 30, tzinfo=UTC)
    assert local_period(late, "Europe/Moscow") == "2026-06-17"
    assert local_period(late, "Asia/Almaty") == "2026-06-18"
    assert date_label("2026-06-18") == "18\u00a0июня\u00a02026"


# -- what goes into a digest -----------------------------------------------------------

# Three events, each told by several outlets in words of their own.
EVENTS = (
    (
        "Правительство утвердило план развития транспорта",
        "Правительство России утвердило план развития транспорта до 2030 года. "
        "План предусматривает строительство дорог и мостов в регионах.",
    ),
    (
        "Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
        "Землетрясение магнитудой 6,1 произошло у восточного побережья Камчатки. "
        "Угрозы цунами нет, сообщили сейсмологи.",
    ),
    (
        "Сборная России по хоккею выиграла турнир в Сочи",
        "Сборная России по хоккею выиграла международный турнир в Сочи, обыграв в финале "
        "команду Финляндии. Решающую шайбу забросил нападающий в овертайме.",
    ),
)
OUTLETS = ("ТАСС", "РИА Новости", "Интерфакс", "Коммерсантъ", "РБК")


async def tell(app: App, event: int, outlet: int, at: datetime, *, note: str = "") -> Article:
    title, text = EVENTS[event]
    article, created = await app.services.articles.add(
        NewArticle(
            title=f"{title} - {OUTLETS[outlet]}",
            # Each outlet's copy differs (the store keeps one copy of a text).
            text=f"{text} {note} Корреспондент {OUTLETS[outlet]} передаёт подробности.",
            source=OUTLETS[outlet],
            url=f"https://example.com/{event}/{outlet}/{note or 0}",
            published_at=at,
        ),
        now=at,
    )
    assert created
    return article


async def test_digest_tells_each_story_once_biggest_first(app: App) -> None:
    for outlet in range(3):
        await tell(app, 1, outlet, NOW - timedelta(hours=3, minutes=outlet))
    for outlet in range(5):
        await tell(app, 0, outlet, NOW - timedelta(hours=2, minutes=outlet))
    await tell(app, 2, 0, NOW - timedelta(hours=1))
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert [len(item.outlets) for item in digest.items] == [5, 3, 1]
    assert len({item.story_id for item in digest.items}) == 3
    first = digest.items[0]
    # The headline without the outlet's name, its sentences from the story's articles.
    assert first.headline == EVENTS[0][0]
    assert first.sentences and first.sentences[0] in EVENTS[0][1]
    assert first.outlets[0] == "РБК"  # the earliest to report (2:04 before NOW)
    assert not any(item.update for item in digest.items)


async def test_first_digest_covers_the_last_day(app: App) -> None:
    await tell(app, 0, 0, NOW - timedelta(hours=30))
    await tell(app, 1, 0, NOW - timedelta(hours=10))
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert [item.headline for item in digest.items] == [EVENTS[1][0]]
    assert digest.period == "2026-06-17"


async def test_a_story_sent_comes_again_only_when_it_grew(app: App) -> None:
    for outlet in range(2):
        await tell(app, 0, outlet, NOW - timedelta(hours=2, minutes=outlet))
    await tell(app, 1, 0, NOW - timedelta(hours=1))
    digests = app.services.digests
    first = await digests.build(CHAT, now=NOW)
    assert len(first.items) == 2
    await digests.record(first, now=NOW)
    # Nothing new: nothing again.
    assert (await digests.build(CHAT, now=NOW)).items == ()
    later = NOW + timedelta(hours=1)
    await tell(app, 0, 3, later - timedelta(minutes=5))
    again = await digests.build(CHAT, now=later)
    assert [(item.headline, item.update, len(item.outlets)) for item in again.items] == [
        (EVENTS[0][0], True, 3)
    ]
    reply = digest_replies(again, "17 июня 2026", "UTC")[0]
    assert texts.DIGEST_UPDATE in reply.html


async def test_digest_is_capped_and_points_to_the_stories_list(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"digest_stories": 2})
    harness = await Harness.start(settings)
    try:
        app = harness.app
        for event in range(3):
            await tell(app, event, 0, NOW - timedelta(hours=1, minutes=event))
        digest = await app.services.digests.build(CHAT, now=NOW)
        assert len(digest.items) == 2 and digest.more == 1
        replies = digest_replies(digest, date_label(digest.period), "Europe/Moscow")
        assert "и ещё 1 сюжет: /stories" in strip_tags(replies[-1].html)
    finally:
        await harness.close()


async def test_nothing_new_is_an_empty_digest_said_in_one_message(
    app: App,
) -> None:
    await tell(app, 0, 0, NOW - timedelta(days=3))
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert digest.items == () and digest.more == 0
    replies = digest_replies(digest, date_label(digest.period), "Europe/Moscow")
    assert len(replies) == 1
    assert texts.DIGEST_EMPTY in replies[0].html
    assert replies[0].keyboard is None


# -- rendering -------------------------------------------------------------------------


def story(
    n: int, sentences: tuple[str, ...], outlets: int = 5, url: str | None = None
) -> StoryItem:
    return StoryItem(
        story_id=100 + n,
        headline=f"Заголовок сюжета номер {n} & <теги>",
        sentences=sentences,
        outlets=OUTLETS[:outlets],
        articles=outlets,
        main=article(n, url=url),
    )


def test_short_digest_is_one_message_with_one_row_of_numbered_buttons() -> None:
    items = tuple(story(n, ("Первое предложение.", "Второе.")) for n in (4, 5, 6))
    replies = digest_replies(Digest(CHAT, "2026-06-17", items), "17 июня 2026", "Europe/Moscow")
    assert len(replies) == 1
    reply = replies[0]
    assert reply.html.startswith("<b>Сводка за 17 июня 2026</b>")
    assert reply.article_id == 4
    assert reply.numbers == ((1, 104), (2, 105), (3, 106))
    assert reply.keyboard is not None
    (row,) = reply.keyboard.inline_keyboard
    assert [button.text for button in row] == ["1", "2", "3"]
    assert [StoryAction.unpack(str(b.callback_data)).id for b in row] == [104, 105, 106]
    text, _ = parse_html(reply.html)
    assert "2. Заголовок сюжета номер 5 & <теги>" in text
    assert "ТАСС, РИА Новости и ещё 3" in text


def test_headline_links_to_the_main_article() -> None:
    item = story(3, ("Одно.",), url="https://example.com/a?b=1&c=2")
    reply = digest_replies(Digest(CHAT, "2026-06-17", (item,)), "17 июня 2026", "UTC")[0]
    _, entities = parse_html(reply.html)
    assert {"type": "text_link", "url": "https://example.com/a?b=1&c=2"}.items() <= next(
        e for e in entities if e["type"] == "text_link"
    ).items()


def test_eight_long_stories_fit_two_messages_each_with_its_buttons() -> None:
    long_sentence = "Очень длинное предложение о событиях дня с подробностями 😀 " * 25 + "."
    items = tuple(story(n, (long_sentence, long_sentence)) for n in range(1, 9))
    digest = Digest(CHAT, "2026-06-17", items, more=40)
    replies = digest_replies(digest, "17 июня 2026", "Europe/Moscow")
    assert len(replies) <= 2
    shown: list[int] = []
    for reply in replies:
        text, _ = parse_html(reply.html)
        assert utf16_len(text) <= MESSAGE_LIMIT
        assert reply.keyboard is not None
        ids = [
            StoryAction.unpack(str(b.callback_data)).id for b in reply.keyboard.inline_keyboard[0]
        ]
        assert ids == [story_id for _, story_id in reply.numbers]
        shown += ids
    assert shown == [100 + n for n in range(1, 9)]
    assert "…и ещё 40 сюжетов: /stories" in strip_tags(replies[-1].html)
