"""The store on PostgreSQL: its migrations, its parity with the SQLite schema and search,
and copying a SQLite store into it (`python -m bot copy-store`)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.__main__ import main
from bot.config import Settings
from bot.models import ChatSettings, NewArticle, Summary
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database, StoreUnavailable
from storage.feeds import FeedRepo
from storage.postgres import PostgresDatabase, to_postgres
from storage.schema import (
    COPY_SOURCES,
    POSTGRES_MIGRATIONS,
    POSTGRES_VERSION_TABLE,
    SCHEMA_VERSION,
    SchemaTooNew,
    migrate_postgres,
    postgres_version,
)
from storage.seeds import read_article_file
from storage.sqlite import SqliteDatabase
from storage.subscriptions import SubscriptionRepo
from storage.transfer import SourceUnreadable, TargetNotEmpty, copy_sqlite_to_postgres

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
DEFAULTS = ChatSettings(chat_id=0, algorithm="lexrank", sentences=3, timezone="Europe/Moscow")
ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

postgres = pytest.mark.postgres


def test_placeholders_are_numbered_outside_quotes_and_comments() -> None:
    assert (
        to_postgres("SELECT ?, '?', \"a?\" FROM t WHERE x = ? -- why?\n AND y = ?")
        == "SELECT $1, '?', \"a?\" FROM t WHERE x = $2 -- why?\n AND y = $3"
    )
    assert to_postgres("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1"


async def test_an_unreachable_server_is_a_store_unavailable() -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(StoreUnavailable) as caught:
        await Database.open("postgresql://postgres:secret-password@127.0.0.1:1/svodka")
    assert "127.0.0.1:1/svodka" in str(caught.value)
    assert "secret-password" not in str(caught.value)


# --- schema and migrations ----------------------------------------------------------


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'articles_fts%'"
            )
        ]
        tables = {
            name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")] for name in names
        }
        for table, query in COPY_SOURCES.items():
            tables[table] = [d[0] for d in conn.execute(f"{query} LIMIT 0").description]
    conn.close()
    return tables


@postgres
async def test_both_schemas_have_the_same_tables_and_columns(
    tmp_path: Path, postgres_url: str
) -> None:
    lite = await SqliteDatabase.connect(tmp_path / "svodka.sqlite3")
    pg = await PostgresDatabase.connect(postgres_url)
    try:
        assert await lite.schema_version() == await pg.schema_version() == SCHEMA_VERSION
        async with pg.connection() as conn:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_generated = 'NEVER'"
                " AND table_name <> $1 ORDER BY table_name, ordinal_position",
                POSTGRES_VERSION_TABLE,
            )
    finally:
        await lite.close()
        await pg.close()
    postgres_tables: dict[str, list[str]] = {}
    for row in rows:
        postgres_tables.setdefault(row["table_name"], []).append(row["column_name"])
    assert postgres_tables == sqlite_columns(tmp_path / "svodka.sqlite3")


@postgres
async def test_a_failed_step_leaves_the_previous_version_and_none_runs_twice(
    blank_postgres_url: str,
) -> None:
    conn = await asyncpg.connect(blank_postgres_url)
    try:
        broken = (POSTGRES_MIGRATIONS[0], ("CREATE TABLE half_done (x INTEGER)", "NOT SQL"))
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await migrate_postgres(conn, broken)
        assert await postgres_version(conn) == 1
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await migrate_postgres(conn) == 1
        assert await migrate_postgres(conn) == SCHEMA_VERSION
        applied = await conn.fetchval(f"SELECT count(*) FROM {POSTGRES_VERSION_TABLE}")
        assert applied == SCHEMA_VERSION
    finally:
        await conn.close()


@postgres
async def test_processes_starting_at_once_migrate_once(blank_postgres_url: str) -> None:
    stores = await asyncio.gather(*(PostgresDatabase.connect(blank_postgres_url) for _ in range(3)))
    try:
        assert sorted(db.migrated_from for db in stores) == [0, SCHEMA_VERSION, SCHEMA_VERSION]
        assert {await db.schema_version() for db in stores} == {SCHEMA_VERSION}
    finally:
        for db in stores:
            await db.close()


@postgres
async def test_a_postgres_store_from_a_newer_version_is_refused(postgres_url: str) -> None:
    db = await Database.open(postgres_url)
    await db.execute(f"INSERT INTO {POSTGRES_VERSION_TABLE} (version, applied_at) VALUES (99, 'x')")
    await db.close()
    with pytest.raises(SchemaTooNew):
        await Database.open(postgres_url)


@postgres
async def test_closing_does_not_wait_forever_for_a_connection_a_task_keeps(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.postgres.CLOSE_WITHIN", 0.5)
    db = await Database.open(postgres_url)
    assert isinstance(db, PostgresDatabase)
    holding, never = asyncio.Event(), asyncio.Event()

    async def keep() -> None:
        async with db.transaction():
            await db.execute("SELECT 1")
            holding.set()
            await never.wait()

    keeper = asyncio.create_task(keep())
    await holding.wait()
    await asyncio.wait_for(db.close(), timeout=10)
    with pytest.raises(asyncpg.InterfaceError):
        await db.execute("SELECT 1")
    keeper.cancel()
    with pytest.raises((asyncio.CancelledError, asyncpg.InterfaceError)):
        await keeper


# --- search gives the same best hits on both ----------------------------------------

CORPUS = [
    ("Нефть дорожает третий день", "Цены на нефть марки Brent выросли на бирже в Лондоне."),
    ("Рынки в ожидании решения ФРС", "Инвесторы следят за нефтью, золотом и ставками."),
    ("Бразилия увеличила добычу", "Бразилия продаёт больше нефти в Китай, чем год назад."),
    ("Саммит в Астане", "Токаев и Си Цзиньпин обсудили торговлю и транспорт."),
    ("Казахстан и Китай", "Стороны подписали соглашения о сотрудничестве в Тяньцзине."),
    ("Снег в Москве", "Синоптики обещают снегопад и гололёд на выходных."),
    ("Северо-западный ветер", "В Петербурге ожидается северо-западный ветер до 20 м/с."),
    ("Выборы в Исландии", "Во-первых, явка высокая. Во-вторых, победила оппозиция."),
]
QUERIES = [
    "нефть",
    "нефти Бразилии",
    "Казахстана",
    "Токаевым",
    "снегопад",
    "северо-западный",
    "западный",
    "во-первых",
    "Китай",
    "торговля транспорт",
    "ставки золото",
    "оппозиции Исландия",
]


async def hits(db: Database) -> dict[str, list[int]]:
    repo = ArticleRepo(db)
    for n, (title, text) in enumerate(CORPUS):
        await repo.add(NewArticle(title, text), now=NOW + timedelta(minutes=n))
    return {q: [hit.article.id for hit in await repo.search(q)] for q in QUERIES}


@postgres
async def test_search_finds_the_same_best_hits_on_both(tmp_path: Path, postgres_url: str) -> None:
    lite = await SqliteDatabase.connect(tmp_path / "svodka.sqlite3")
    pg = await PostgresDatabase.connect(postgres_url)
    try:
        on_sqlite, on_postgres = await hits(lite), await hits(pg)
    finally:
        await lite.close()
        await pg.close()
    assert all(on_sqlite.values()), on_sqlite
    for query in QUERIES:
        assert set(on_postgres[query]) == set(on_sqlite[query]), query
        assert on_postgres[query][0] == on_sqlite[query][0], query


# --- copy-store ---------------------------------------------------------------------


async def filled_sqlite(path: Path) -> dict[str, object]:
    """A SQLite store with a row in every table; returns what the copy must show."""
    db = await SqliteDatabase.connect(path)
    try:
        articles, chats = ArticleRepo(db), ChatRepo(db)
        subscriptions, feeds = SubscriptionRepo(db), FeedRepo(db)
        (seed,) = read_article_file(SEEDS / "000_04ae095c1d503094.txt")
        first, _ = await articles.add(seed, now=NOW)
        second, _ = await articles.add(
            NewArticle("Нефть дорожает", "Цены на нефть выросли.", url="https://x.ru/1"),
            now=NOW + timedelta(hours=1),
        )
        gone, _ = await articles.add(NewArticle("Удалённая", "Её больше нет."), now=NOW)
        await articles.delete(gone.id)
        await SummaryCache(db).put_summary(Summary(second.id, "lexrank", ("Цены.",)), 1)
        await chats.update_settings(-100, algorithm="lsa", timezone="Asia/Almaty")
        await chats.set_current(-100, first.id)
        await chats.remember_message(-100, 77, second.id)
        await subscriptions.subscribe(-100, time(8, 30), "Asia/Almaty", 5, now=NOW, due_at=NOW)
        await subscriptions.complete_run(-100, "2026-11-25", now=NOW, last_article_id=first.id)
        await subscriptions.claim_run(-100, "2026-11-26", now=NOW)
        feed, _ = await feeds.add("https://x.ru/rss", now=NOW, title="Икс")
        await feeds.mark_seen(
            feed.id, "guid-1", url="https://x.ru/1", article_id=second.id, now=NOW
        )
        await feeds.record_failure(feed.id, "timeout", now=NOW, pause_after=5)
        return {
            "articles": [await articles.get(first.id), await articles.get(second.id)],
            "gone": gone.id,
            "feeds": await feeds.all(),
            "search": [h.article.id for h in await articles.search("Казахстана")],
        }
    finally:
        await db.close()


@postgres
async def test_copy_store_moves_every_row_and_keeps_ids(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "svodka.sqlite3"
    before = await filled_sqlite(source)
    target = await PostgresDatabase.connect(postgres_url)
    try:
        copied = await copy_sqlite_to_postgres(source, target)
        assert copied["articles"] == copied["article_lemmas"] == 2
        assert copied["bot_messages"] == copied["feed_entries"] == 1
        assert copied["digest_runs"] == 2

        articles, chats = ArticleRepo(target), ChatRepo(target)
        subscriptions, feeds = SubscriptionRepo(target), FeedRepo(target)
        first, second = before["articles"]  # type: ignore[misc]
        assert [await articles.get(a.id) for a in (first, second)] == [first, second]
        assert [h.article.id for h in await articles.search("Казахстана")] == before["search"]
        assert (await chats.settings(-100, default=DEFAULTS)).algorithm == "lsa"
        assert await chats.current(-100) == first.id
        assert await chats.article_for_message(-100, 77) == second.id
        assert [s.chat_id for s in await subscriptions.active()] == [-100]
        assert await subscriptions.run_status(-100, "2026-11-25") == "sent"
        assert await subscriptions.pending_runs() == [(-100, "2026-11-26")]
        assert await feeds.all() == before["feeds"]
        assert await feeds.seen(1, "guid-1", None)
        assert await SummaryCache(target).get_summary(second.id, "lexrank", 1) is not None
        # Ids go on after every one SQLite gave out, the deleted article's included.
        new, _ = await articles.add(NewArticle("Новая", "Свежий текст."), now=NOW)
        assert new.id > before["gone"]  # type: ignore[operator]
        new_feed, _ = await feeds.add("https://y.ru/rss", now=NOW)
        assert new_feed.id > 1

        with pytest.raises(TargetNotEmpty):
            await copy_sqlite_to_postgres(source, target)
    finally:
        await target.close()


@postgres
async def test_copy_store_refuses_what_is_not_a_sqlite_store(
    tmp_path: Path, postgres_url: str
) -> None:
    target = await PostgresDatabase.connect(postgres_url)
    try:
        with pytest.raises(SourceUnreadable):
            await copy_sqlite_to_postgres(tmp_path / "missing.sqlite3", target)
        garbage = tmp_path / "notes.txt"
        garbage.write_text("это не база данных " * 100, encoding="utf-8")
        with pytest.raises(SourceUnreadable):
            await copy_sqlite_to_postgres(garbage, target)
        assert await ArticleRepo(target).count() == 0
    finally:
        await target.close()


# --- the commands -------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working folder: no .env, no settings from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "svodka.sqlite3"))
    monkeypatch.setenv("SEEDS_DIR", str(SEEDS))
    return tmp_path


@postgres
def test_migrate_then_copy_store_then_read_from_postgres(
    env: Path,
    blank_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate"]) == 0
    assert f"SQLite {env / 'data' / 'svodka.sqlite3'}: схема обновлена" in capsys.readouterr().out
    assert main(["ingest", str(SEEDS)]) == 0
    capsys.readouterr()

    monkeypatch.setenv("DATABASE_URL", blank_postgres_url)
    assert main(["migrate"]) == 0
    assert f"с версии 0 до {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert f"схема версии {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["copy-store", str(env / "data" / "svodka.sqlite3")]) == 0
    assert "articles 1" in capsys.readouterr().out
    assert main(["points", "1"]) == 0
    assert "взаимодоверие" in capsys.readouterr().out

    assert main(["copy-store", str(env / "data" / "svodka.sqlite3")]) == 2
    assert "только в пустую базу" in capsys.readouterr().err
    assert main(["backup", str(env / "copy.sqlite3")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_copy_store_needs_postgres_and_a_readable_source(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["copy-store", str(env / "svodka.sqlite3")]) == 2
    assert "задайте DATABASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:pw-in-url@127.0.0.1:1/svodka")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ошибка: нет доступа к базе данных PostgreSQL 127.0.0.1:1/svodka")
    assert "pw-in-url" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
