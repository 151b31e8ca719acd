"""Intake end to end: feeds and pages from a web server on 127.0.0.1, a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest

from bot import texts
from bot.intake import Fetcher, IntakeService
from bot.intake.errors import (
    BadFeed,
    BadUrl,
    EmptyFeed,
    FeedNotFound,
    FetchTimeout,
    HttpStatusError,
    ResponseTooLarge,
    UnsupportedScheme,
)
from storage.articles import ArticleRepo
from storage.db import Database
from storage.feeds import FeedRepo
from tests.site import Site

NOW = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
MB = 1024 * 1024


# --- test data: feeds and pages -----------------------------------------------------


def ru_text(n: int) -> str:
    """A Russian news article; each `n` gives a different text (and content hash)."""
    return "\n\n".join(
        [
            f"Правительство области номер {n} утвердило программу развития транспорта на"
            " ближайшие пять лет. Документ предусматривает строительство новых дорог, мостов"
            " и развязок.",
            f"По словам губернатора, на программу направят {n + 10} миллиардов рублей из"
            " областного и федерального бюджетов. Первые объекты планируют сдать уже в"
            " следующем году.",
            "Эксперты отмечают, что обновление транспортной сети позволит сократить время в"
            " пути и снизить аварийность. Жители смогут быстрее добираться до работы и"
            " больниц.",
            "Особое внимание уделят общественному транспорту: закупят новые автобусы и"
            " трамваи, а остановки оборудуют электронными табло с расписанием движения.",
            "Общественные слушания по программе пройдут в следующем месяце, предложения"
            " жителей примут на портале правительства области.",
        ]
    )


def ru_title(n: int) -> str:
    return f"Область {n} утвердила программу развития транспорта"


EN_TEXT = "\n\n".join(
    [
        "The city council approved a five-year plan to rebuild the transport network on"
        " Tuesday. The document provides for new roads, bridges and interchanges.",
        "According to the mayor, twelve billion roubles will be spent on the programme from"
        " regional and federal budgets. The first projects are due next year.",
        "Experts say that the new network will cut travel times and reduce the number of"
        " accidents. Residents will reach their workplaces and hospitals faster.",
    ]
)

NAVIGATION = ("Главная", "Политика", "Экономика", "Спорт", "Войти")
BOILERPLATE = ("Читайте также", "Реклама на сайте", "Все права защищены", "Подписывайтесь")


def html_page(title: str, text: str, *, charset: str = "utf-8", meta: bool = True) -> str:
    """An article page as news sites build them: menus, the article, related links, footer."""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    nav = " ".join(f'<li><a href="/{n}">{n}</a></li>' for n in NAVIGATION)
    related = "".join(f'<li><a href="/r{i}">Новость дня {i}</a></li>' for i in range(6))
    head = f'<meta charset="{charset}">' if meta else ""
    return f"""<!DOCTYPE html>
