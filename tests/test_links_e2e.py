"""Any link summarised on request, end to end: pages served from 127.0.0.1, the bot
polling the Bot API test server, its answers and their follow-ups; nothing of it in the
news store."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest

from bot import texts
from bot.config import Settings
from bot.render import LinkAction
from storage.articles import ArticleRepo
from storage.links import LinkRepo
from tests.botapi import FakeTelegram
from tests.conftest import ADMIN_ID, RunningBot
from tests.site import Site
from tests.test_intake_feeds import html_page, ru_text, ru_title

USER = 1001  # not a bot admin
GROUP = -5001


def unescaped(template: str, **fields: object) -> str:
    return html.unescape(template.format(**fields))


async def counts(bot: RunningBot) -> tuple[int, int]:
    db = bot.app.services.db
    return await ArticleRepo(db).count(), await LinkRepo(db).count()


async def test_a_link_from_anyone_is_summarised_and_not_stored(
    running: RunningBot, site: Site
) -> None:
    url = site.put("/news/1", html_page(ru_title(1), ru_text(1)))
    articles_before, pages_before = await counts(running)

    (answer,) = await running.say(url, user_id=USER, timeout=60)
    text = answer.text or ""
    assert ru_title(1) in text
    assert f"<b>{texts.SUMMARY_LABEL}</b>" in text
    assert "Правительство области номер 1" in text
    buttons = [b for row in answer.params["reply_markup"]["inline_keyboard"] for b in row]
    assert {"url": url, "text": texts.BTN_SOURCE} in [
        {k: b[k] for k in ("url", "text")} for b in buttons if "url" in b
    ]
    # In the chat's link cache, not among the articles.
    assert await counts(running) == (articles_before, pages_before + 1)
    (found,) = await running.say("/latest", user_id=USER)
    assert ru_title(1) not in (found.text or "")

    # A button under the answer: the page's full text, from the cache (no new fetch).
    page_id = LinkAction.unpack(
        next(b["callback_data"] for b in buttons if b.get("callback_data"))
    ).id
    before = len(running.tg.sent(USER))
    running.tg.callback(LinkAction(action="full", id=page_id).pack(), message=answer, user_id=USER)
    full = await running.tg.wait_for(
        "sendMessage", lambda c: c.chat_id == USER, count=before + 1, timeout=60
    )
    assert "транспортной сети" in (full[-1].text or "")

    # A reply to the answer with /more: the same page, a longer summary.
    (more,) = await running.say("/more", user_id=USER, reply_to_message=answer, timeout=60)
    assert f"<b>{texts.MORE_LABEL}</b>" in (more.text or "")
    assert ru_title(1) in (more.text or "")
    assert len(site.hits("/news/1")) == 1

    # In a group: /summary URL, for anyone.
    (group,) = await running.say(f"/summary {url}", chat_id=GROUP, user_id=USER, timeout=60)
    assert ru_title(1) in (group.text or "")
    assert await ArticleRepo(running.app.services.db).count() == articles_before


async def test_pages_without_text_too_big_or_redirected_away_are_refused_in_one_line(
    running: RunningBot, site: Site
) -> None:
    url = site.put("/empty", "<html><head><title>Пусто</title></head><body></body></html>")
    (answer,) = await running.say(url, user_id=USER, timeout=60)
    assert answer.text == texts.NO_ARTICLE_TEXT.format(url=url)

    # Over the fetcher's 5 MB, sent without a length so that only counting stops it.
    big = site.put("/big", b"<p>" + b"x" * (5 * 1024 * 1024 + 1), stream=True)
    (answer,) = await running.say(big, user_id=USER, timeout=60)
    assert answer.text == texts.RESPONSE_TOO_LARGE.format(mb="5", url=big)

    # A redirect to another scheme is refused like the link itself would be.
    away = site.put("/away", "", status=302, headers={"Location": "file:///etc/passwd"})
    (answer,) = await running.say(away, user_id=USER)
    assert answer.text == texts.UNSUPPORTED_SCHEME.format(scheme="file")
    assert await LinkRepo(running.app.services.db).count() == 0


@pytest.fixture
async def public_only(bot_settings: Settings, tg: FakeTelegram) -> AsyncIterator[RunningBot]:
    settings = bot_settings.model_copy(update={"fetch_allow_private": False})
    bot = await RunningBot(settings, tg).start()
    try:
        yield bot
    finally:
        await bot.stop()


async def test_local_addresses_and_other_schemes_are_refused(
    public_only: RunningBot, site: Site
) -> None:
    url = site.put("/news/1", html_page(ru_title(1), ru_text(1)))
    for who in (USER, ADMIN_ID):
        (answer,) = await public_only.say(url, user_id=who)
        assert answer.text == unescaped(texts.BLOCKED_ADDRESS, host="127.0.0.1")
    (answer,) = await public_only.say("file:///etc/passwd", user_id=USER)
    assert answer.text == texts.UNSUPPORTED_SCHEME.format(scheme="file")
    (answer,) = await public_only.say(
        "/summary http://[::ffff:127.0.0.1]/", chat_id=GROUP, user_id=USER
    )
    assert answer.text == unescaped(texts.BLOCKED_ADDRESS, host="::ffff:7f00:1")
    assert site.hits("/news/1") == []
    assert await LinkRepo(public_only.app.services.db).count() == 0


async def test_a_user_gets_a_few_pages_a_minute(
    bot_settings: Settings, tg: FakeTelegram, site: Site
) -> None:
    settings = bot_settings.model_copy(update={"links_per_minute": 2})
    bot = await RunningBot(settings, tg).start()
    try:
        urls = [site.put(f"/news/{n}", html_page(ru_title(n), ru_text(n))) for n in (1, 2, 3)]
        for url in urls[:2]:
            (answer,) = await bot.say(url, user_id=USER, timeout=60)
            assert texts.SUMMARY_LABEL in (answer.text or "")
        (wait,) = await bot.say(urls[2], user_id=USER)
        assert (wait.text or "").startswith("Слишком много ссылок подряд: подождите ")
        assert site.hits("/news/3") == []
        # Someone else has a minute of their own.
        (answer,) = await bot.say(urls[2], user_id=USER + 1, timeout=60)
        assert ru_title(3) in (answer.text or "")
    finally:
        await bot.stop()
