"""Stories in the store, on both backends: assigned as articles are stored, rebuilt at
start from the story window, a store from before stories grouped, several processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.models import NewArticle
from bot.stories import TOLD_ARTICLES, StoryService, told_members
from storage.articles import ArticleRepo
from storage.db import Database
from storage.schema import MIGRATIONS, migrate
from storage.stories import Member, StoryRepo
from tests.conftest import Store

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)

QUAKE = (
    "Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
    "Землетрясение магнитудой 6,1 произошло у восточного побережья Камчатки. "
    "Угрозы цунами нет, сообщили сейсмологи.",
)
HOCKEY = (
    "Сборная России по хоккею выиграла турнир в Сочи",
    "Сборная России по хоккею выиграла международный турнир в Сочи, обыграв в финале "
    "команду Финляндии.",
)


def copy(event: tuple[str, str], outlet: str, *, dated: bool = True, n: int = 0) -> NewArticle:
    title, text = event
    return NewArticle(
        f"{title} | {outlet}",
        f"{text} Сообщает {outlet}, выпуск {n}.",
        source=outlet,
        published_at=NOW - timedelta(hours=1) if dated else None,
    )


async def stored(service: StoryService, repo: ArticleRepo, new: NewArticle, at: datetime) -> int:
    article, created = await repo.add(new, now=at)
    assert created
    return await service.assign(article)


async def test_articles_of_one_event_share_a_story_and_others_do_not(db: Database) -> None:
    repo = ArticleRepo(db)
    service = StoryService(StoryRepo(db), repo, shared=db.shared)
    await service.start()
    first = await stored(service, repo, copy(QUAKE, "ТАСС"), NOW)
    # Undated: its store time is its time, within the story's window.
    second = await stored(service, repo, copy(QUAKE, "РИА Новости", dated=False), NOW)
    other = await stored(service, repo, copy(HOCKEY, "ТАСС"), NOW)
    assert first == second != other
    members = await StoryRepo(db).members_of(first)
    assert {m.source for m in members} == {"ТАСС", "РИА Новости"}


async def test_a_restart_continues_the_open_stories(store: Store) -> None:
    db = await store.open()
    try:
        repo = ArticleRepo(db)
        service = StoryService(StoryRepo(db), repo, shared=db.shared)
        await service.start()
        before = await stored(service, repo, copy(QUAKE, "ТАСС"), NOW)
    finally:
        await db.close()
    db = await store.open()
    try:
        repo = ArticleRepo(db)
        service = StoryService(StoryRepo(db), repo, shared=db.shared)
        await service.start()
        assert set(service.clusterer.stories) == {before}
        after = await stored(service, repo, copy(QUAKE, "Интерфакс"), NOW)
        assert after == before
    finally:
        await db.close()


async def test_the_restart_holds_the_story_window_only(db: Database) -> None:
    repo = ArticleRepo(db)
    service = StoryService(StoryRepo(db), repo, shared=db.shared)
    await service.start()
    old = copy(HOCKEY, "ТАСС")
    then = NOW - timedelta(days=10)
    await stored(service, repo, NewArticle(old.title, old.text, "ТАСС", None, then), then)
    recent = await stored(service, repo, copy(QUAKE, "ТАСС"), NOW)
    fresh = StoryService(StoryRepo(db), repo, shared=db.shared)
    await fresh.start()
    assert set(fresh.clusterer.stories) == {recent}


async def test_a_past_day_loaded_lately_stays_open_beside_a_newer_article(
    db: Database,
) -> None:
    repo = ArticleRepo(db)
    service = StoryService(StoryRepo(db), repo, shared=db.shared)
    await service.start()
    past = NOW - timedelta(days=300)
    quake = copy(QUAKE, "ТАСС")
    story = await stored(
        service, repo, NewArticle(quake.title, quake.text, "ТАСС", None, past), NOW
    )
    await stored(service, repo, copy(HOCKEY, "ТАСС"), NOW)
    fresh = StoryService(StoryRepo(db), repo, shared=db.shared)
    await fresh.start()
    again = copy(QUAKE, "РИА Новости")
    joined = await stored(
        fresh, repo, NewArticle(again.title, again.text, "РИА Новости", None, past), NOW
    )
    assert joined == story


async def test_a_store_from_before_stories_is_migrated_and_grouped(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as conn:
        await migrate(conn, MIGRATIONS[:-1])
        for n, (event, outlet) in enumerate(
            [(QUAKE, "ТАСС"), (HOCKEY, "ТАСС"), (QUAKE, "РИА Новости")]
        ):
            await conn.execute(
                "INSERT INTO articles (title, source, published_at, added_at, text,"
                " content_hash) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    f"{event[0]} | {outlet}",
                    outlet,
                    None,
                    NOW.isoformat(),
                    event[1] + f" {n}",
                    str(n),
                ),
            )
        await conn.commit()
    db = await Database.open(path)
    try:
        repo = ArticleRepo(db)
        service = StoryService(StoryRepo(db), repo, shared=False)
        assert await service.start() == 3
        rows = await db.fetchall("SELECT id, story_id FROM articles ORDER BY id")
        quake, hockey, quake_again = (row[1] for row in rows)
        assert quake == quake_again != hockey
        assert await StoryRepo(db).unplaced() == []
    finally:
        await db.close()


async def test_two_processes_on_one_store_do_not_start_two_stories(store: Store) -> None:
    # Two services over two connections stand for two processes: each assignment takes
    # up what the other assigned first, under the lock.
    first_db, second_db = await store.open(), await store.open()
    try:
        services = []
        for db in (first_db, second_db):
            service = StoryService(StoryRepo(db), ArticleRepo(db), shared=True)
            await service.start()
            services.append((service, ArticleRepo(db)))
        outlets = ["ТАСС", "РИА Новости", "Интерфакс", "РБК"]
        keys = await asyncio.gather(
            *(
                stored(*services[n % 2], copy(QUAKE, outlet, n=n), NOW)
                for n, outlet in enumerate(outlets)
            )
        )
        assert len(set(keys)) == 1
    finally:
        await first_db.close()
        await second_db.close()


def member(article_id: int, source: str, minutes: int) -> Member:
    at = NOW + timedelta(minutes=minutes)
    return Member(article_id=article_id, story_id=1, source=source, time=at, added_at=at)


def test_a_large_story_is_told_from_every_outlets_first_report_and_its_newest() -> None:
    # 300 copies from three outlets, then one late outlet's single report.
    members = [member(n, ("ТАСС", "РИА Новости", "Интерфакс")[n % 3], n) for n in range(300)]
    members.append(member(300, "Коммерсантъ", 150))
    told = told_members(members)
    assert len(told) == TOLD_ARTICLES
    ids = {m.article_id for m in told}
    assert {0, 1, 2, 300} <= ids  # each outlet's first report
    newest = sorted(range(300), reverse=True)[: TOLD_ARTICLES - 4]
    assert set(newest) <= ids
    # A small story is told from all of its articles, and many outlets are all named.
    assert {m.article_id for m in told_members(members[:10])} == set(range(10))
    crowd = [member(n, f"Издание {n}", n) for n in range(TOLD_ARTICLES + 5)]
    assert {m.source for m in told_members(crowd)} == {m.source for m in crowd}


async def test_a_story_told_from_part_of_its_articles_counts_them_all(db: Database) -> None:
    repo = ArticleRepo(db)
    service = StoryService(StoryRepo(db), repo, shared=db.shared)
    await service.start()
    total = TOLD_ARTICLES + 12
    ids = {
        await stored(service, repo, copy(QUAKE, ("ТАСС", "РИА Новости")[n % 2], n=n), NOW)
        for n in range(total)
    }
    [story_id] = ids
    told = await service.tell(story_id, sentences=0)
    assert told is not None
    assert len(told.articles) == TOLD_ARTICLES
    assert told.article_count == total
    assert set(told.outlets) == {"ТАСС", "РИА Новости"}
