"""`python -m bot backup PATH [--force]`: a consistent copy of the live database, and the
restore steps of the README."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings
from bot.models import NewArticle
from storage.articles import ArticleRepo
from storage.db import Database

NOW = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DATABASE_PATH in tmp; a working folder without the developer's .env."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    path = tmp_path / "data" / "svodka.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    return path


def article(n: int) -> NewArticle:
    return NewArticle(
        title=f"Статья номер {n}",
        text=f"Новость дня {n}: правительство обсудило бюджет и сотрудничество. Итог {n}.",
    )


def consistent(path: Path) -> tuple[int, int]:
    """(articles, full-text rows), after checking that SQLite finds the file sound."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM articles WHERE id NOT IN (SELECT rowid FROM articles_fts)"
        ).fetchone()[0]
    conn.close()
    assert orphans == 0
    return int(articles), int(indexed)


def restore(backup: Path, live: Path) -> None:
    """Steps 2 and 3 of the README: the copy over DATABASE_PATH, then no -wal or -shm
    left from the old database (SQLite would replay them onto the restored file)."""
    shutil.copyfile(backup, live)
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "partial" in p.name]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("ошибка: ")
    return err


async def test_backup_while_the_bot_writes_is_a_consistent_snapshot(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(live)
    repo = ArticleRepo(db)
    try:
        for n in range(5):
            await repo.add(article(n), now=NOW)
        # A writer holds an open transaction the whole time: WAL lets the backup read past it.
        writer = sqlite3.connect(live, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO articles (title, added_at, text, content_hash)"
            " VALUES ('не зафиксирована', '2026', 'текст', 'x')"
        )
        target = tmp_path / "backup.sqlite3"
        code = await asyncio.to_thread(main, ["backup", str(target)])
        writer.execute("ROLLBACK")
        writer.close()
        assert code == 0
        assert "копия базы сохранена" in capsys.readouterr().out
        assert consistent(target) == (5, 5)
        # The live database goes on as before.
        await repo.add(article(6), now=NOW)
        assert await repo.count() == 6
    finally:
        await db.close()


async def test_backup_during_a_stream_of_writes_has_every_article_indexed(
    live: Path, tmp_path: Path
) -> None:
    db = await Database.open(live)
    repo = ArticleRepo(db)
    try:
        await repo.add(article(0), now=NOW)
        stop = asyncio.Event()

        async def keep_adding() -> int:
            n = 1
            while not stop.is_set():
                await repo.add(article(n), now=NOW)
                n += 1
            return n

        adding = asyncio.create_task(keep_adding())
        await asyncio.sleep(0.2)
        target = tmp_path / "backup.sqlite3"
        assert await asyncio.to_thread(main, ["backup", str(target)]) == 0
        stop.set()
        total = await adding
        articles, indexed = consistent(target)
        assert 1 <= articles == indexed <= total
    finally:
        await db.close()


async def test_restore_as_the_readme_says(live: Path, tmp_path: Path) -> None:
    db = await Database.open(live)
    repo = ArticleRepo(db)
    for n in range(3):
        await repo.add(article(n), now=NOW)
    target = tmp_path / "backup.sqlite3"
    assert await asyncio.to_thread(main, ["backup", str(target)]) == 0
    await repo.add(article(99), now=NOW)  # written after the backup: lost on restore
    # 1. Stop the bot.
    await db.close()
    restore(target, live)
    # 4. Start the bot.
    db = await Database.open(live)
    try:
        repo = ArticleRepo(db)
        assert await repo.count() == 3
        hits = await repo.search("бюджет", limit=10)
        assert len(hits) == 3
        await repo.add(article(4), now=NOW)
        assert await repo.count() == 4
    finally:
        await db.close()


async def test_an_existing_file_is_kept_unless_forced(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await Database.open(live)
    await ArticleRepo(db).add(article(1), now=NOW)
    await db.close()
    target = tmp_path / "backup.sqlite3"
    target.write_bytes(b"an older backup")
    assert main(["backup", str(target)]) == 2
    assert "--force" in one_line_error(capsys)
    assert target.read_bytes() == b"an older backup"
    assert main(["backup", str(target), "--force"]) == 0
    assert consistent(target) == (1, 1)
    assert leftovers(tmp_path) == []


def test_mistakes_get_one_russian_line_and_change_nothing(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "backup.sqlite3"
    assert main(["backup", str(target)]) == 2
    assert "базы данных" in one_line_error(capsys)
    assert not live.exists(), "a backup must not create the database it copies"
    assert not target.exists()

    live.parent.mkdir(parents=True)
    sqlite3.connect(live).close()
    assert main(["backup", str(tmp_path / "no" / "such" / "x.sqlite3")]) == 2
    assert "папки" in one_line_error(capsys)
    assert main(["backup", str(live), "--force"]) == 2
    assert "поверх самой базы" in one_line_error(capsys)
    assert main(["backup", str(tmp_path), "--force"]) == 2
    assert "это папка" in one_line_error(capsys)


def test_a_damaged_database_is_reported_not_copied(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.parent.mkdir(parents=True)
    live.write_bytes(b"this is not an SQLite database at all" * 100)
    target = tmp_path / "backup.sqlite3"
    assert main(["backup", str(target)]) == 2
    assert "не удалось сделать копию" in one_line_error(capsys)
    assert not target.exists()
