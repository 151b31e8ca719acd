from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.articles import ArticleRepo
from storage.db import Database

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "svodka.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def articles(db: Database) -> ArticleRepo:
    return ArticleRepo(db)


@pytest.fixture
def seed_path() -> Path:
    """The Xi–Tokayev statement from Russian.news.cn, as shipped in seeds/."""
    return SEEDS_DIR / "000_04ae095c1d503094.txt"
