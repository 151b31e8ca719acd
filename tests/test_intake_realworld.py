"""Intake on real inputs nobody on the project wrote (issue 14, items 7-10): the files
in ../shared/eval/realworld/, feeds and pages served from a web site on 127.0.0.1.

Names in those feeds (touchnokia.ru, example.com...) are never looked up: the fetcher's
resolver here knows no name at all, so a teaser page fails as it would offline."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot import texts
from bot.__main__ import main
from bot.errors import BadArticleFile
from bot.intake import Fetcher, IntakeService
from bot.intake.errors import FetchFailed, IntakeError
from bot.intake.service import PAGE_RETRIES
from storage.articles import ArticleRepo
from storage.db import Database
from storage.feeds import FeedRepo
from storage.seeds import read_article_file
from tests.conftest import ADMIN_ID, RunningBot
from tests.site import Site

REALWORLD = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "realworld"
pytestmark = pytest.mark.skipif(
    not REALWORLD.is_dir(),
    reason=f"{REALWORLD} is absent: these cases read real feeds, pages and files from it",
)

NOW = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
FEEDS = REALWORLD / "feeds"
LARGE_ATOM = (
    FEEDS / "feedparser/wellformed/sanitize/large_atom_feed_that_needs_css_sanitisation.xml"
)
RIA = REALWORLD / "summaries" / "ria_20_summarus.jsonl"
HTML_LEFT = re.compile(r"</?[a-z]+[^>]*>|&[a-z]+;|&#\d+;")
_HEADER = re.compile(r"^Header:\s*Content-type:\s*(\S+?);?\s*$", re.MULTILINE | re.IGNORECASE)


class NoDns(AbstractResolver):
    """No name resolves: a feed's links to the outside world fail, without traffic."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(f"{host}: no name lookups in tests")

    async def close(self) -> None:
        return None


@pytest.fixture
async def intake(db: Database) -> AsyncIterator[IntakeService]:
    service = IntakeService(
        Fetcher(timeout=2.0, allow_private=True, resolver=NoDns()), ArticleRepo(db), FeedRepo(db)
    )
    await service.start()
    try:
        yield service
    finally:
        await service.close()


def serve(site: Site, path: Path, body: bytes | None = None) -> str:
    """The feed at a URL of its own, with the content type its `Header:` comment names."""
    data = path.read_bytes() if body is None else body
    declared = _HEADER.search(data[:1000].decode("latin-1"))
    content_type = declared.group(1) if declared else "application/xml"
    return site.put("/" + path.relative_to(REALWORLD).as_posix(), data, content_type=content_type)


def large_atom_on(site: Site) -> bytes:
    """touchnokia.ru's feed with its links moved to the test site, where no page is."""
    return LARGE_ATOM.read_bytes().replace(b"http://touchnokia.ru/", site.url("/").encode())


def titles_of_teasers() -> list[str]:
    from bot.intake.feeds import parse_feed

    parsed = parse_feed(LARGE_ATOM.read_bytes(), url="http://feed/", headers={})
    return [entry.title for entry in parsed.entries if entry.teaser]


# --- item 7: HTML in JSON, JSON lines in .json, line numbers, `date` ---------------------


@pytest.mark.parametrize("name", ["ria_20_summarus.jsonl", "ria_corus_sample.jsonl"])
def test_ria_html_text_is_read_as_text(name: str) -> None:
    articles = read_article_file(REALWORLD / "summaries" / name)
    assert len(articles) in (10, 20)
    for article in articles:
        assert not HTML_LEFT.search(article.text), article.text[:200]
        assert not HTML_LEFT.search(article.title)
        assert "\xa0" not in article.text and article.text == article.text.strip()
    assert articles[0].text.startswith("москва, ")


def test_ria_summary_prints_no_markup(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(RIA)]) == 0
    assert main(["summarize", "1"]) == 0
    out = capsys.readouterr().out
    assert "20\u00a0статей, новых 20" in out
    assert "<p>" not in out and "&nbsp;" not in out and "&mdash;" not in out
    assert "провинции — эдмонтона" in out  # &nbsp;&mdash; as the characters they stand for


