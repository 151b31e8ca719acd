"""Feed commands and `/add URL` through aiogram against the Bot API test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import texts
from bot.app import App
from bot.config import Settings
from storage.articles import ArticleRepo
from storage.db import Database
from storage.feeds import FeedRepo
from tests.botapi import FakeTelegram
from tests.conftest import RunningBot
from tests.site import Site
from tests.test_intake_feeds import (
    EN_TEXT,
    NOW,
    Item,
    html_page,
    rss,
    ru_text,
    ru_title,
    teaser,
)

ADMIN = 500
OTHER_ADMIN = 501
STRANGER = 777


class Chat:
    """The production app polling the test Bot API server, its admins writing to it."""

    def __init__(self, tg: FakeTelegram, app: App) -> None:
        self.tg = tg
        self.app = app

    async def say(self, text: str, *, user: int = ADMIN) -> str:
        before = len(self.tg.sent(user))
        self.tg.message(text, user_id=user)
        calls = await self.tg.wait_for(
            "sendMessage", lambda c: c.chat_id == user, count=before + 1, timeout=10
        )
        return calls[before].text or ""


@pytest.fixture
async def chat(tg: FakeTelegram, bot_settings: Settings, tmp_path: Path) -> AsyncIterator[Chat]:
    settings = bot_settings.model_copy(
        update={"admin_ids": [ADMIN, OTHER_ADMIN], "seeds_dir": tmp_path / "no-seeds"}
    )
    running = await RunningBot(settings, tg).start()
    try:
        yield Chat(tg, running.app)
    finally:
        await running.stop()


async def test_feed_commands_are_for_bot_admins_only(chat: Chat) -> None:
    for command in ("/feeds", "/feed_add https://example.ru/rss", "/feed_remove 1"):
        assert await chat.say(command, user=STRANGER) == texts.NOT_ALLOWED


async def test_admin_adds_lists_removes_and_resumes_feeds(chat: Chat, site: Site) -> None:
    url = site.put("/rss", rss([Item(ru_title(1), site.url("/n/1"), ru_text(1), guid="1")]))

    assert await chat.say("/feeds") == texts.FEEDS_EMPTY
    added = await chat.say(f"/feed_add {url}")
    assert added == "Лента №\u00a01 добавлена: <b>Вести области</b>. Новых статей: 1."
    assert (await chat.say(f"/feed_add {url}")).startswith("Эта лента уже есть под номером 1")
    listing = await chat.say("/feeds")
    assert "1. Вести области — " + url in listing

    assert await chat.say("/feed_remove 9") == texts.FEED_NOT_FOUND.format(number=9)
    assert await chat.say("/feed_resume") == texts.FEED_NUMBER_HINT.format(command="feed_resume")
    assert (await chat.say("/feed_resume 1")).startswith("Лента №\u00a01 «Вести области» снова")
    assert (await chat.say("/feed_remove 1")).startswith("Лента №\u00a01 «Вести области» удалена")
    assert await chat.say("/feeds") == texts.FEEDS_EMPTY


async def test_bad_feed_urls_get_a_clear_reply_and_nothing_is_stored(
    chat: Chat, site: Site, db: Database
) -> None:
    site.put("/page", html_page(ru_title(1), ru_text(1)))
    assert await chat.say("/feed_add") == texts.FEED_ADD_HINT
    assert "только http:// и https://" in await chat.say("/feed_add ftp://example.ru/rss")
    assert "не ссылка" in await chat.say("/feed_add example.ru/rss")
    assert "Страница не найдена (404)" in await chat.say(f"/feed_add {site.url('/none')}")
    assert "не лента RSS или Atom" in await chat.say(f"/feed_add {site.url('/page')}")
    assert await FeedRepo(db).all() == []
    assert await ArticleRepo(db).count() == 0


async def test_add_with_a_url_stores_the_page_article(chat: Chat, site: Site, db: Database) -> None:
    url = site.put("/story", html_page(ru_title(3), ru_text(3)))

    reply = await chat.say(f"/add {url}")

    assert reply == f"Статья сохранена под номером 1: <b>{ru_title(3)}</b>"
    article = await ArticleRepo(db).get(1)
    assert article is not None and article.text == ru_text(3) and article.url == url
    assert (await chat.say(f"/add {url}")).startswith("Такая статья уже есть, её номер 1")


async def test_add_with_an_english_page_says_the_summary_may_be_off(chat: Chat, site: Site) -> None:
    url = site.put("/en", html_page("City approves a transport plan", EN_TEXT))

    reply = await chat.say(f"/add {url}")

    assert reply.splitlines() == [
        "Статья сохранена под номером 1: <b>City approves a transport plan</b>",
        "Статья на английском языке: краткое изложение может быть неточным.",
    ]


async def test_add_with_a_feed_url_stores_its_entries(chat: Chat, site: Site) -> None:
    url = site.put(
        "/rss", rss([Item(ru_title(n), site.url(f"/n/{n}"), ru_text(n)) for n in (1, 2)])
    )
    reply = await chat.say(f"/add {url}")
    assert reply.splitlines() == [
        "Из ленты «Вести области»: новых статей 2, уже были в базе 0.",
        "Новые статьи:",
        f"№\u00a01 {ru_title(2)}",
        f"№\u00a02 {ru_title(1)}",
    ]


async def test_add_with_text_or_a_broken_link_is_handled(chat: Chat, db: Database) -> None:
    reply = await chat.say("/add Заголовок\nТекст статьи о переговорах в Астане.")
    assert reply.startswith("Статья сохранена под номером 1")
    assert "только http:// и https://" in await chat.say("/add ftp://example.ru/a")
    assert await chat.say("/add") == texts.ADD_HINT
    assert await ArticleRepo(db).count() == 1


async def test_paused_feed_is_reported_to_every_admin_even_if_one_blocked_the_bot(
    chat: Chat, site: Site, tg: FakeTelegram, db: Database
) -> None:
    intake = chat.app.services.intake
    feed, _ = await FeedRepo(db).add(site.url("/gone"), now=NOW)
    tg.block(ADMIN)
    for _ in range(5):
        await intake.poll_feed(feed, now=NOW)

    [notice] = await tg.wait_for("sendMessage", lambda c: c.chat_id == OTHER_ADMIN)
    assert notice.text is not None and "поставлена на паузу" in notice.text
    assert tg.sent(ADMIN) == []


async def test_add_of_a_feed_with_many_failed_pages_fits_one_message(
    chat: Chat, site: Site
) -> None:
    long_title = "Очень длинный заголовок новости о программе развития транспорта " * 5
    items = [
        Item(f"{n} {long_title}", site.url(f"/gone/{n}/" + "x" * 300), teaser(n), guid=str(n))
        for n in range(30)
    ]
    reply = await chat.say(f"/add {site.put('/rss', rss(items))}")

    assert len(reply) <= 4096
    assert "новых статей 30" in reply
    assert reply.count("сохранён текст из ленты") == 5 and "…и ещё 25" in reply
