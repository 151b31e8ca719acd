from __future__ import annotations

import asyncio
import sqlite3
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.articles import ArticleService, Target
from bot.chats import ChatService
from bot.config import Settings
from bot.errors import EmptyText
from bot.models import ChatSettings, KeyPoint, NewArticle, Points, Summary
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database
from storage.feeds import FeedRepo
from storage.memo import Memo
from storage.schema import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, migrate
from storage.seeds import read_article_file
from storage.subscriptions import SubscriptionRepo

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
DEFAULTS = ChatSettings(chat_id=0, algorithm="lexrank", sentences=3, timezone="Europe/Moscow")


def news(
    title: str,
    text: str,
    *,
    source: str = "",
    url: str | None = None,
    published_at: datetime | None = None,
) -> NewArticle:
    return NewArticle(title, text, source=source, url=url, published_at=published_at)


async def add_seed(articles: ArticleRepo, seed_path: Path) -> int:
    (seed,) = read_article_file(seed_path)
    article, _ = await articles.add(seed, now=NOW)
    return article.id


async def indexed(db: Database) -> int:
    """Rows in the full-text index: FTS5's table, or PostgreSQL's lemmas and tsvector."""
    table = "articles_fts" if db.dialect == "sqlite" else "article_lemmas"
    row = await db.fetchone(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- database, migrations, transactions ---------------------------------------------


async def test_open_creates_folder_sets_pragmas_and_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "svodka.sqlite3"
    db = await Database.open(path)
    try:
        assert path.exists()
        assert await db.schema_version() == SCHEMA_VERSION
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
        assert (await db.fetchone("PRAGMA busy_timeout"))[0] > 0  # type: ignore[index]
    finally:
        await db.close()


async def test_version_1_database_migrates_forward_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO articles (id, title, source, added_at, text, content_hash)"
        " VALUES (7, 'Старая статья', 'архив', '2025-01-01T00:00:00.000000+00:00',"
        " 'Переговоры с Казахстаном.', 'hash-7')"
    )
    conn.execute(
        "INSERT INTO articles_fts (rowid, title_lemmas, text_lemmas)"
        " VALUES (7, 'старый статья', 'переговоры с казахстан')"
    )
    conn.execute("INSERT INTO chats (chat_id, algorithm) VALUES (-100, 'lsa')")
    conn.execute(
        "INSERT INTO subscriptions (chat_id, at, timezone, created_at, updated_at)"
        " VALUES (-100, '08:30', 'Asia/Almaty', 'x', 'x')"
    )
    conn.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == SCHEMA_VERSION
        articles = ArticleRepo(db)
        old = await articles.get(7)
        assert old is not None and old.title == "Старая статья"
        assert old.added_at == datetime(2025, 1, 1, tzinfo=UTC)
        assert [hit.article.id for hit in await articles.search("Казахстана")] == [7]
        assert (await ChatRepo(db).settings(-100, default=DEFAULTS)).algorithm == "lsa"
        subscription = await SubscriptionRepo(db).get(-100)
        assert subscription is not None and subscription.at == time(8, 30)
    finally:
        await db.close()
    indexes = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"articles_added", "digest_runs_pending"} <= indexes


async def test_failed_migration_step_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    broken = (MIGRATIONS[0], ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"))
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, broken)
    assert rows(path, "PRAGMA user_version") == [(1,)]
    assert rows(path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


async def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(SchemaTooNew):
        await Database.open(path)


async def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    path = tmp_path / "svodka.sqlite3"
    for _ in range(2):
        db = await Database.open(path)
        await ArticleRepo(db).add(news("Заголовок", "Текст статьи."), now=NOW)
        await db.close()
    assert rows(path, "SELECT count(*) FROM articles") == [(1,)]


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    chats = ChatRepo(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await chats.update_settings(1, algorithm="lsa")
            raise RuntimeError("boom")
    assert (await chats.settings(1, default=DEFAULTS)).algorithm == "lexrank"


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 8])
async def test_a_transaction_cancelled_at_any_step_leaves_none_open(
    db: Database, turns: int
) -> None:
    """A stop cancels whatever is writing: on its way in (BEGIN), in its body or on its
    way out (COMMIT), the next transaction still starts, and the store is consistent."""
    chats = ChatRepo(db)

    async def write() -> None:
        async with db.transaction():
            await chats.update_settings(1, algorithm="lsa")
            await chats.update_settings(2, algorithm="luhn")

    task = asyncio.create_task(write())
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    async with db.transaction():
        await chats.update_settings(3, algorithm="kl")
    first = (await chats.settings(1, default=DEFAULTS)).algorithm
    second = (await chats.settings(2, default=DEFAULTS)).algorithm
    # All of it or none of it.
    assert (first, second) in {("lsa", "luhn"), ("lexrank", "lexrank")}
    assert (await chats.settings(3, default=DEFAULTS)).algorithm == "kl"


