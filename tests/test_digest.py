from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot import texts
from bot.app import App
from bot.config import Settings
from bot.digest import DIGEST_SHOWN, date_label, local_period
from bot.errors import BadSubscribe, BadTime, BadTimezone
from bot.models import Article, Digest, DigestItem, NewArticle
from bot.parsing import SettingChange, parse_subscribe
from bot.render import MESSAGE_LIMIT, ArticleAction, digest_replies, strip_tags, utf16_len
from storage.cache import SummaryCache
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
    assert date_label("2026-06-18") == "18 июня 2026"


# -- what goes into a digest -----------------------------------------------------------


async def test_first_digest_covers_the_last_day(app: App) -> None:
    await add(app, 1, NOW - timedelta(hours=30))
    second = await add(app, 2, NOW - timedelta(hours=10))
    third = await add(app, 3, NOW - timedelta(hours=1))
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert [item.article.id for item in digest.items] == [second.id, third.id]
    assert digest.more == 0
    assert digest.period == "2026-06-17"
    for item in digest.items:
        assert 1 <= len(item.summary) <= 2
        assert all(sentence in item.article.text for sentence in item.summary)


async def test_next_digest_starts_where_the_previous_one_ended(app: App) -> None:
    await add(app, 1, NOW - timedelta(hours=2))
    await SubscriptionRepo(app.services.db).claim_run(CHAT, "2026-06-17", now=NOW)
    await SubscriptionRepo(app.services.db).complete_run(
        CHAT, "2026-06-17", now=NOW, last_article_id=1
    )
    later = NOW + timedelta(days=1)
    fresh = await add(app, 2, NOW + timedelta(hours=5))
    # Stored after the moment the digest is built: belongs to the one after.
    await add(app, 3, later + timedelta(minutes=1))
    digest = await app.services.digests.build(CHAT, now=later)
    assert [item.article.id for item in digest.items] == [fresh.id]


async def test_summaries_are_cached_with_the_chat_algorithm(app: App) -> None:
    await app.services.chats.change(CHAT, SettingChange("algorithm", "luhn"))
    stored = await add(app, 1, NOW - timedelta(hours=1))
    await app.services.digests.build(CHAT, now=NOW)
    cached = await SummaryCache(app.services.db).get_summary(stored.id, "luhn", 2)
    assert cached is not None and len(cached.sentences) == 2


async def test_nothing_new_is_an_empty_digest_said_in_one_message(
    app: App,
) -> None:
    await add(app, 1, NOW - timedelta(days=3))
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert digest.items == () and digest.more == 0
    replies = digest_replies(digest, date_label(digest.period), "Europe/Moscow")
    assert len(replies) == 1
    assert texts.DIGEST_EMPTY in replies[0].html
    assert replies[0].keyboard is None


async def test_digest_is_capped_and_says_how_many_more(app: App) -> None:
    stored = [await add(app, n, NOW - timedelta(minutes=60 - n)) for n in range(13)]
    digest = await app.services.digests.build(CHAT, now=NOW)
    assert len(digest.items) == DIGEST_SHOWN
    assert digest.more == 3
    # Oldest first: the three left out are the newest, exactly what /latest 3 lists.
    assert [item.article.id for item in digest.items] == [a.id for a in stored[:DIGEST_SHOWN]]
    replies = digest_replies(digest, date_label(digest.period), "Europe/Moscow")
    assert "и ещё 3 статьи: /latest 3" in strip_tags(replies[-1].html)


# -- rendering -------------------------------------------------------------------------


def test_short_digest_is_one_message_with_a_button_row_per_article() -> None:
    items = tuple(DigestItem(article(n), ("Первое предложение.", "Второе.")) for n in (4, 5, 6))
    replies = digest_replies(Digest(CHAT, "2026-06-17", items), "17 июня 2026", "Europe/Moscow")
    assert len(replies) == 1
    reply = replies[0]
    assert reply.html.startswith("<b>Сводка за 17 июня 2026</b>")
    assert reply.article_id == 4
    assert reply.keyboard is not None
    rows = reply.keyboard.inline_keyboard
    assert [[button.text for button in row] for row in rows][1] == [
        "№5 Тезисы",
        "№5 Подробнее",
        "№5 Текст",
    ]
    for n, row in zip((4, 5, 6), rows, strict=True):
        actions = [ArticleAction.unpack(str(button.callback_data)) for button in row]
        assert {(a.action, a.id) for a in actions} == {("points", n), ("more", n), ("full", n)}
    text, _ = parse_html(reply.html)
    assert "Заголовок статьи номер 5 & <теги>" in text
    assert "№5 · 17 июня 2026, 09:00 · РИА" in text


def test_title_links_to_the_source() -> None:
    item = DigestItem(article(3, url="https://example.com/a?b=1&c=2"), ("Одно.",))
    reply = digest_replies(Digest(CHAT, "2026-06-17", (item,)), "17 июня 2026", "UTC")[0]
    _, entities = parse_html(reply.html)
    assert {"type": "text_link", "url": "https://example.com/a?b=1&c=2"}.items() <= next(
        e for e in entities if e["type"] == "text_link"
    ).items()


def test_many_long_articles_fit_telegram_limit_and_keep_their_buttons() -> None:
    long_sentence = "Очень длинное предложение о событиях дня с подробностями 😀 " * 25 + "."
    huge_sentence = "Огромное предложение без конца и края 😀 " * 200 + "."
    items = [DigestItem(article(n), (long_sentence, long_sentence)) for n in range(1, 10)]
    items.append(DigestItem(article(10), (huge_sentence,)))
    digest = Digest(CHAT, "2026-06-17", tuple(items), more=40)
    replies = digest_replies(digest, "17 июня 2026", "Europe/Moscow")
    assert 1 < len(replies) < 20
    shown: set[int] = set()
    for reply in replies:
        text, _ = parse_html(reply.html)
        assert utf16_len(text) <= MESSAGE_LIMIT
        assert utf16_len(strip_tags(reply.html)) <= MESSAGE_LIMIT
        ids = {
            ArticleAction.unpack(str(b.callback_data)).id
            for row in (reply.keyboard.inline_keyboard if reply.keyboard else [])
            for b in row
        }
        numbers = {n for n in range(1, 11) if f"№{n} ·" in text}
        # The buttons are those of the articles the message shows; a part that only
        # continues the oversized article keeps that article's row.
        assert numbers <= ids
        assert ids - numbers <= {10}
        shown |= ids
    assert shown == set(range(1, 11))
    # More than /latest can list: the plain pointer.
    assert "…и ещё 40 статей: /latest" in strip_tags(replies[-1].html)
