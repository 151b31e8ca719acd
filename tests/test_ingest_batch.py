"""Ingest in batches, on both backends: the same stories as storing one by one, a bad
article refused before any is stored, no summary computed for a batch; and a group's
story rows following it to its supergroup."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.articles import BATCH, ArticleService
from bot.chats import ChatService
from bot.config import Settings
from bot.errors import TextTooLong
from bot.models import NewArticle
from bot.stories import StoryService
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database
from storage.seeds import read_jsonl_with_ids
from storage.stories import StoryRepo
from tests.conftest import Store

SILVER = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "eval"
    / "stories"
    / "silver_tgcontest_ru_20200502_03_articles.jsonl"
)
NOW = datetime(2020, 5, 4, 6, 0, tzinfo=UTC)


def service(db: Database) -> ArticleService:
    settings = Settings(_env_file=None)
    repo = ArticleRepo(db)
    stories = StoryService(StoryRepo(db), repo, shared=db.shared)
    return ArticleService(
        repo, SummaryCache(db), ChatService(ChatRepo(db), settings), settings, stories=stories
    )


def afternoon() -> list[NewArticle]:
    """The articles of 3 May 2020 from 12:00 to 14:00 in time order (several threads of
    many outlets, and single ones), with copies of three of them (one undated) among
    them: what `ingest` of a folder of overlapping files meets."""
    rows = [json.loads(line) for line in SILVER.read_text(encoding="utf-8").splitlines()]
    chosen = sorted(
        (r for r in rows if "2020-05-03 12:00" <= r["date"] < "2020-05-03 14:00"),
        key=lambda r: (r["date"], r["id"]),
    )
    by_id = dict(read_jsonl_with_ids(SILVER))
    articles = [by_id[r["id"]] for r in chosen]
    copies = [articles[3], replace(articles[40], url=None), replace(articles[7], published_at=None)]
    return articles[:100] + copies + articles[100:]


async def stories_of(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Each article's story and assignment number, and each story's time span."""
    placed = await db.fetchall(
        "SELECT id, content_hash, story_id, story_seq FROM articles ORDER BY id"
    )
    spans = await db.fetchall("SELECT id, first_at, latest_at FROM stories ORDER BY id")
    return [tuple(r) for r in placed], [tuple(r) for r in spans]


@pytest.mark.skipif(not SILVER.is_file(), reason=f"the silver day is not at {SILVER}")
async def test_a_batch_makes_the_stories_storing_one_by_one_makes(
    store: Store, other_store: Store
) -> None:
    articles = afternoon()
    assert len(articles) > BATCH  # more than one batch
    one_db, batch_db = await store.open(), await other_store.open()
    try:
        one, batched = service(one_db), service(batch_db)
        for side in (one, batched):
            assert side.stories is not None
            await side.stories.start()
            # A store that already holds one of them, with its story.
            await side.store(articles[5], now=NOW)
        singly = [await one.store(new, now=NOW) for new in articles]
        stored = await batched.add_many(articles, now=NOW)

        by_one, by_batch = await stories_of(one_db), await stories_of(batch_db)
        assert by_batch == by_one
        # Copies come back as the stored article, not new, as they do one by one.
        assert [(a.id, new) for a, new in stored] == [(a.id, new) for a, new in singly]
        assert sum(not new for _, new in stored) >= 4
        assert stored[5][0].id == 1 and not stored[5][1]
        # And the afternoon did group: stories of several outlets, not one per article.
        sizes = Counter(story for _, _, story, _ in by_batch[0])
        assert max(sizes.values()) >= 5
        assert len(sizes) < len(by_batch[0]) * 0.8
    finally:
        await one_db.close()
        await batch_db.close()


async def test_a_batch_with_a_text_too_long_stores_nothing(db: Database) -> None:
    articles = service(db)
    limit = Settings(_env_file=None).max_article_chars
    batch = [
        NewArticle("Первая", "Текст первой статьи."),
        NewArticle("Вторая", "Текст второй статьи."),
        NewArticle("Длинная", "слово " * (limit // 6 + 1)),
    ]
    with pytest.raises(TextTooLong):
        await articles.add_many(batch, now=NOW)
    assert await ArticleRepo(db).count() == 0


async def test_a_batch_tells_languages_and_leaves_summaries_to_the_first_request(
    db: Database,
) -> None:
    articles = service(db)
    cache = SummaryCache(db)
    settings = Settings(_env_file=None)
    text = (
        "Правительство утвердило план строительства дорог. "
        "На него выделят сто миллиардов рублей. "
        "Работы начнутся весной и продлятся три года. "
        "Первыми отремонтируют трассы в Сибири."
    )
    english = (
        "The government approved a plan to build new roads across the country. "
        "Work will start in the spring and last for three years."
    )
    [(ru, _), (en, _)] = await articles.add_many(
        [NewArticle("План дорог", text), NewArticle("Road plan", english)], now=NOW
    )
    assert (ru.lang, en.lang) == ("ru", "en")
    algorithm, sentences = settings.summary_algorithm, settings.summary_sentences
    assert await cache.get_summary(ru.id, algorithm, sentences) is None
    assert await cache.get_points(ru.id) is None
    # One added alone (/add, a feed's entry) is someone's next question: computed now.
    single, _ = await articles.add(NewArticle("Ещё", text + " Итоги подведут в мае."), now=NOW)
    assert await cache.get_summary(single.id, algorithm, sentences) is not None
    assert await cache.get_points(single.id) is not None


async def test_a_groups_story_rows_follow_it_to_its_supergroup(db: Database) -> None:
    repo = ArticleRepo(db)
    stories = StoryRepo(db)
    keys = []
    for n in range(3):
        article, _ = await repo.add(NewArticle(f"Событие {n}", f"Текст события {n}."), now=NOW)
        keys.append(await StoryService(stories, repo, shared=db.shared).assign(article))
    await stories.record_sent(-5, [(keys[0], 2, 2), (keys[1], 1, 1)], now=NOW)
    await stories.remember_numbers(-5, 10, [(1, keys[0]), (2, keys[1])])
    await stories.remember_numbers(-5, 11, [(1, keys[1])])
    # The supergroup was already sent story 2 and message 11 before the migration came.
    await stories.record_sent(-1005, [(keys[1], 4, 3)], now=NOW)
    await stories.remember_numbers(-1005, 11, [(1, keys[2])])

    await ChatRepo(db).migrate(-5, -1005)

    sent = await stories.sent(-1005, keys)
    assert {key: (s.articles, s.outlets) for key, s in sent.items()} == {
        keys[0]: (2, 2),
        keys[1]: (4, 3),
    }
    assert await stories.numbered(-1005, 1, 10) == keys[0]
    assert await stories.numbered(-1005, 2, 10) == keys[1]
    assert await stories.numbered(-1005, 1, 11) == keys[2]
    assert await stories.sent(-5, keys) == {}
    assert await stories.numbered(-5, 1, 10) is None
    assert not await stories.has_numbers(-5, 11)