async def test_nested_transaction_failure_undoes_only_the_inner_block(db: Database) -> None:
    chats = ChatRepo(db)
    async with db.transaction():
        await chats.update_settings(1, algorithm="lsa")
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await chats.update_settings(2, algorithm="luhn")
                raise RuntimeError("inner")
        async with db.transaction():
            await chats.update_settings(3, algorithm="kl")
    assert (await chats.settings(1, default=DEFAULTS)).algorithm == "lsa"
    assert (await chats.settings(2, default=DEFAULTS)).algorithm == "lexrank"
    assert (await chats.settings(3, default=DEFAULTS)).algorithm == "kl"


async def test_another_tasks_write_is_not_lost_with_a_rolled_back_transaction(
    db: Database,
) -> None:
    chats = ChatRepo(db)
    started = asyncio.Event()

    async def failing() -> None:
        async with db.transaction():
            await chats.update_settings(1, algorithm="lsa")
            started.set()
            await asyncio.sleep(0.01)
            raise RuntimeError("boom")

    async def bystander() -> None:
        await started.wait()
        await chats.update_settings(2, algorithm="luhn")

    results = await asyncio.gather(failing(), bystander(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert (await chats.settings(1, default=DEFAULTS)).algorithm == "lexrank"
    assert (await chats.settings(2, default=DEFAULTS)).algorithm == "luhn"


async def test_reads_do_not_wait_for_another_tasks_transaction(db: Database) -> None:
    chats = ChatRepo(db)
    await chats.update_settings(1, algorithm="lsa")
    written, release = asyncio.Event(), asyncio.Event()
    seen_inside: list[str | None] = []

    async def writer() -> None:
        async with db.transaction():
            await db.execute("UPDATE chats SET algorithm = 'kl' WHERE chat_id = 1")
            # The task's own read sees its uncommitted write.
            row = await db.fetchone("SELECT algorithm FROM chats WHERE chat_id = 1")
            seen_inside.append(None if row is None else row["algorithm"])
            written.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await written.wait()
    # Everyone else reads what is committed, at once, while the transaction is open.
    row = await asyncio.wait_for(
        db.fetchone("SELECT algorithm FROM chats WHERE chat_id = 1"), timeout=5
    )
    assert row is not None and row["algorithm"] == "lsa"
    assert seen_inside == ["kl"]
    release.set()
    await task
    row = await db.fetchone("SELECT algorithm FROM chats WHERE chat_id = 1")
    assert row is not None and row["algorithm"] == "kl"


# --- articles -----------------------------------------------------------------------


async def test_add_and_get_round_trip(articles: ArticleRepo) -> None:
    published = datetime(2025, 6, 17, 4, 5, 45, tzinfo=UTC) + timedelta(hours=3)
    stored, created = await articles.add(
        news(
            "  Заголовок  ",
            "Текст.",
            source="ТАСС",
            url="https://example.ru/a",
            published_at=published,
        ),
        now=NOW,
    )
    assert created
    assert await articles.get(stored.id) == stored
    assert stored.title == "Заголовок"
    assert stored.published_at == published and stored.published_at.tzinfo is not None
    assert stored.added_at == NOW
    assert await articles.get(stored.id + 1) is None


async def test_naive_and_offset_datetimes_are_stored_as_utc(articles: ArticleRepo) -> None:
    moscow = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    stored, _ = await articles.add(news("Т", "Текст.", published_at=moscow), now=moscow)
    fetched = await articles.get(stored.id)
    assert fetched is not None
    assert fetched.added_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert fetched.added_at.utcoffset() == timedelta(0)


async def test_duplicate_url_returns_the_stored_article(articles: ArticleRepo) -> None:
    first, _ = await articles.add(news("Один", "Первый текст.", url="https://x.ru/1"), now=NOW)
    again, created = await articles.add(
        news("Другой", "Совсем другой текст.", url="https://x.ru/1"), now=NOW
    )
    assert not created
    assert again == first
    assert await articles.count() == 1
    assert await articles.search("другой") == []


@pytest.mark.parametrize(
    "variant",
    [
        "Китай  и Казахстан\n\nподписали   соглашение.",
        "  КИТАЙ И КАЗАХСТАН ПОДПИСАЛИ СОГЛАШЕНИЕ.  ",
        "Китай и Казахстан подписали соглашение.\n",
    ],
)
async def test_duplicate_text_returns_the_stored_article(
    articles: ArticleRepo, db: Database, variant: str
) -> None:
    first, _ = await articles.add(
        news("Соглашение", "Китай и Казахстан подписали соглашение."), now=NOW
    )
    again, created = await articles.add(news("Иной заголовок", variant), now=NOW + timedelta(1))
    assert not created
    assert again == first
    assert await articles.count() == 1
    assert await indexed(db) == 1


async def test_yo_and_ye_spellings_are_one_text(articles: ArticleRepo) -> None:
    await articles.add(news("Ёлки", "Ещё ёлки привезли."), now=NOW)
    _, created = await articles.add(news("Елки", "Еще елки привезли."), now=NOW)
    assert not created


async def test_blank_urls_do_not_collide(articles: ArticleRepo) -> None:
    await articles.add(news("А", "Первый.", url=""), now=NOW)
    _, created = await articles.add(news("Б", "Второй.", url=""), now=NOW)
    assert created
    assert await articles.count() == 2


async def test_empty_text_is_refused_and_nothing_stored(articles: ArticleRepo) -> None:
    with pytest.raises(EmptyText):
        await articles.add(news("Заголовок", " \n\t "), now=NOW)
    assert await articles.count() == 0


async def test_latest_newest_and_added_since(articles: ArticleRepo) -> None:
    ids = []
    for hours in (0, 1, 2):
        article, _ = await articles.add(
            news(f"Статья {hours}", f"Текст номер {hours}."), now=NOW + timedelta(hours=hours)
        )
        ids.append(article.id)
    same_time, _ = await articles.add(
        news("Ещё", "Текст в тот же час."), now=NOW + timedelta(hours=2)
    )
    assert [a.id for a in await articles.latest()] == [same_time.id, ids[2], ids[1], ids[0]]
    assert [a.id for a in await articles.latest(2)] == [same_time.id, ids[2]]
    assert (await articles.newest()) == same_time
    assert [a.id for a in await articles.added_since(NOW)] == [ids[1], ids[2], same_time.id]
    assert [a.id for a in await articles.added_since(NOW, limit=1)] == [ids[1]]
    assert await articles.count_since(NOW) == 3
    assert await articles.count_since(NOW + timedelta(hours=2)) == 0
    assert await articles.count() == 4


async def test_newest_of_an_empty_store_is_none(articles: ArticleRepo) -> None:
    assert await articles.newest() is None
    assert await articles.latest() == []


async def test_delete_removes_article_index_and_cache(articles: ArticleRepo, db: Database) -> None:
    article, _ = await articles.add(news("Нефть", "Цены на нефть выросли."), now=NOW)
    cache = SummaryCache(db)
    await cache.put_summary(Summary(article.id, "lexrank", ("Цены на нефть выросли.",)), 1)
    assert await articles.delete(article.id)
    assert not await articles.delete(article.id)
    assert await articles.get(article.id) is None
    assert await articles.search("нефть") == []
    assert await cache.get_summary(article.id, "lexrank", 1) is None
    replacement, _ = await articles.add(news("Газ", "Цены на газ."), now=NOW)
    assert replacement.id != article.id


# --- search -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["Казахстана", "сотрудничеством", "ТЯНЬЦЗИНЕ", "Токаевым", "Токаев", "Токаева"]
)
async def test_search_finds_inflected_forms(
    articles: ArticleRepo, seed_path: Path, query: str
) -> None:
    seed_id = await add_seed(articles, seed_path)
    await articles.add(news("Погода", "В Москве ожидается снег."), now=NOW)
    hits = await articles.search(query)
    assert [hit.article.id for hit in hits] == [seed_id]


async def test_title_matches_rank_above_text_matches(articles: ArticleRepo) -> None:
    in_text, _ = await articles.add(
        news("Рынки", "Нефть дорожает. Нефть в цене. Аналитики говорят о нефти."), now=NOW
    )
    in_title, _ = await articles.add(news("Нефть дорожает", "Рынки отреагировали."), now=NOW)
    hits = await articles.search("нефти")
    assert [hit.article.id for hit in hits] == [in_title.id, in_text.id]


async def test_all_words_beat_any_word(articles: ArticleRepo) -> None:
    one, _ = await articles.add(news("Нефть", "Нефть, нефть и снова нефть."), now=NOW)
    both, _ = await articles.add(news("Рынки", "Бразилия продаёт нефть."), now=NOW)
    assert [hit.article.id for hit in await articles.search("нефть Бразилии")] == [both.id]
    fallback = await articles.search("нефть Аргентины")
    assert {hit.article.id for hit in fallback} == {one.id, both.id}


async def test_stop_words_alone_still_search(articles: ArticleRepo) -> None:
    article, _ = await articles.add(news("Заголовок", "Он и она."), now=NOW)
    assert [hit.article.id for hit in await articles.search("и")] == [article.id]


async def test_search_respects_limit(articles: ArticleRepo) -> None:
    for n in range(4):
        await articles.add(news(f"Новость {n}", f"Саммит в Астане, день {n}."), now=NOW)
    assert len(await articles.search("саммит", limit=2)) == 2
    assert await articles.search("саммит", limit=0) == []


async def test_only_the_newest_matches_are_ranked(db: Database) -> None:
    articles = ArticleRepo(db, candidates=3)
    # The best match by rank is the oldest: the word in its title, twice in its text.
    oldest, _ = await articles.add(news("Саммит", "Саммит открылся. Саммит идёт."), now=NOW)
    newer = []
    for n in range(4):
        article, _ = await articles.add(
            news(f"Новость {n}", f"Лидеры приехали на саммит, день {n}."),
            now=NOW + timedelta(hours=n + 1),
        )
        newer.append(article.id)
    bounded = [hit.article.id for hit in await articles.search("саммит", limit=5)]
    assert sorted(bounded) == newer[-3:]
    everything = ArticleRepo(db, candidates=1000)
    best = await everything.search("саммит", limit=1)
    assert [hit.article.id for hit in best] == [oldest.id]


async def test_a_word_only_old_articles_hold_is_found(db: Database) -> None:
    articles = ArticleRepo(db, candidates=2)
    ids = []
    for n in range(30):
        text = f"Извержение вулкана, день {n}." if n < 3 else f"Погода в Москве, день {n}."
        article, _ = await articles.add(news(f"Новость {n}", text), now=NOW)
        ids.append(article.id)
    # Newer than any match: 27 articles without the word, more than PostgreSQL's first
    # window of candidates.
    found = await articles.search("вулкан")
    assert sorted(hit.article.id for hit in found) == ids[1:3]


HOSTILE = [
    "",
    "   ",
    "AND",
    "OR NOT AND",
    '"',
    '""',
    '"Казахстан',
    "*",
    "казах*",
    "NEAR(",
    "NEAR(Китай Казахстан, 2)",
    "-",
    "-Китай",
    ":",
    "title_lemmas:Китай",
    "{title_lemmas}: китай",
    "(",
    "())",
    "^Китай",
    "+",
    "🇰🇿🔥",
    "_",
    "'; DROP TABLE articles; --",
    "\x00",
    "Казахстан " * 1500,
    "ы" * 10_000,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
async def test_any_input_is_a_safe_search(
    articles: ArticleRepo, seed_path: Path, query: str
) -> None:
    seed_id = await add_seed(articles, seed_path)
    hits = await articles.search(query)
    assert all(hit.article.id == seed_id for hit in hits)
    assert await articles.count() == 1


@pytest.mark.parametrize("query", ['"Казахстан', "NEAR(Китай Казахстан, 2)", "-Китай", "^Китай"])
async def test_search_syntax_is_read_as_words(
    articles: ArticleRepo, seed_path: Path, query: str
) -> None:
    seed_id = await add_seed(articles, seed_path)
    assert [hit.article.id for hit in await articles.search(query)] == [seed_id]


async def test_snippet_is_plain_text_from_the_matching_sentence(
    articles: ArticleRepo, seed_path: Path
) -> None:
    await add_seed(articles, seed_path)
    (hit,) = await articles.search("Тяньцзине")
    assert "Тяньцзине" in hit.snippet
    assert len(hit.snippet) <= 170
    assert "<" not in hit.snippet and "\n" not in hit.snippet
    flat = " ".join(hit.article.text.split())
    assert hit.snippet.strip("…") in flat


async def test_snippet_of_a_title_only_match_is_the_opening(articles: ArticleRepo) -> None:
    await articles.add(news("Саммит в Астане", "Лидеры встретились. Обсудили торговлю."), now=NOW)
    (hit,) = await articles.search("саммит")
    assert hit.snippet == "Лидеры встретились. Обсудили торговлю."


# --- summary cache ------------------------------------------------------------------


async def test_summary_cache_round_trip_per_algorithm_and_length(
    articles: ArticleRepo, db: Database
) -> None:
    article, _ = await articles.add(news("Т", "Первое. Второе. Третье."), now=NOW)
    cache = SummaryCache(db)
    summary = Summary(article.id, "lexrank", ("Первое.", "Третье."))
    assert await cache.get_summary(article.id, "lexrank", 2) is None
    await cache.put_summary(summary, 2)
    assert await cache.get_summary(article.id, "lexrank", 2) == summary
    assert await cache.get_summary(article.id, "lexrank", 3) is None
    assert await cache.get_summary(article.id, "lsa", 2) is None
    updated = Summary(article.id, "lexrank", ("Второе.",))
    await cache.put_summary(updated, 2)
    assert await cache.get_summary(article.id, "lexrank", 2) == updated


@pytest.mark.parametrize("enumerated", [True, False])
async def test_points_cache_round_trip(
    articles: ArticleRepo, db: Database, enumerated: bool
) -> None:
    article, _ = await articles.add(news("Т", "Во-первых, мир. Во-вторых, «развитие»."), now=NOW)
    cache = SummaryCache(db)
    points = Points(
        items=(
            KeyPoint("Мир", "Во-первых, мир."),
            KeyPoint("«Развитие»", 'Во-вторых, "развитие".'),
        ),
        enumerated=enumerated,
    )
    assert await cache.get_points(article.id) is None
    await cache.put_points(article.id, points)
    assert await cache.get_points(article.id) == points


async def test_cache_write_for_a_missing_article_is_a_no_op(db: Database) -> None:
    cache = SummaryCache(db)
    await cache.put_summary(Summary(404, "lexrank", ("x",)), 1)
    await cache.put_points(404, Points(items=(), enumerated=False))
    assert await cache.get_summary(404, "lexrank", 1) is None
    assert await cache.get_points(404) is None


# --- chats --------------------------------------------------------------------------


async def test_chat_settings_default_then_overrides(db: Database) -> None:
    chats = ChatRepo(db)
    assert await chats.settings(42, default=DEFAULTS) == ChatSettings(
        42, "lexrank", 3, "Europe/Moscow"
    )
    await chats.update_settings(42, sentences=5)
    await chats.update_settings(42, algorithm="lsa")
    await chats.update_settings(42, timezone="Asia/Almaty")
    await chats.update_settings(42)
    assert await chats.settings(42, default=DEFAULTS) == ChatSettings(42, "lsa", 5, "Asia/Almaty")
    assert (await chats.settings(43, default=DEFAULTS)).algorithm == "lexrank"


async def test_message_links_and_current_article_survive_reopening(
    tmp_path: Path, seed_path: Path
) -> None:
    path = tmp_path / "svodka.sqlite3"
    db = await Database.open(path)
    seed_id = await add_seed(ArticleRepo(db), seed_path)
    chats = ChatRepo(db)
    await chats.remember_message(-100, 555, seed_id)
    await chats.set_current(-100, seed_id)
    await db.close()

    db = await Database.open(path)
    try:
        chats = ChatRepo(db)
        assert await chats.article_for_message(-100, 555) == seed_id
        assert await chats.article_for_message(-100, 556) is None
        assert await chats.article_for_message(-101, 555) is None
        assert await chats.current(-100) == seed_id
        assert await chats.current(-101) is None
    finally:
        await db.close()


async def test_links_to_missing_or_deleted_articles_are_dropped(
    articles: ArticleRepo, db: Database
) -> None:
    chats = ChatRepo(db)
    await chats.set_current(1, 404)
    await chats.remember_message(1, 10, 404)
    assert await chats.current(1) is None
    assert await chats.article_for_message(1, 10) is None
    article, _ = await articles.add(news("Т", "Текст."), now=NOW)
    await chats.set_current(1, article.id)
    await chats.remember_message(1, 11, article.id)
    await articles.delete(article.id)
    # The row loses the link (what the next start reads). The running repository keeps
    # the id in memory; ArticleService.resolve checks that the article still exists.
    assert await ChatRepo(db).current(1) is None
    assert await chats.article_for_message(1, 11) is None


async def test_a_deleted_current_article_resolves_to_the_newest(
    articles: ArticleRepo, db: Database
) -> None:
    settings = Settings(_env_file=None)
    chats = ChatService(ChatRepo(db), settings)
    service = ArticleService(articles, SummaryCache(db), chats, settings)
    old, _ = await articles.add(news("Старая", "Старый текст о ценах."), now=NOW)
    new, _ = await articles.add(
        news("Новая", "Новый текст о заводах."), now=NOW + timedelta(hours=1)
    )
    chats.focus(5, old.id)
    assert (await service.resolve(5, Target())).id == old.id
    await articles.delete(old.id)
    assert (await service.resolve(5, Target())).id == new.id


async def test_recorded_answers_reach_the_database_in_order(
    articles: ArticleRepo, db: Database
) -> None:
    first, _ = await articles.add(news("Первая", "Текст первой."), now=NOW)
    second, _ = await articles.add(news("Вторая", "Текст второй."), now=NOW)
    chats = ChatRepo(db)
    chats.record(3, focus=first.id, messages=[(100, first.id)])
    chats.record(3, focus=second.id, messages=[(101, second.id), (100, second.id)])
    chats.record(4, messages=[(7, first.id)])
    # At once in memory, before any write.
    assert await chats.current(3) == second.id
    await chats.flush()
    fresh = ChatRepo(db)  # what the next start reads
    assert await fresh.current(3) == second.id  # the later focus wins
    assert await fresh.current(4) is None  # messages alone move no focus
    assert await fresh.article_for_message(3, 100) == second.id  # the later link wins
    assert await fresh.article_for_message(3, 101) == second.id
    assert await fresh.article_for_message(4, 7) == first.id


async def test_reads_of_answers_wait_for_pending_writes(
    articles: ArticleRepo, db: Database
) -> None:
    article, _ = await articles.add(news("Т", "Текст."), now=NOW)
    chats = ChatRepo(db)
    chats.record(-1, focus=article.id, messages=[(5, article.id)])
    assert await chats.article_for_message(-1, 5) == article.id
    chats.record(-1, messages=[(6, article.id)])
    await chats.migrate(-1, -1001)  # moves what was recorded just before, too
    assert await chats.article_for_message(-1001, 6) == article.id
    assert await ChatRepo(db).current(-1001) == article.id


async def test_a_failed_write_of_answers_is_logged_not_raised(
    articles: ArticleRepo,
    db: Database,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    article, _ = await articles.add(news("Т", "Текст."), now=NOW)
    chats = ChatRepo(db)

    async def broken(sql: str, rows: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db, "execute_many", broken)
    chats.record(2, focus=article.id, messages=[(9, article.id)])
    await chats.flush()
    assert "could not record 1 answer(s)" in caplog.text
    if not db.shared:
        # Memory stays right. A store shared with other processes keeps nothing in
        # memory that they could change, so there the focus is lost with the write.
        assert await chats.current(2) == article.id
    monkeypatch.undo()
    chats.record(2, messages=[(10, article.id)])  # and the next batch is written
    assert await chats.article_for_message(2, 10) == article.id


async def test_mark_introduced_is_true_once(db: Database) -> None:
    chats = ChatRepo(db)
    await chats.update_settings(7, sentences=4)
    results = await asyncio.gather(*(chats.mark_introduced(7) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert await chats.mark_introduced(7) is False
    assert await chats.mark_introduced(8) is True
    assert (await chats.settings(7, default=DEFAULTS)).sentences == 4


async def test_chat_migration_moves_everything(articles: ArticleRepo, db: Database) -> None:
    article, _ = await articles.add(news("Т", "Текст."), now=NOW)
    chats, subscriptions = ChatRepo(db), SubscriptionRepo(db)
    await chats.update_settings(-1, algorithm="lsa", timezone="Asia/Almaty")
    await chats.mark_introduced(-1)
    await chats.set_current(-1, article.id)
    await chats.remember_message(-1, 5, article.id)
    await subscriptions.subscribe(-1, time(9, 0), "Asia/Almaty", 11, now=NOW, due_at=NOW)
    await subscriptions.complete_run(-1, "2026-11-26", now=NOW, last_article_id=article.id)
    # The supergroup already saw one command before the migration arrived.
    await chats.update_settings(-1001, sentences=6)

    await chats.migrate(-1, -1001)

    assert await chats.settings(-1001, default=DEFAULTS) == ChatSettings(
        -1001, "lsa", 6, "Asia/Almaty"
    )
    assert await chats.mark_introduced(-1001) is False
    assert await chats.current(-1001) == article.id
    assert await chats.article_for_message(-1001, 5) == article.id
    assert (await subscriptions.get(-1001)) is not None
    assert await subscriptions.run_status(-1001, "2026-11-26") == "sent"
    assert await chats.current(-1) is None
    assert await chats.article_for_message(-1, 5) is None
    assert await subscriptions.get(-1) is None
    assert await subscriptions.run_status(-1, "2026-11-26") is None
    assert [s.chat_id for s in await subscriptions.active()] == [-1001]


# --- subscriptions and digest runs --------------------------------------------------


async def test_subscribe_end_and_resubscribe(db: Database) -> None:
    subscriptions = SubscriptionRepo(db)
    first = await subscriptions.subscribe(1, time(9, 0), "Europe/Moscow", 100, now=NOW, due_at=NOW)
    assert first.at == time(9, 0) and first.active and first.subscribed_by == 100
    await subscriptions.subscribe(2, time(7, 30), "Asia/Almaty", None, now=NOW, due_at=NOW)
    moved = await subscriptions.subscribe(1, time(21, 15), "Asia/Tokyo", 101, now=NOW, due_at=NOW)
    assert moved.at == time(21, 15) and moved.timezone == "Asia/Tokyo"
    assert [s.chat_id for s in await subscriptions.active()] == [1, 2]

    assert await subscriptions.end(1, "blocked", now=NOW)
    assert not await subscriptions.end(1, "blocked", now=NOW)
    assert not await subscriptions.end(3, "unsubscribed", now=NOW)
    ended = await subscriptions.get(1)
    assert ended is not None and not ended.active and ended.ended_reason == "blocked"
    assert [s.chat_id for s in await subscriptions.active()] == [2]

    back = await subscriptions.subscribe(1, time(8, 0), "Europe/Moscow", 100, now=NOW, due_at=NOW)
    assert back.active and back.ended_reason is None
    assert await subscriptions.get(1) == back
    assert await subscriptions.get(3) is None


async def test_a_digest_period_is_claimed_once(db: Database) -> None:
    subscriptions = SubscriptionRepo(db)
    claims = await asyncio.gather(
        *(subscriptions.claim_run(1, "2026-11-26", now=NOW) for _ in range(3))
    )
    assert sorted(claims) == [False, False, True]
    assert await subscriptions.run_status(1, "2026-11-26") == "pending"
    assert await subscriptions.claim_run(2, "2026-11-26", now=NOW)
    assert await subscriptions.claim_run(1, "2026-11-27", now=NOW + timedelta(days=1))
    assert await subscriptions.pending_runs() == [
        (1, "2026-11-26"),
        (2, "2026-11-26"),
        (1, "2026-11-27"),
    ]


async def test_completed_run_is_sent_and_dates_the_next_digest(tmp_path: Path) -> None:
    path = tmp_path / "svodka.sqlite3"
    db = await Database.open(path)
    subscriptions = SubscriptionRepo(db)
    assert await subscriptions.last_sent_at(1) is None
    await subscriptions.claim_run(1, "2026-11-26", now=NOW)
    assert await subscriptions.last_sent_at(1) is None
    done = NOW + timedelta(seconds=3)
    await subscriptions.complete_run(1, "2026-11-26", now=done, last_article_id=12)
    await db.close()

    db = await Database.open(path)
    try:
        subscriptions = SubscriptionRepo(db)
        assert await subscriptions.run_status(1, "2026-11-26") == "sent"
        assert await subscriptions.run_status(1, "2026-11-27") is None
        assert await subscriptions.last_sent_at(1) == done
        assert await subscriptions.pending_runs() == []
        assert not await subscriptions.claim_run(1, "2026-11-26", now=done)
    finally:
        await db.close()
    assert rows(path, "SELECT last_article_id FROM digest_runs") == [(12,)]


async def test_subscription_migrate_moves_subscription_and_runs(db: Database) -> None:
    subscriptions = SubscriptionRepo(db)
    await subscriptions.subscribe(-5, time(9, 0), "Europe/Moscow", None, now=NOW, due_at=NOW)
    await subscriptions.claim_run(-5, "2026-11-26", now=NOW)
    await subscriptions.migrate(-5, -1005)
    assert await subscriptions.get(-5) is None
    moved = await subscriptions.get(-1005)
    assert moved is not None and moved.at == time(9, 0)
    assert await subscriptions.pending_runs() == [(-1005, "2026-11-26")]


async def test_pruning_keeps_each_chats_newest_message_links(
    articles: ArticleRepo, db: Database
) -> None:
    article, _ = await articles.add(news("Т", "Текст."), now=NOW)
    chats = ChatRepo(db)
    chats.record(1, messages=[(m, article.id) for m in (10, 11, 12, 13, 14)])
    chats.record(2, messages=[(5, article.id), (6, article.id)])
    assert await chats.prune_messages(keep=3) == 2  # waits for the pending writes too
    assert [await chats.article_for_message(1, m) for m in (10, 11, 12, 13, 14)] == [
        None,
        None,
        article.id,
        article.id,
        article.id,
    ]
    assert await chats.article_for_message(2, 5) == article.id
    assert await chats.prune_messages(keep=3) == 0


async def test_pruning_keeps_each_feeds_newest_entries(db: Database) -> None:
    feeds = FeedRepo(db)
    first, _ = await feeds.add("http://127.0.0.1:1/a.xml", now=NOW)
    second, _ = await feeds.add("http://127.0.0.1:1/b.xml", now=NOW)
    for n in range(5):
        await feeds.mark_seen(
            first.id, f"a{n}", url=f"http://x/a{n}", article_id=None, now=NOW + timedelta(hours=n)
        )
    await feeds.mark_seen(second.id, "b0", url=None, article_id=None, now=NOW)
    assert await feeds.prune_entries(keep=2) == 3
    assert [await feeds.seen(first.id, f"a{n}", None) for n in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert await feeds.seen(second.id, "b0", None)


async def test_due_subscriptions_come_in_pages_earliest_first(db: Database) -> None:
    subscriptions = SubscriptionRepo(db)
    early, late = NOW - timedelta(hours=1), NOW
    for chat in (5, 3, 4):
        await subscriptions.subscribe(chat, time(9), "UTC", None, now=NOW, due_at=late)
    await subscriptions.subscribe(9, time(8), "UTC", None, now=NOW, due_at=early)
    await subscriptions.subscribe(1, time(10), "UTC", None, now=NOW, due_at=NOW + timedelta(1))
    await subscriptions.subscribe(2, time(9), "UTC", None, now=NOW, due_at=early)
    await subscriptions.end(2, "unsubscribed", now=NOW)

    first = await subscriptions.due(NOW, limit=2)
    assert [s.chat_id for s in first] == [9, 3]
    last = first[-1]
    assert last.due_at == late
    rest = await subscriptions.due(NOW, after=(late, last.chat_id), limit=2)
    assert [s.chat_id for s in rest] == [4, 5]
    assert await subscriptions.due(NOW, after=(late, 5), limit=2) == []

    # A move applies only where the row is still due at the time it was read.
    tomorrow = NOW + timedelta(days=1)
    await subscriptions.reschedule([(9, early, tomorrow), (3, early, tomorrow)])
    assert [s.chat_id for s in await subscriptions.due(NOW)] == [3, 4, 5]
    moved = await subscriptions.get(9)
    assert moved is not None and moved.due_at == tomorrow


def test_a_memo_splits_keys_into_what_it_keeps_and_what_must_be_read() -> None:
    memo: Memo[int, str] = Memo(2)
    memo.put(1, "один")
    memo.put(2, "два")
    kept, missing = memo.split([3, 1, 3, 4])
    assert kept == {1: "один"} and missing == [3, 4]
    # What was asked for counts as used: the older entry is the one to go.
    memo.put(5, "пять")
    assert memo.split([1, 2]) == ({1: "один"}, [2])