<html lang="ru"><head>{head}<title>{title} — Вести области</title>
<meta property="og:site_name" content="Вести области"></head>
<body>
<header><div class="logo">Вести области</div><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{title}</h1>
<div class="meta">17 июня 2025, 10:15</div>
<div class="article-body">
{paragraphs}
</div>
</article>
<aside><h3>Читайте также</h3><ul>{related}</ul></aside>
<div class="banner">Реклама на сайте: +7 (800) 000-00-00</div>
</main>
<footer><p>© 2025 Вести области. Все права защищены. Подписывайтесь на наш канал.</p></footer>
</body></html>"""


@dataclass
class Item:
    title: str
    link: str
    text: str
    guid: str | None = None
    published: datetime | None = None


def rss(items: list[Item], *, title: str = "Вести области", encoding: str | None = "utf-8") -> str:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else ""
    body = []
    for item in items:
        guid = f"<guid isPermaLink='false'>{item.guid}</guid>" if item.guid else ""
        date = f"<pubDate>{format_datetime(item.published)}</pubDate>" if item.published else ""
        body.append(
            f"<item><title>{item.title}</title><link>{escape(item.link)}</link>{guid}{date}"
            f"<description><![CDATA[{_html(item.text)}]]></description></item>"
        )
    return (
        f'{declaration}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.ru/</link><description>Новости</description>"
        f"{''.join(body)}</channel></rss>"
    )


def atom(items: list[Item], *, title: str = "Atom-лента") -> str:
    entries = "".join(
        f"<entry><title>{item.title}</title><link href={quoteattr(item.link)}/>"
        f"<id>{item.guid or item.link}</id>"
        f"<updated>{(item.published or NOW).isoformat()}</updated>"
        f"<content type='html'><![CDATA[{_html(item.text)}]]></content></entry>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
        f"<id>urn:test:feed</id><updated>{NOW.isoformat()}</updated>{entries}</feed>"
    )


def _html(text: str) -> str:
    return "".join(f"<p>{p}</p>" for p in text.split("\n\n"))


def teaser(n: int) -> str:
    return f"Правительство области номер {n} утвердило программу развития транспорта…"


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # Short timeout: the "never answers" server must not slow the suite down.
    # The site is on 127.0.0.1: reachable only with private addresses allowed.
    async with Fetcher(timeout=0.5, allow_private=True) as client:
        yield client


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def intake(db: Database, fetcher: Fetcher, notices: list[str]) -> IntakeService:
    async def notify(text: str) -> None:
        notices.append(text)

    return IntakeService(fetcher, ArticleRepo(db), FeedRepo(db), notify=notify)


async def add_feed_row(db: Database, url: str) -> Any:
    feed, _ = await FeedRepo(db).add(url, now=NOW)
    return feed


async def stored(db: Database) -> list[Any]:
    return list(reversed(await ArticleRepo(db).latest(1000)))


# --- feeds ------------------------------------------------------------------------------


async def test_rss_entries_become_articles_oldest_first_with_clean_links(
    site: Site, intake: IntakeService, db: Database
) -> None:
    items = [
        Item(
            ru_title(n),
            site.url(f"/news/{n}/?utm_source=rss&utm_medium=feed#comments"),
            ru_text(n),
            guid=f"news-{n}",
            published=NOW - timedelta(hours=n),
        )
        for n in (1, 2, 3)  # newest first, as feeds list them
    ]
    feed = await add_feed_row(db, site.put("/rss", rss(items), content_type="application/rss+xml"))

    result = await intake.poll_feed(feed, now=NOW)

    assert result.status == "updated" and len(result.added) == 3
    articles = await stored(db)
    assert [a.title for a in articles] == [ru_title(3), ru_title(2), ru_title(1)]
    first = articles[-1]
    assert first.url == site.url("/news/1")
    assert first.source == "Вести области"
    assert first.published_at == NOW - timedelta(hours=1)
    assert first.text == ru_text(1)
    assert all(item.lang == "ru" for item in result.items)
    assert result.feed.failures == 0 and result.feed.title == "Вести области"


async def test_atom_feed_is_read_like_rss(site: Site, intake: IntakeService, db: Database) -> None:
    url = site.put(
        "/atom",
        atom([Item(ru_title(7), site.url("/a/7"), ru_text(7), guid="tag:example.ru,2025:7")]),
        content_type="application/atom+xml",
    )
    feed = await add_feed_row(db, url)

    result = await intake.poll_feed(feed, now=NOW)

    [article] = await stored(db)
    assert len(result.added) == 1
    assert (article.title, article.source, article.text) == (ru_title(7), "Atom-лента", ru_text(7))


@pytest.mark.parametrize(
    ("declared_in", "content_type"),
    [
        ("xml", "application/rss+xml"),
        ("xml", "text/xml"),
        ("header", "application/rss+xml; charset=windows-1251"),
    ],
)
async def test_windows_1251_feed_is_decoded_from_its_declaration(
    site: Site, intake: IntakeService, db: Database, declared_in: str, content_type: str
) -> None:
    document = rss(
        [Item(ru_title(5), site.url("/n/5"), ru_text(5), guid="5")],
        title="Новости «Ёлкино»",
        encoding="windows-1251" if declared_in == "xml" else None,
    )
    feed = await add_feed_row(
        db, site.put("/rss1251", document.encode("cp1251"), content_type=content_type)
    )

    await intake.poll_feed(feed, now=NOW)

    [article] = await stored(db)
    assert article.title == ru_title(5)
    assert article.text == ru_text(5)
    assert article.source == "Новости «Ёлкино»"


async def test_teaser_entries_store_the_article_text_of_their_pages(
    site: Site, intake: IntakeService, db: Database
) -> None:
    items = []
    for n in (1, 2):
        link = site.put(f"/story/{n}", html_page(ru_title(n), ru_text(n)))
        items.append(Item(ru_title(n), link, teaser(n), guid=f"s{n}"))
    feed = await add_feed_row(db, site.put("/teasers", rss(items)))

    result = await intake.poll_feed(feed, now=NOW)

    assert len(result.added) == 2
    for article, n in zip(await stored(db), (2, 1), strict=True):
        assert article.text == ru_text(n)
        assert teaser(n) not in article.text
        for junk in (*NAVIGATION, *BOILERPLATE, "Новость дня"):
            assert junk not in article.text


async def test_windows_1251_pages_are_decoded_from_header_or_meta(
    site: Site, intake: IntakeService, db: Database
) -> None:
    page = html_page(ru_title(8), ru_text(8), charset="windows-1251").encode("cp1251")
    by_meta = site.put("/meta1251", page, content_type="text/html")
    by_header = site.put(
        "/header1251",
        html_page(ru_title(9), ru_text(9), meta=False).encode("cp1251"),
        content_type="text/html; charset=windows-1251",
    )

    first = await intake.ingest_url(by_meta, now=NOW)
    second = await intake.ingest_url(by_header, now=NOW)

    assert [i.article.text for i in (*first.items, *second.items)] == [ru_text(8), ru_text(9)]
    assert first.items[0].article.title == ru_title(8)


async def test_reordered_and_republished_entries_are_not_stored_twice(
    site: Site, intake: IntakeService, db: Database
) -> None:
    def item(n: int, *, guid: str | None = None, link_suffix: str = "") -> Item:
        link = site.url(f"/story/{n}{link_suffix}")
        return Item(ru_title(n), link, teaser(n), guid=guid or f"g{n}")

    for n in (1, 2, 3, 4):
        site.put(f"/story/{n}", html_page(ru_title(n), ru_text(n)))
    feed = await add_feed_row(db, site.put("/rss", rss([item(3), item(2), item(1)])))
    await intake.poll_feed(feed, now=NOW)
    page_hits = len(site.requests)

    # Reordered; entry 2 republished under a new guid with a tracking-decorated link;
    # entry 1 under its old guid with a new title; one genuinely new entry.
    site.put(
        "/rss",
        rss(
            [
                item(1),
                item(2, guid="g2-updated", link_suffix="/?utm_source=rss#top"),
                item(4),
                item(3),
            ]
        ),
    )
    result = await intake.poll_feed(feed, now=NOW + timedelta(minutes=30))

    assert [a.title for a in await stored(db)] == [ru_title(n) for n in (1, 2, 3, 4)]
    assert len(result.added) == 1 and result.seen == 3
    # Only the feed and the new entry's page were fetched: seen entries cost nothing.
    assert [r.path for r in site.requests[page_hits:]] == ["/rss", "/story/4"]

    # The same story under another URL and guid: the content hash recognises it.
    site.put("/copy/4", html_page(ru_title(4), ru_text(4)))
    site.put("/rss", rss([Item(ru_title(4), site.url("/copy/4"), teaser(4), guid="other")]))
    again = await intake.poll_feed(feed, now=NOW + timedelta(hours=1))
    assert again.added == [] and len(again.items) == 1
    assert len(await stored(db)) == 4


async def test_the_same_story_in_two_feeds_is_stored_once(
    site: Site, intake: IntakeService, db: Database
) -> None:
    site.put("/story/1", html_page(ru_title(1), ru_text(1)))
    entry = Item(ru_title(1), site.url("/story/1"), teaser(1), guid="one")
    first = await add_feed_row(db, site.put("/politics", rss([entry])))
    second = await add_feed_row(db, site.put("/main", rss([entry])))

    await intake.poll_feed(first, now=NOW)
    result = await intake.poll_feed(second, now=NOW)

    assert result.seen == 1 and len(await stored(db)) == 1


async def test_xml_broken_beyond_recovery_is_refused_whole_and_counted(
    site: Site, intake: IntakeService, db: Database
) -> None:
    broken = rss([]).replace("</channel></rss>", "<item><title>Обрыв").replace("</title>", "", 1)
    url = site.put("/broken", broken, content_type="application/rss+xml")
    feed = await add_feed_row(db, url)

    result = await intake.poll_feed(feed, now=NOW)

    assert result.status == "failed" and isinstance(result.error, BadFeed)
    assert result.feed.failures == 1 and "malformed" in (result.feed.last_error or "")
    assert await stored(db) == []
    with pytest.raises(BadFeed):
        await intake.ingest_url(url, now=NOW)
    with pytest.raises(BadFeed):
        await intake.add_feed(site.put("/broken2", broken), now=NOW)
    assert await stored(db) == [] and len(await FeedRepo(db).all()) == 1


async def test_entries_recovered_from_broken_xml_are_taken_with_their_pages_and_a_warning(
    site: Site, intake: IntakeService, db: Database
) -> None:
    good = rss([Item(ru_title(n), site.url(f"/n/{n}"), ru_text(n)) for n in (1, 2)])
    # The channel's <title> never closes and the document ends inside a new item.
    broken = good.replace("</title>", "", 1).replace("</channel></rss>", "<item><title>Обрыв")
    whole = ru_text(1) + "\n\nПолная версия статьи на сайте длиннее, чем запись в ленте."
    site.put("/n/1", html_page(ru_title(1), whole))
    feed = await add_feed_row(db, site.put("/broken", broken, content_type="application/rss+xml"))

    result = await intake.poll_feed(feed, now=NOW)

    assert result.status == "updated" and result.warning
    assert result.feed.failures == 0
    # A recovered entry's text may be cut where the XML broke: its page is read, and
    # the feed's own text kept only where the page fails.
    assert sorted(a.text for a in await stored(db)) == [whole, ru_text(2)]
    [note] = result.notes
    assert note.outcome == "feed_text" and note.link == site.url("/n/2")
    assert isinstance(note.error, HttpStatusError)


async def test_oversized_responses_are_refused_without_reading_them_whole(
    site: Site, intake: IntakeService, db: Database
) -> None:
    huge = html_page("Огромная страница", ru_text(1)).encode() + b" " * (20 * MB)
    announced = site.put("/huge", huge)
    streamed = site.put("/huge-stream", huge, stream=True)

    for url in (announced, streamed):
        with pytest.raises(ResponseTooLarge) as caught:
            await intake.ingest_url(url, now=NOW)
        assert caught.value.limit == 5 * MB
        assert "5 МБ" in texts.error_text(caught.value)
    assert await stored(db) == []


async def test_feeds_are_polled_side_by_side(
    site: Site, intake: IntakeService, db: Database
) -> None:
    # Each feed's server answers only once all three requests are in: polled one after
    # another, the first would wait past the client's timeout and all three would fail.
    arrived = 0
    all_in = asyncio.Event()

    async def meet() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            all_in.set()
        await all_in.wait()

    for n in (1, 2, 3):
        entry = Item(ru_title(n), site.url(f"/story/{n}"), ru_text(n), guid=f"s{n}")
        url = site.put(f"/feed/{n}", rss([entry], title=f"Лента {n}"), gate=meet)
        await add_feed_row(db, url)

    results = await intake.poll_all(now=NOW)

    assert [r.status for r in results] == ["updated"] * 3
    assert [r.feed.title for r in results] == ["Лента 1", "Лента 2", "Лента 3"]
    assert len(await stored(db)) == 3


async def test_a_server_that_never_answers_times_out(
    site: Site, intake: IntakeService, db: Database
) -> None:
    url = site.put("/slow", rss([]), delay=30)
    feed = await add_feed_row(db, url)
    started = asyncio.get_running_loop().time()

    result = await intake.poll_feed(feed, now=NOW)

    assert isinstance(result.error, FetchTimeout)
    assert asyncio.get_running_loop().time() - started < 5
    assert "не ответил" in texts.error_text(result.error)


async def test_304_answer_to_a_conditional_request_stores_nothing(
    site: Site, intake: IntakeService, db: Database
) -> None:
    url = site.put(
        "/rss",
        rss([Item(ru_title(1), site.url("/n/1"), ru_text(1), guid="1")]),
        headers={"ETag": '"v1"', "Last-Modified": "Tue, 17 Jun 2025 08:00:00 GMT"},
    )
    feed = await add_feed_row(db, url)
    await intake.poll_feed(feed, now=NOW)
    feed = await FeedRepo(db).get(feed.id)
    assert feed is not None and feed.etag == '"v1"'

    result = await intake.poll_feed(feed, now=NOW + timedelta(minutes=30))

    assert result.status == "not_modified"
    last = site.hits("/rss")[-1]
    assert last.headers["If-None-Match"] == '"v1"'
    assert last.headers["If-Modified-Since"] == "Tue, 17 Jun 2025 08:00:00 GMT"
    assert len(await stored(db)) == 1


async def test_not_found_and_bad_urls_are_clear_errors(
    site: Site, intake: IntakeService, db: Database
) -> None:
    with pytest.raises(HttpStatusError) as missing:
        await intake.ingest_url(site.url("/nothing-here"), now=NOW)
    assert missing.value.status == 404
    assert texts.error_text(missing.value).startswith("Страница не найдена (404)")

    redirect = site.put("/to-ftp", "", status=302, headers={"Location": "ftp://example.ru/x"})
    with pytest.raises(UnsupportedScheme):
        await intake.ingest_url(redirect, now=NOW)

    before = len(site.requests)
    for url, error in [
        ("ftp://example.ru/rss.xml", UnsupportedScheme),
        ("file:///etc/passwd", UnsupportedScheme),
        ("javascript:alert(1)", BadUrl),
        ("example.ru/news", BadUrl),
        ("http://", BadUrl),
        ("просто текст", BadUrl),
    ]:
        with pytest.raises(error) as caught:
            await intake.ingest_url(url, now=NOW)
        assert texts.error_text(caught.value) != texts.UNEXPECTED
        with pytest.raises(error):
            await intake.add_feed(url, now=NOW)
    assert len(site.requests) == before
    assert await stored(db) == [] and await FeedRepo(db).all() == []


async def test_feed_is_paused_after_five_failures_in_a_row_and_admins_told_once(
    site: Site, intake: IntakeService, db: Database, notices: list[str]
) -> None:
    feed = await add_feed_row(db, site.url("/gone"))
    for minute in range(4):
        result = await intake.poll_feed(feed, now=NOW + timedelta(minutes=minute))
        assert not result.feed.paused and notices == []
    fifth = await intake.poll_feed(feed, now=NOW + timedelta(minutes=5))

    assert fifth.paused_now and fifth.feed.paused and fifth.feed.failures == 5
    sixth = await intake.poll_feed(feed, now=NOW + timedelta(minutes=6))  # polled by hand
    assert not sixth.paused_now
    [notice] = notices
    assert f"Лента №\u00a0{feed.id}" in notice and "404" in notice and "/feed_resume" in notice
    # Paused feeds are left alone by the scheduled poll.
    requests = len(site.requests)
    assert await intake.poll_all(now=NOW + timedelta(hours=1)) == []
    assert len(site.requests) == requests

    site.put("/gone", rss([Item(ru_title(1), site.url("/n/1"), ru_text(1))]))
    resumed = await intake.resume_feed(feed.id)
    assert not resumed.paused and resumed.failures == 0
    [polled] = await intake.poll_all(now=NOW + timedelta(hours=2))
    assert len(polled.added) == 1 and len(notices) == 1
    with pytest.raises(FeedNotFound):
        await intake.resume_feed(999)


async def test_a_success_starts_the_failure_count_over(
    site: Site, intake: IntakeService, db: Database
) -> None:
    feed = await add_feed_row(db, site.url("/flaky"))
    for _ in range(3):
        await intake.poll_feed(feed, now=NOW)
    site.put("/flaky", rss([Item(ru_title(1), site.url("/n/1"), ru_text(1))]))
    ok = await intake.poll_feed(feed, now=NOW)
    assert ok.feed.failures == 0 and ok.feed.last_error is None
    del site.pages["/flaky"]
    failed = await intake.poll_feed(ok.feed, now=NOW)
    assert failed.feed.failures == 1 and not failed.feed.paused


async def test_teaser_page_that_fails_for_now_is_retried_at_the_next_poll(
    site: Site, intake: IntakeService, db: Database
) -> None:
    site.put("/story/1", "busy", status=503)
    feed_url = site.put(
        "/rss",
        rss([Item(ru_title(1), site.url("/story/1"), teaser(1), guid="1")]),
        headers={"ETag": '"v1"'},
    )
    feed = await add_feed_row(db, feed_url)

    first = await intake.poll_feed(feed, now=NOW)

    assert first.added == [] and first.entry_errors
    assert first.feed.etag is None  # kept back, so the next poll is not a 304
    site.put("/story/1", html_page(ru_title(1), ru_text(1)))
    second = await intake.poll_feed(first.feed, now=NOW + timedelta(minutes=30))
    assert [i.article.text for i in second.added] == [ru_text(1)]
    assert second.feed.etag == '"v1"'


async def test_teaser_whose_page_is_gone_is_stored_as_it_is(
    site: Site, intake: IntakeService, db: Database
) -> None:
    short = "Губернатор подписал указ о новых мерах поддержки семей с детьми."
    feed = await add_feed_row(
        db, site.put("/rss", rss([Item("Новые меры поддержки", site.url("/deleted"), short)]))
    )

    result = await intake.poll_feed(feed, now=NOW)

    [article] = await stored(db)
    assert len(result.added) == 1 and article.text == short


async def test_a_scheduled_poll_tells_the_admins_which_entries_it_gave_up_and_why(
    site: Site, intake: IntakeService, db: Database, notices: list[str]
) -> None:
    # A title and a link, no text of its own: nothing to store when the page is gone.
    bare = Item("Заголовок без текста", site.url("/deleted"), "", guid="bare")
    whole = Item(ru_title(1), site.url("/n/1"), ru_text(1), guid="whole")
    short = Item("Короткая заметка", site.url("/gone"), teaser(2), guid="short")
    await add_feed_row(db, site.put("/rss", rss([bare, whole, short])))

    [result] = await intake.poll_all(now=NOW)

    assert len(result.added) == 2
    outcomes = {note.title: note.outcome for note in result.notes}
    assert outcomes == {"Заголовок без текста": "skipped", "Короткая заметка": "feed_text"}
    [notice] = notices
    assert notice.splitlines()[0] == "Лента №\u00a01 «Вести области»: не сохранено записей: 1."
    assert "«Заголовок без текста»: не сохранена — Страница не найдена (404)" in notice
    assert "Короткая" not in notice
    # Given up for good: the next poll neither fetches its page nor tells anyone again.
    hits = len(site.hits("/deleted"))
    await intake.poll_all(now=NOW)
    assert len(site.hits("/deleted")) == hits and len(notices) == 1


async def test_english_article_is_kept_and_reported_as_english(
    site: Site, intake: IntakeService, db: Database
) -> None:
    page = html_page("City approves a transport plan", EN_TEXT).replace('lang="ru"', 'lang="en"')
    result = await intake.ingest_url(site.put("/en", page), now=NOW)

    [item] = result.items
    assert item.created and item.lang == "en" and not item.russian
    assert texts.language_note(item.lang) == (
        "Статья на английском языке: краткое изложение может быть неточным."
    )
    russian = await intake.ingest_url(site.put("/ru", html_page(ru_title(1), ru_text(1))), now=NOW)
    assert russian.items[0].lang == "ru" and texts.language_note("ru") is None


async def test_ingest_url_tells_a_feed_from_a_page(
    site: Site, intake: IntakeService, db: Database
) -> None:
    items = [Item(ru_title(n), site.url(f"/n/{n}"), ru_text(n), guid=str(n)) for n in (1, 2)]
    # Served as text/plain: only parsing tells it is a feed.
    plain = site.put("/x", rss(items), content_type="text/plain")
    as_feed = await intake.ingest_url(plain, now=NOW)
    as_page = await intake.ingest_url(site.put("/p", html_page(ru_title(3), ru_text(3))), now=NOW)

    assert as_feed.feed_title == "Вести области" and len(as_feed.added) == 2
    assert as_page.feed_title is None and as_page.items[0].article.url == site.url("/p")
    again = await intake.ingest_url(site.url("/x"), now=NOW)
    assert again.added == [] and len(again.items) == 2
    assert await FeedRepo(db).all() == []  # a one-off ingest subscribes to nothing


async def test_add_feed_stores_and_polls_it_and_refuses_pages_and_empty_feeds(
    site: Site, intake: IntakeService, db: Database
) -> None:
    url = site.put("/rss", rss([Item(ru_title(1), site.url("/n/1"), ru_text(1))]))
    added = await intake.add_feed(url, now=NOW)
    assert added.created and added.poll is not None and len(added.poll.added) == 1
    assert added.feed.title == "Вести области"
    assert not (await intake.add_feed(url, now=NOW)).created

    with pytest.raises(BadFeed):
        await intake.add_feed(site.put("/page", html_page(ru_title(2), ru_text(2))), now=NOW)
    with pytest.raises(EmptyFeed):
        await intake.add_feed(site.put("/empty", rss([])), now=NOW)
    with pytest.raises(EmptyFeed):
        await intake.ingest_url(site.url("/empty"), now=NOW)
    assert [f.url for f in await intake.list_feeds()] == [url]

    removed = await intake.remove_feed(added.feed.id)
    assert removed.url == url and await intake.list_feeds() == []
    assert len(await stored(db)) == 1  # its articles stay
    with pytest.raises(FeedNotFound):
        await intake.remove_feed(added.feed.id)


async def test_feeds_from_settings_are_stored_once_and_bad_ones_skipped(
    intake: IntakeService, db: Database
) -> None:
    urls = ["https://example.ru/rss", "ftp://example.ru/rss", "https://example.ru/rss"]
    assert await intake.ensure_feeds(urls, now=NOW) == 1
    assert await intake.ensure_feeds(urls, now=NOW) == 0
    assert [f.url for f in await intake.list_feeds()] == ["https://example.ru/rss"]


async def test_install_schedules_one_polling_job(intake: IntakeService) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    from bot.jobs import Jobs

    jobs = Jobs(clock=lambda: NOW)
    jobs.scheduler.start(paused=True)
    try:
        jobs.feed_polling(intake, minutes=30)
        jobs.feed_polling(intake, minutes=30)
        [job] = jobs.scheduler.get_jobs()
    finally:
        jobs.scheduler.shutdown(wait=False)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=30)
    assert job.max_instances == 1 and job.coalesce


async def test_scheduled_poll_survives_a_store_failure(
    site: Site, intake: IntakeService, db: Database
) -> None:
    await add_feed_row(db, site.put("/rss", rss([Item(ru_title(1), site.url("/n/1"), ru_text(1))])))

    class BrokenStore:
        async def add(self, new: Any, *, now: datetime) -> Any:
            raise RuntimeError("disk full")

    from bot.jobs import poll_feeds

    intake.articles = BrokenStore()
    await poll_feeds(intake, lambda: NOW)  # logs, does not raise
    [feed] = await intake.list_feeds()
    assert feed.failures == 0  # our fault, not the feed's