def test_a_json_file_holding_json_lines_is_read_and_a_broken_line_named(tmp_path: Path) -> None:
    lines = RIA.read_text(encoding="utf-8").splitlines()
    as_json = tmp_path / "ria_20.json"
    as_json.write_text("\n".join(lines), encoding="utf-8")
    assert [a.title for a in read_article_file(as_json)] == [
        a.title for a in read_article_file(RIA)
    ]

    broken = tmp_path / "ria_broken.json"
    broken.write_text("\n".join([*lines[:6], lines[6][: len(lines[6]) // 2], *lines[7:]]), "utf-8")
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(broken)
    assert caught.value.reason == "invalid JSON on line 7"
    assert "строка 7" in texts.error_text(caught.value)


def test_gazeta_date_is_its_publication_time() -> None:
    [article] = read_article_file(REALWORLD / "summaries" / "gazeta_card_1.jsonl")
    assert article.published_at == datetime(2019, 10, 1, 15, 14, 5, tzinfo=UTC)


# --- item 8: a short entry keeps its own text; what happened is said per entry ------------


async def test_short_entries_keep_their_text_when_their_pages_cannot_be_fetched(
    site: Site, intake: IntakeService, db: Database
) -> None:
    result = await intake.ingest_url(serve(site, LARGE_ATOM), now=NOW)

    assert len(result.items) == 15 and await ArticleRepo(db).count() == 15
    assert sorted(note.title for note in result.notes) == sorted(titles_of_teasers())
    assert {note.outcome for note in result.notes} == {"feed_text"}
    assert all(isinstance(note.error, FetchFailed) for note in result.notes)


async def test_a_polled_feed_waits_a_few_polls_for_pages_then_keeps_the_entries_text(
    site: Site, intake: IntakeService, db: Database
) -> None:
    feed, _ = await FeedRepo(db).add(serve(site, LARGE_ATOM), now=NOW)
    teasers = len(titles_of_teasers())

    first = await intake.poll_feed(feed, now=NOW)
    assert len(first.added) == 15 - teasers
    assert [note.outcome for note in first.notes] == ["later"] * teasers
    for _ in range(PAGE_RETRIES - 1):
        again = await intake.poll_feed(feed, now=NOW)
        assert again.added == [] and len(again.notes) == teasers
    last = await intake.poll_feed(feed, now=NOW)

    assert len(last.added) == teasers and await ArticleRepo(db).count() == 15
    assert [note.outcome for note in last.notes] == ["feed_text"] * teasers
    assert (await intake.poll_feed(feed, now=NOW)).notes == ()


async def test_ingest_on_the_command_line_says_what_happened_to_each_entry(
    site: Site, cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "1")
    url = serve(site, LARGE_ATOM, large_atom_on(site))

    # In a thread: the command runs its own event loop, the site runs on this one.
    assert await asyncio.to_thread(main, ["ingest", url]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{url}: 15\u00a0статей, новых 15"
    notes = [line for line in out if "сохранён текст из ленты" in line]
    assert len(notes) == len(titles_of_teasers())
    for title in titles_of_teasers():
        assert any(f"«{title[:80]}»" in line and "(404)" in line for line in notes), title


async def test_add_of_a_feed_tells_the_admin_what_happened_to_each_entry(
    running: RunningBot, site: Site
) -> None:
    url = serve(site, LARGE_ATOM, large_atom_on(site))

    [reply] = await running.say(f"/add {url}", user_id=ADMIN_ID, timeout=30)

    text = reply.text or ""
    assert "новых статей 15" in text
    assert text.count("сохранён текст из ленты") == len(titles_of_teasers())
    assert "Страница не найдена (404)" in text


# --- item 9: feeds feedparser recovers are read, with a warning -------------------------

DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


def damaged(kind: str) -> bytes:
    """The real Russian feed with one of the faults of feedparser's `illformed` suite."""
    body = LARGE_ATOM.read_bytes()
    assert body.startswith(DECLARATION)
    title = "Невидимая броня для Вашего Nokia 5800</title>".encode()
    if kind == "undefined entity":
        return body.replace(title, b"&nbsp;" + title, 1)
    if kind == "stray XML declaration":  # as in rdf_channel_empty_textinput.xml
        return body[len(DECLARATION) :].replace(b"-->", b"-->\n" + DECLARATION, 1)
    if kind == "unclosed tag":  # as in aaa_illformed.xml: "</feed" without ">"
        return body.rstrip().removesuffix(b">")
    assert kind == "incomplete CDATA"  # as in rss_incomplete_cdata.xml: cut off inside it
    return body[: body.rindex(b"<![CDATA[") + 40]


@pytest.mark.parametrize(
    "kind", ["undefined entity", "stray XML declaration", "unclosed tag", "incomplete CDATA"]
)
async def test_a_feed_that_feedparser_recovers_is_read_with_a_warning(
    site: Site, intake: IntakeService, db: Database, kind: str
) -> None:
    url = site.put(f"/damaged/{kind.replace(' ', '-')}", damaged(kind), content_type="text/xml")

    result = await intake.ingest_url(url, now=NOW)

    assert result.warning
    assert len(result.items) == 15
    titles = {a.title for a in await ArticleRepo(db).latest(20)}
    assert "Невидимая броня для Вашего Nokia 5800" in titles
    # Each recovered entry's page was tried (its text may be cut where the XML broke);
    # none could be fetched here, so each keeps the feed's text and says so.
    assert len(result.notes) == 15 and {n.outcome for n in result.notes} == {"feed_text"}


async def test_the_recovered_feed_is_taken_by_feed_add_with_a_warning_to_the_admin(
    running: RunningBot, site: Site
) -> None:
    body = damaged("undefined entity").replace(b"http://touchnokia.ru/", site.url("/").encode())
    url = site.put("/damaged.xml", body, content_type="application/atom+xml")

    [reply] = await running.say(f"/feed_add {url}", user_id=ADMIN_ID, timeout=30)

    text = reply.text or ""
    assert "добавлена" in text and "Новых статей: 15" in text
    assert texts.FEED_RECOVERED in text


async def test_the_koi8r_feed_without_a_declaration_is_stored_in_russian(
    site: Site, intake: IntakeService
) -> None:
    result = await intake.ingest_url(
        serve(site, FEEDS / "feedparser/illformed/chardet/koi8r.xml"), now=NOW
    )
    [item] = result.items
    assert item.article.title == "Как пережить новогоднюю ночь" and item.lang == "ru"


def real_feeds() -> list[Path]:
    if not FEEDS.is_dir():
        return []
    return sorted(p for p in FEEDS.rglob("*") if p.suffix in {".xml", ".atom", ".rss"})


@pytest.mark.parametrize("path", real_feeds(), ids=lambda p: p.relative_to(FEEDS).as_posix())
async def test_every_real_feed_is_read_or_refused_in_one_clear_line(
    site: Site, intake: IntakeService, path: Path
) -> None:
    """All 55, the illformed ones included: entries, or one line that says why not."""
    try:
        result = await intake.ingest_url(serve(site, path), now=NOW)
    except IntakeError as exc:
        text = texts.error_text(exc)
        assert text != texts.UNEXPECTED and "\n" not in text
    else:
        assert result.items or result.notes
        for item in result.items:
            assert item.article.text.strip() and "<script" not in item.article.text


# --- item 10: no file-name source, no header in the text, a safe language ---------------


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("putin2024_tech.txt", ""),
        ("putin2024_full.txt", ""),
        ("drone_transcript.txt", ""),
        ("meduza_hse_interview.txt", "meduza"),
        ("ria_school_budget_expert.txt", "ria"),
    ],
)
def test_a_file_without_a_source_has_none(name: str, source: str) -> None:
    [article] = read_article_file(REALWORLD / "enumerations" / name)
    assert article.source == source


async def test_heise_text_starts_with_the_article_not_its_date_and_title(
    site: Site, intake: IntakeService
) -> None:
    page = REALWORLD / "pages/readability/heise/source.html"
    [item] = (await intake.ingest_url(site.put("/heise", page.read_bytes()), now=NOW)).items
    first = item.article.text.split("\n\n")[0]
    assert first.startswith("Das in der iOS-Version bereits enthaltene TOTP-Feature")
    assert "08.04.2015" not in item.article.text.split("\n\n")[0]
    assert item.article.title == "1Password für Mac generiert Einmal-Passwörter"
    assert item.article.text.count(item.article.title) == 0


@pytest.mark.parametrize(
    ("page", "lang"),
    [
        ("readability/wikipedia-2/source.html", "en"),
        ("readability/bbc-1/source.html", "en"),
        ("readability/heise/source.html", "de"),
        ("readability/lemonde-1/source.html", "fr"),
        ("trafilatura/football.ua.podolski.html", "ru"),
        ("trafilatura/lemire.me.json.html", "en"),
        ("newspaper4k/latvian_article.html", "lv"),
    ],
)
async def test_pages_get_their_language_tables_and_short_titles_notwithstanding(
    site: Site, intake: IntakeService, page: str, lang: str
) -> None:
    body = (REALWORLD / "pages" / page).read_bytes()
    [item] = (await intake.ingest_url(site.put("/" + page, body), now=NOW)).items
    assert item.lang == lang


def test_real_english_titles_are_english() -> None:
    from bot.intake import detect_language

    titles = [
        json.loads((d / "expected-metadata.json").read_text("utf-8"))["title"]
        for d in sorted((REALWORLD / "pages" / "readability").iterdir())
    ]
    english = [t for t in titles if t.isascii()]
    assert "New Zealand" in english
    assert {t: detect_language(t) for t in english} == {t: "en" for t in english}


def test_tgnews_pages_are_in_the_language_the_contest_gives() -> None:
    from bot.intake import detect_language
    from bot.intake.lang import article_language
    from bot.intake.pages import extract_page

    meta = json.loads((REALWORLD / "pages/tgnews/meta.json").read_text("utf-8"))
    wrong = {}
    for name, info in meta.items():
        page = extract_page(
            (REALWORLD / "pages/tgnews" / name).read_bytes(), url="http://x/", charset=None
        )
        if article_language(page.title, page.text) != info["lang"]:
            wrong[name] = info["lang"]
    assert wrong == {}
    assert detect_language(meta["4011238084351119989.html"]["title"]) == "ru"
